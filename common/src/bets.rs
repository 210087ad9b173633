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
