//! Bets as stored in Redis (`bet:{bid}` hash), read back in the client `bet` shape.

use std::collections::HashMap;

use protocol::body::BetView;

/// The client view of a stored bet; None if the hash is empty, Err naming a bad field.
pub fn view(h: &HashMap<String, String>) -> Result<Option<BetView>, String> {
    if h.is_empty() {
        return Ok(None);
    }
    let s = |k: &str| h.get(k).cloned().ok_or_else(|| format!("bet field {k} missing"));
    let n = |k: &str| -> Result<i64, String> { s(k)?.parse().map_err(|_| format!("bet field {k} is not a number")) };
    Ok(Some(BetView {
        bet_id: n("id")? as u64,
        match_id: n("match_id")? as u64,
        option: s("option")?,
        stake: n("stake")?,
        odds: n("odds")?,
        state: s("state")?,
        payout: h.get("payout").and_then(|p| p.parse().ok()),
        ts: n("ts")? as u64,
    }))
}

/// The owner of a stored bet.
pub fn owner(h: &HashMap<String, String>) -> Option<u64> {
    h.get("uid").and_then(|u| u.parse().ok())
}

/// A page of match `mid`'s open bets in shard `shard` (`{s}:match:{mid}:open`, hash bid → uid)
/// from `cursor` (0 to start), by HSCAN: the bets and the cursor to go on from (0: the walk is
/// over). A walk that deletes what it settled still sees every bet that stayed open throughout at
/// least once.
pub async fn open_page(
    redis: &crate::Redis,
    shard: u16,
    mid: u64,
    cursor: u64,
    count: u64,
) -> Result<(Vec<crate::store::settle_batch::OpenBet>, u64), fred::error::Error> {
    use fred::prelude::*;
    use fred::types::{ClusterHash, CustomCommand};
    let cmd = CustomCommand::new_static("HSCAN", ClusterHash::FirstKey, false);
    let key = redis.keys.match_open(shard, mid);
    let args: Vec<Value> = vec![key.into(), cursor.to_string().into(), "COUNT".into(), count.to_string().into()];
    let reply: Value = redis.pool.custom(cmd, args).await?;
    let mut parts = match reply {
        Value::Array(parts) if parts.len() == 2 => parts.into_iter(),
        other => return Err(unexpected("HSCAN", &other)),
    };
    let next: u64 = parts.next().and_then(|c| c.convert::<String>().ok()).and_then(|c| c.parse().ok()).unwrap_or(0);
    let flat: Vec<String> = parts.next().map(|v| v.convert()).transpose()?.unwrap_or_default();
    Ok((pairs(&flat), next))
}

/// Open bets from a flat [bid, uid, bid, uid, ...]; entries that are not ids are skipped.
fn pairs(flat: &[String]) -> Vec<crate::store::settle_batch::OpenBet> {
    flat.chunks_exact(2)
        .filter_map(|p| Some(crate::store::settle_batch::OpenBet { bid: p[0].parse().ok()?, uid: p[1].parse().ok()? }))
        .collect()
}

fn unexpected(command: &str, reply: &fred::types::Value) -> fred::error::Error {
    fred::error::Error::new(fred::error::ErrorKind::Parse, format!("{command} answered {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::settle_batch::OpenBet;

    #[test]
    fn open_bets_read_from_field_value_pairs_skipping_what_is_not_an_id() {
        let flat: Vec<String> = ["12", "5", "x", "7", "13", "6", "14"].iter().map(|s| s.to_string()).collect();
        assert_eq!(pairs(&flat), vec![OpenBet { bid: 12, uid: 5 }, OpenBet { bid: 13, uid: 6 }]);
        assert_eq!(pairs(&[]), Vec::<OpenBet>::new());
    }
}
