//! Restoring the daily figures and the id counters.

use std::collections::BTreeSet;

use sqlx::MySqlPool;

use super::RestoreReport;
use super::writer::Writer;

/// The daily counters gm shows (`stats:reg|bets|volume:{day}`), recounted from the rows.
pub(super) async fn stats(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut days = BTreeSet::new();
    // Registrations are counted in each user's shard (`id mod SHARDS`).
    let reg: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT CAST(created_at DIV 86400000 AS SIGNED) AS d, CAST(id % {} AS SIGNED) AS s, COUNT(*) FROM users GROUP BY d, s",
        common::shards::SHARDS
    ))
    .fetch_all(pool)
    .await?;
    for (day, shard, n) in reg {
        w.set(k.stats_reg(shard as u16, day as u64), n.to_string()).await?;
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
    // Each shard's user and bet counters at the highest id in use in that shard (`id mod SHARDS`),
    // so its next id (`n * SHARDS + shard`) is above every one there.
    let users = "SELECT id FROM users UNION ALL SELECT uid FROM wallets";
    let highest = shard_counters(pool, w, users, |s| k.user_seq(s)).await?;
    report.counters.push(("seq:user".to_owned(), highest));
    let highest = shard_counters(pool, w, "SELECT id FROM bets", |s| k.bet_seq(s)).await?;
    report.counters.push(("seq:bet".to_owned(), highest));
    for (key, name, sql) in [(k.match_seq(), "seq:match", "SELECT CAST(COALESCE(MAX(id), 0) AS UNSIGNED) FROM matches")]
    {
        let (max,): (u64,) = sqlx::query_as(sql).fetch_one(pool).await?;
        if max > 0 {
            w.set(key, max.to_string()).await?;
        }
        report.counters.push((name.to_owned(), max));
    }
    Ok(())
}

/// Sets `counter(shard)` of every shard that has ids in `ids_sql` (a query of one `id` column) to
/// its highest id's n (`id = n * SHARDS + shard`); returns the highest id of all.
async fn shard_counters(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    ids_sql: &str,
    counter: impl Fn(u16) -> String,
) -> anyhow::Result<u64> {
    let shards = u64::from(common::shards::SHARDS);
    let per_shard: Vec<(u64, u64)> = sqlx::query_as(&format!(
        "SELECT CAST(id % {shards} AS UNSIGNED), CAST(MAX(id) AS UNSIGNED) FROM ({ids_sql}) ids GROUP BY id % {shards}"
    ))
    .fetch_all(pool)
    .await?;
    let mut highest = 0;
    for (shard, max) in per_shard {
        w.set(counter(shard as u16), (max / shards).to_string()).await?;
        highest = highest.max(max);
    }
    Ok(highest)
}
