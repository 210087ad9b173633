//! Restoring bets with everything derived from them: each user's bets (`user:{uid}:bets`, a record
//! per bet: `common::bets::Stored`), pools, open bets (the match's work list and open-bet count,
//! with each bet's terms), bettors, wallet exposure and idempotency records (the wallet's
//! `r:{req_id}` fields).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use common::bets::Stored;
use common::records;
use sqlx::{FromRow, MySqlPool};

use super::writer::Writer;
use super::{ROWS, RestoreReport, VALUES};

#[derive(FromRow)]
struct BetRow {
    id: u64,
    uid: u64,
    match_id: u64,
    market_id: u64,
    option_key: String,
    stake: i64,
    odds: i64,
    state: String,
    payout: Option<i64>,
    req_id: String,
    ts: u64,
    settled_at: Option<u64>,
    /// The balance right after the stake was taken: the "bet" ledger entry of this bet.
    balance_after: Option<i64>,
}

pub(super) async fn bets(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        // place_bet.lua writes the bet and its ledger entry with the same time; the entry's ref is the bet id.
        let page: Vec<BetRow> = sqlx::query_as(
            "SELECT b.id, b.uid, b.match_id, b.market_id, b.option_key, b.stake, b.odds, b.state, b.payout, b.req_id, b.ts, \
               b.settled_at, \
               (SELECT l.balance FROM ledger l WHERE l.uid = b.uid AND l.ts = b.ts AND l.reason = 'bet' \
                  AND CAST(l.ref AS UNSIGNED) = b.id LIMIT 1) AS balance_after \
             FROM bets b WHERE b.id > ? ORDER BY b.id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        // Each shard's part of a market (its bettors' pool, open bets and bettors), by (market, shard):
        // a match's default market is the match.
        let mut open: BTreeMap<(u64, u16), Vec<(String, String)>> = BTreeMap::new();
        let mut exposure: BTreeMap<u64, i64> = BTreeMap::new();
        let mut bettors: BTreeMap<(u64, u16), BTreeSet<String>> = BTreeMap::new();
        let mut pools: BTreeMap<(u64, u16, String), i64> = BTreeMap::new();
        let mut idem: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        let mut records: BTreeMap<u64, Vec<(String, Bytes)>> = BTreeMap::new();
        for b in &page {
            let settled = b.state != "open";
            let bet = Stored {
                table: if settled { records::SETTLED } else { records::PLACED }.to_owned(),
                key: b.id,
                uid: b.uid,
                match_id: b.match_id,
                market_id: Some(b.market_id),
                option: b.option_key.clone(),
                stake: b.stake,
                odds: b.odds,
                req_id: b.req_id.clone(),
                ts: if settled { b.settled_at.unwrap_or(b.ts) } else { b.ts },
                placed_at: settled.then_some(b.ts),
                result: settled.then(|| b.state.clone()),
                payout: if settled { Some(b.payout.unwrap_or(0)) } else { None },
            };
            records.entry(b.uid).or_default().push((b.id.to_string(), Bytes::from(bet.encode())));
            report.bets += 1;
            let shard = common::shards::of_uid(b.uid);
            bettors.entry((b.market_id, shard)).or_default().insert(b.uid.to_string());
            *pools.entry((b.market_id, shard, b.option_key.clone())).or_default() += b.stake;
            if !settled {
                open.entry((b.market_id, shard)).or_default().push((b.id.to_string(), bet.terms().format()));
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
                let fields: Vec<(&str, String)> =
                    part.iter().map(|(bid, terms)| (bid.as_str(), terms.clone())).collect();
                w.hset(k.match_open(shard, mid), fields).await?;
            }
        }
        for (uid, fields) in records {
            w.hset_bytes(k.user_bets(uid), fields).await?;
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
            _ => return Ok(()),
        }
    }
}
