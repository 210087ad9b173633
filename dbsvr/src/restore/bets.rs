//! Restoring bets with everything derived from them: per-user indexes, pools, open bets (the
//! match's work list and open-bet count), bettors, wallet exposure and idempotency records (the wallet's `r:{req_id}` fields).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{FromRow, MySqlPool};

use super::writer::Writer;
use super::{ROWS, RestoreReport, VALUES};

#[derive(FromRow)]
struct BetRow {
    id: u64,
    uid: u64,
    match_id: u64,
    option_key: String,
    stake: i64,
    odds: i64,
    state: String,
    payout: Option<i64>,
    req_id: String,
    ts: u64,
    settled_at: Option<u64>,
    ver: u64,
    /// The balance right after the stake was taken: the "bet" ledger entry of this bet.
    balance_after: Option<i64>,
}

pub(super) async fn bets(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        // place_bet.lua writes the bet and its ledger entry with the same time; the entry's ref is the bet id.
        let page: Vec<BetRow> = sqlx::query_as(
            "SELECT b.id, b.uid, b.match_id, b.option_key, b.stake, b.odds, b.state, b.payout, b.req_id, b.ts, \
               b.settled_at, b.ver, \
               (SELECT l.balance FROM ledger l WHERE l.uid = b.uid AND l.ts = b.ts AND l.reason = 'bet' \
                  AND CAST(l.ref AS UNSIGNED) = b.id LIMIT 1) AS balance_after \
             FROM bets b WHERE b.id > ? ORDER BY b.id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        // Each shard's part of a match (its bettors' pool, open bets and bettors), by (match, shard).
        let mut open: BTreeMap<(u64, u16), Vec<(String, String)>> = BTreeMap::new();
        let mut exposure: BTreeMap<u64, i64> = BTreeMap::new();
        let mut bettors: BTreeMap<(u64, u16), BTreeSet<String>> = BTreeMap::new();
        let mut pools: BTreeMap<(u64, u16, String), i64> = BTreeMap::new();
        let mut idem: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        for b in &page {
            let mut fields = vec![
                ("id", b.id.to_string()),
                ("uid", b.uid.to_string()),
                ("match_id", b.match_id.to_string()),
                ("option", b.option_key.clone()),
                ("stake", b.stake.to_string()),
                ("odds", b.odds.to_string()),
                ("state", b.state.clone()),
                ("ts", b.ts.to_string()),
                ("req_id", b.req_id.clone()),
                ("ver", b.ver.to_string()),
            ];
            if let Some(p) = b.payout {
                fields.push(("payout", p.to_string()));
            }
            if let Some(at) = b.settled_at {
                fields.push(("settled_at", at.to_string()));
            }
            w.hset(k.bet(b.id), fields).await?;
            report.bets += 1;
            let shard = common::shards::of_uid(b.uid);
            bettors.entry((b.match_id, shard)).or_default().insert(b.uid.to_string());
            *pools.entry((b.match_id, shard, b.option_key.clone())).or_default() += b.stake;
            if b.state == "open" {
                open.entry((b.match_id, shard)).or_default().push((b.id.to_string(), b.uid.to_string()));
                report.open_bets += 1;
                *exposure.entry(b.uid).or_default() += protocol::error_code::potential_payout(b.stake, b.odds);
            }
            match (b.req_id.is_empty(), b.balance_after) {
                (true, _) => {}
                (false, Some(balance)) => {
                    let field = format!("r:{}", b.req_id);
                    idem.entry(b.uid).or_default().push((field, format!("{}:{balance}:{}", b.id, b.odds)));
                    report.idempotency += 1;
                }
                (false, None) => report.warnings.push(format!(
                    "bet {}: no \"bet\" ledger row for it, so the balance of its first reply is unknown; \
                     its idempotency record (req_id {:?}) is not restored",
                    b.id, b.req_id
                )),
            }
        }
        for ((mid, shard), members) in open {
            for part in members.chunks(VALUES) {
                let fields: Vec<(&str, String)> = part.iter().map(|(bid, uid)| (bid.as_str(), uid.clone())).collect();
                w.hset(k.match_open(shard, mid), fields).await?;
            }
        }
        for ((mid, shard), uids) in bettors {
            w.sadd(k.match_bettors(shard, mid), uids.into_iter().collect()).await?;
        }
        for ((mid, shard, option), stake) in pools {
            w.hincrby(k.match_pool(shard, mid), &option, stake).await?;
        }
        // What the user's open bets could pay (place_bet.lua keeps it; settle_batch.lua releases it).
        for (uid, potential) in exposure.into_iter().filter(|(_, p)| *p > 0) {
            w.hincrby(k.wallet(uid), "exposure", potential).await?;
        }
        for (uid, fields) in idem {
            for part in fields.chunks(VALUES) {
                let fields: Vec<(&str, String)> = part.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
                w.hset(k.wallet(uid), fields).await?;
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.id,
            _ => return user_bets(pool, w).await,
        }
    }
}

/// Each user's bet list `user:{uid}:bets`, newest first: bet ids pushed oldest first, by (time,
/// id) per user — the order place_bet.lua pushed them in, as far as their times tell.
async fn user_bets(pool: &MySqlPool, w: &mut Writer<'_>) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = (0u64, 0u64, 0u64);
    loop {
        let page: Vec<(u64, u64, u64)> =
            sqlx::query_as("SELECT uid, ts, id FROM bets WHERE (uid, ts, id) > (?, ?, ?) ORDER BY uid, ts, id LIMIT ?")
                .bind(after.0)
                .bind(after.1)
                .bind(after.2)
                .bind(ROWS)
                .fetch_all(pool)
                .await?;
        for run in page.chunk_by(|a, b| a.0 == b.0) {
            w.lpush_all(k.user_bets(run[0].0), run.iter().map(|(_, _, id)| id.to_string()).collect()).await?;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = *last,
            _ => return Ok(()),
        }
    }
}
