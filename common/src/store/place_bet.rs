//! place_bet.lua: place a bet — check, debit, record, open, pool, ledger and outbox, atomically,
//! with one change record ("placed") that this binding packs but for what only the script knows.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/place_bet.lua.

use bytes::Bytes;
use serde::Serialize;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One bet, as the player asked for it, with its id already allocated.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The match the bet is on.
    pub match_id: u64,
    /// The market (`match_id` for the match's default market).
    pub mid: u64,
    /// The option's key.
    pub option: &'a str,
    /// Coins, > 0 and at most `MAX_BALANCE` (the script refuses others with "ERR bad stake").
    pub stake: i64,
    /// The odds version the player saw.
    pub odds_ver: u64,
    /// The player's request id: a repeat answers the first reply.
    pub req_id: &'a str,
    /// The bet id (allocated by the caller, `ids::BetIds`).
    pub bid: u64,
    /// Unix ms.
    pub now_ms: u64,
}

/// What place_bet.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Placed (`repeated`: the first reply of this request id, nothing debited now).
    Placed { bid: u64, balance: i64, odds: i64, repeated: bool },
    /// The user is banned: nothing written.
    Banned,
    /// The match is not open for betting.
    NotOpen { state: i64 },
    /// The odds changed: the current version and the options (JSON, as stored).
    OddsChanged { odds_ver: u64, options_json: String },
    /// Stake out of range (`max` lowered to what keeps balance + exposure within MAX_BALANCE).
    StakeOutOfRange { min: i64, max: i64 },
    /// The balance does not cover the stake.
    InsufficientBalance { balance: i64 },
    /// No such match.
    NoMatch,
    /// No such market in the match named.
    NoMarket,
    /// No such option.
    NoOption,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = redis.keys.place_bet(args.uid, args.mid);
    let argv = vec![
        Bytes::from(args.uid.to_string()),
        Bytes::from(args.mid.to_string()),
        Bytes::copy_from_slice(args.option.as_bytes()),
        Bytes::from(args.stake.to_string()),
        Bytes::from(args.odds_ver.to_string()),
        Bytes::copy_from_slice(args.req_id.as_bytes()),
        Bytes::from(args.bid.to_string()),
        Bytes::from(args.now_ms.to_string()),
        Bytes::from(record_prefix(args)),
        Bytes::from(crate::bets::Terms::suffix(args.stake, args.now_ms, args.option, args.req_id)),
        Bytes::from(if args.mid == args.match_id { String::new() } else { args.match_id.to_string() }),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::PlaceBet, keys, argv).await?;
    parse(&reply)
}

/// The part of the bet's "placed" record known before the script runs (its ARGV[9]): every entry
/// but the four place_bet.lua appends (odds, balance, wver, id), under a map header that counts
/// them too. [`crate::records::Placed`] reads the whole record.
#[derive(Serialize)]
struct PlacedPrefix<'a> {
    table: &'static str,
    key: u64,
    ver: u64,
    ts: u64,
    uid: u64,
    match_id: u64,
    market_id: u64,
    option: &'a str,
    stake: i64,
    req_id: &'a str,
    delta: i64,
    reason: &'static str,
    #[serde(rename = "ref")]
    reference: String,
}

/// Entries in [`PlacedPrefix`] and entries place_bet.lua appends.
const PREFIX_ENTRIES: u32 = 13;
const APPENDED_ENTRIES: u32 = 4;

fn record_prefix(args: &Args<'_>) -> Vec<u8> {
    let prefix = PlacedPrefix {
        table: crate::records::PLACED,
        key: args.bid,
        ver: 1,
        ts: args.now_ms,
        uid: args.uid,
        match_id: args.match_id,
        market_id: args.mid,
        option: args.option,
        stake: args.stake,
        req_id: args.req_id,
        delta: -args.stake,
        reason: "bet",
        reference: args.bid.to_string(),
    };
    crate::records::with_map_len(&prefix, PREFIX_ENTRIES, PREFIX_ENTRIES + APPENDED_ENTRIES)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        0 => Outcome::Placed { bid: r.uint(1)?, balance: r.int(2)?, odds: r.int(3)?, repeated: r.int(4)? == 1 },
        1009 => Outcome::Banned,
        1004 => Outcome::NotOpen { state: r.int(1)? },
        1005 => Outcome::OddsChanged { odds_ver: r.uint(1)?, options_json: r.string(2)? },
        1006 => Outcome::StakeOutOfRange { min: r.int(1)?, max: r.int(2)? },
        1003 => Outcome::InsufficientBalance { balance: r.int(1)? },
        1007 if r.string(1)? == "match" => Outcome::NoMatch,
        1007 if r.string(1)? == "option" => Outcome::NoOption,
        1007 if r.string(1)? == "market" => Outcome::NoMarket,
        _ => return Err(r.unexpected()),
    })
}
