//! Restoring the daily figures and the id counters.

use std::collections::BTreeSet;

use sqlx::MySqlPool;

use super::RestoreReport;
use super::writer::Writer;

/// The daily counters gm shows (`stats:reg|bets|volume:{day}`), recounted from the rows.
pub(super) async fn stats(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut days = BTreeSet::new();
    let reg: Vec<(i64, i64)> =
        sqlx::query_as("SELECT CAST(created_at DIV 86400000 AS SIGNED) AS d, COUNT(*) FROM users GROUP BY d")
            .fetch_all(pool)
            .await?;
    for (day, n) in reg {
        w.set(k.stats_day("reg", day as u64), n.to_string()).await?;
        days.insert(day);
    }
    let bets: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT CAST(ts DIV 86400000 AS SIGNED) AS d, COUNT(*), CAST(SUM(stake) AS SIGNED) FROM bets GROUP BY d",
    )
    .fetch_all(pool)
    .await?;
    for (day, n, volume) in bets {
        w.set(k.stats_day("bets", day as u64), n.to_string()).await?;
        w.set(k.stats_day("volume", day as u64), volume.unwrap_or(0).to_string()).await?;
        days.insert(day);
    }
    report.stats_days = days.len() as u64;
    Ok(())
}

/// The id counters, at the highest id in use, so new ids continue after them.
pub(super) async fn counters(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    for (key, name, sql) in [
        (
            k.user_seq(),
            "seq:user",
            "SELECT CAST(GREATEST(COALESCE((SELECT MAX(id) FROM users), 0), COALESCE((SELECT MAX(uid) FROM wallets), 0)) AS UNSIGNED)",
        ),
        (k.match_seq(), "seq:match", "SELECT CAST(COALESCE(MAX(id), 0) AS UNSIGNED) FROM matches"),
        (k.bet_seq(), "seq:bet", "SELECT CAST(COALESCE(MAX(id), 0) AS UNSIGNED) FROM bets"),
    ] {
        let (max,): (u64,) = sqlx::query_as(sql).fetch_one(pool).await?;
        if max > 0 {
            w.set(key, max.to_string()).await?;
        }
        report.counters.push((name.to_owned(), max));
    }
    Ok(())
}
