//! Comparing bets: a user's at a time (in Redis a user's bets are one hash, `user:{uid}:bets`; a
//! record that does not read as a bet is a difference).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use common::Redis;
use common::bets::Stored;
use fred::prelude::*;
use sqlx::MySqlPool;

use super::read::{num, rows, text};
use super::report::{Kind, Report};

type BetRow = (u64, u64, u64, u64, String, i64, i64, String, Option<i64>);

/// Compares the bets of the users `uids`.
pub(super) async fn bets_chunk(
    redis: &Redis,
    pool: &MySqlPool,
    uids: &[u64],
    report: &mut Report,
) -> anyhow::Result<()> {
    let pipe = redis.pool.next().pipeline();
    for uid in uids {
        let _: () = pipe.hgetall(redis.keys.user_bets(*uid)).await?;
    }
    let hashes: Vec<HashMap<String, Bytes>> = Redis::each(pipe).await?;
    let mut r_bets: BTreeMap<u64, Result<Stored, String>> = BTreeMap::new();
    for (uid, h) in uids.iter().zip(&hashes) {
        for (field, record) in h {
            match field.parse::<u64>() {
                Ok(id) => {
                    r_bets.insert(id, Stored::decode(record));
                }
                // No bet id to file it under: a difference of the user whose bets hold it.
                Err(_) => report.diff(Kind::User, *uid, format!("bets: field {field:?} is not a bet id")),
            }
        }
    }
    let m_bets: BTreeMap<u64, BetRow> = rows::<BetRow>(
        pool,
        "SELECT id, uid, match_id, market_id, option_key, stake, odds, state, payout FROM bets WHERE uid IN (",
        uids,
        "",
    )
    .await?
    .into_iter()
    .map(|row| (row.0, row))
    .collect();
    let ids: std::collections::BTreeSet<u64> = r_bets.keys().chain(m_bets.keys()).copied().collect();
    for id in ids {
        let (r, m) = (r_bets.get(&id), m_bets.get(&id));
        if !report.present_in_both(Kind::Bet, id, r.is_some(), m.is_some()) {
            continue;
        }
        let (Some(r), Some((_, uid, match_id, market_id, option, stake, odds, state, payout))) = (r, m) else {
            continue;
        };
        let rb = match r {
            Ok(rb) => rb,
            Err(why) => {
                report.field(Kind::Bet, id, "record", text(why), "a bet".into());
                continue;
            }
        };
        report.field(Kind::Bet, id, "state", text(rb.state()), text(state));
        report.field(
            Kind::Bet,
            id,
            "payout",
            rb.payout.map_or_else(|| "none".into(), num),
            payout.map_or_else(|| "none".into(), num),
        );
        report.field(Kind::Bet, id, "uid", num(rb.uid), num(uid));
        report.field(Kind::Bet, id, "match_id", num(rb.match_id), num(match_id));
        report.field(Kind::Bet, id, "market_id", num(rb.market()), num(market_id));
        report.field(Kind::Bet, id, "option", text(&rb.option), text(option));
        report.field(Kind::Bet, id, "stake", num(rb.stake), num(stake));
        report.field(Kind::Bet, id, "odds", num(rb.odds), num(odds));
    }
    Ok(())
}
