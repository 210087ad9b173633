//! The leaderboards (`common::leaderboard`), recomputed from the settled bets: each won or lost bet
//! adds payout − stake to its bettor's net winnings and a won bet 1 to their picks, in the parts of
//! its shard for the day and ISO week of its settlement and all time — what settle_batch.lua did.
//! Day and week parts get what is left of their TTL counted from their last settlement; parts
//! already expired are not written.

use std::collections::HashMap;

use common::leaderboard::{Board, Period};
use common::shards;
use sqlx::MySqlPool;

use super::writer::Writer;
use super::{ROWS, RestoreReport};

/// A shard's part of one board and period: uid -> score, and its last change (ms).
type Part = (HashMap<u64, i64>, u64);
/// A settled bet's row: id, uid, stake, payout, state, settled_at.
type SettledRow = (u64, u64, i64, Option<i64>, String, Option<u64>);

pub(super) async fn leaderboards(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    report: &mut RestoreReport,
) -> anyhow::Result<()> {
    let mut parts: HashMap<(u16, Board, Period), Part> = HashMap::new();
    let mut after = 0u64;
    loop {
        let page: Vec<SettledRow> = sqlx::query_as(
            "SELECT id, uid, stake, payout, state, settled_at FROM bets \
             WHERE id > ? AND state IN ('won', 'lost') ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        for (_, uid, stake, payout, state, settled_at) in &page {
            let at = settled_at.unwrap_or(0);
            let won = state == "won";
            for period in Period::all_at(at) {
                let mut add = |board: Board, delta: i64| {
                    let part = parts.entry((shards::of_uid(*uid), board, period)).or_default();
                    *part.0.entry(*uid).or_default() += delta;
                    part.1 = part.1.max(at);
                };
                add(Board::Net, payout.unwrap_or(0) - stake);
                if won {
                    add(Board::Picks, 1);
                }
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => break,
        }
    }
    let now = common::time::now_ms();
    for ((shard, board, period), (scores, last)) in parts {
        let ttl = match period.ttl_s() {
            Some(ttl) => {
                let left = (ttl * 1000).saturating_sub(now.saturating_sub(last)) / 1000;
                if left == 0 {
                    continue;
                }
                Some(left)
            }
            None => None,
        };
        let key = w.redis.keys.leaderboard(shard, board, period);
        let members: Vec<(f64, String)> = scores.into_iter().map(|(uid, s)| (s as f64, uid.to_string())).collect();
        w.zadd(key.clone(), members).await?;
        if let Some(ttl) = ttl {
            w.expire(key, ttl).await?;
        }
        report.leaderboard_parts += 1;
    }
    Ok(())
}
