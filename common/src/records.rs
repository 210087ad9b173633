//! The change records of a bet's life, one per step: "placed" (place_bet.lua) and "settled"
//! (settle_batch.lua). Each is a flat MessagePack map that serves several readers at once, so a
//! script packs it once and pushes the same bytes everywhere:
//! - dbsvr (from `q:outbox:{…}`) writes the bet row, the wallet row and the ledger row from it, and
//!   counts the day's bets and volume from "placed" records (docs/architecture.md);
//! - the user's ledger list `ledger:{uid}` holds it as the ledger entry (id, uid, delta, balance,
//!   reason, ref, ts: what `protocol::body::LedgerItem` and the verify read);
//! - a "settled" record is also the `bet_settled` event on `q:notify:{…}` (`kind`, uid, bet_id,
//!   match_id, result, payout, balance, ts: [`crate::events::Event::BetSettled`]).
//!
//! Other tables keep the generic record `{ts, table, key, ver, fields}`.

use serde::{Deserialize, Serialize};

/// The `table` of a "placed" record.
pub const PLACED: &str = "placed";
/// The `table` of a "settled" record.
pub const SETTLED: &str = "settled";

/// A bet as place_bet.lua recorded it: the bet (ver 1, open), the wallet after the stake, and the
/// ledger entry of the stake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The bet id.
    pub key: u64,
    pub ts: u64,
    pub uid: u64,
    pub match_id: u64,
    /// The market (absent in records made before markets: the match's default market).
    #[serde(default)]
    pub market_id: Option<u64>,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
    pub req_id: String,
    /// The balance after the stake.
    pub balance: i64,
    /// The wallet's version after the stake.
    pub wver: u64,
    /// The ledger entry's id, `uid:wver`.
    pub id: String,
    /// The ledger entry's delta: −stake.
    pub delta: i64,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A bet as settle_batch.lua settled (or refunded) it. When coins moved (`payout` > 0) the record
/// also carries the wallet after the credit and the credit's ledger entry (`wver`, `id`, `delta`,
/// `reason`, `ref`); then it is pushed to the ledger list too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    /// The bet id.
    pub key: u64,
    /// The bet's version after settling.
    pub ver: u64,
    /// When it was settled.
    pub ts: u64,
    pub uid: u64,
    pub match_id: u64,
    /// The market (absent in records made before markets: the match's default market).
    #[serde(default)]
    pub market_id: Option<u64>,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
    pub req_id: String,
    /// When the bet was placed.
    pub placed_at: u64,
    /// won, lost or refunded.
    pub result: String,
    pub payout: i64,
    /// The balance after settling (unchanged when nothing was paid).
    pub balance: i64,
    /// With a payout: the wallet's version after the credit, and the ledger entry.
    #[serde(default)]
    pub wver: u64,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub reason: String,
}

/// `value` packed as a MessagePack map whose header says `total` entries although `value` (a
/// struct of `entries` fields) holds fewer: a prefix that a script completes by appending the
/// remaining `total - entries` key/value pairs (place_bet.lua's ARGV[9]).
pub fn with_map_len<T: Serialize>(value: &T, entries: u32, total: u32) -> Vec<u8> {
    let packed = rmp_serde::to_vec_named(value).unwrap_or_default();
    let body = match packed.first() {
        // fixmap (up to 15 entries): a one-byte header.
        Some(b) if *b == 0x80 | entries as u8 && entries < 16 => &packed[1..],
        // map16: three bytes.
        Some(0xde) if packed.len() >= 3 && u16::from_be_bytes([packed[1], packed[2]]) as u32 == entries => &packed[3..],
        _ => return packed,
    };
    let mut out = Vec::with_capacity(body.len() + 5);
    if total < 16 {
        out.push(0x80 | total as u8);
    } else if total <= u16::MAX as u32 {
        out.push(0xde);
        out.extend_from_slice(&(total as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&total.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Two {
        a: u8,
        b: &'static str,
    }

    #[test]
    fn a_prefix_completed_by_appended_pairs_decodes_as_one_map() {
        let mut bytes = with_map_len(&Two { a: 1, b: "x" }, 2, 3);
        bytes.extend(rmp_serde::to_vec(&"c").unwrap());
        bytes.extend(rmp_serde::to_vec(&7u8).unwrap());
        let v: std::collections::BTreeMap<String, serde_json::Value> = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "x");
        assert_eq!(v["c"], 7);
        // Past 15 entries the header grows to map16.
        let long = with_map_len(&Two { a: 1, b: "x" }, 2, 20);
        assert_eq!(&long[..3], &[0xde, 0, 20]);
    }
}
