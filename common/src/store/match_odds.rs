//! match_odds.lua: change the odds of some options of a match and bump its odds version (so a bet
//! placed against the old odds is refused with "odds changed"), with its change record, atomically.
//! Then the match is copied to every shard (`crate::matches::copy_to_shards`): a bet in any shard
//! against the old odds is refused once the caller hears "changed".
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_odds.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;
use protocol::matches::MatchState;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One change of odds.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The states in which odds may change (`protocol::matches::ODDS_EDITABLE`).
    pub editable: &'a [MatchState],
    /// The new odds by option key, integer thousandths > 1000 (the script refuses others with
    /// "ERR bad odds"); a key listed twice counts once, with its last odds.
    pub changes: &'a [(&'a str, i64)],
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What match_odds.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: the new odds version.
    Changed { odds_ver: u64 },
    /// Odds cannot change in the match's state.
    NotEditable { state: MatchState },
    /// No such match.
    NotFound,
    /// The match has no option `key`: nothing written.
    NoOption { key: String },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.match_(args.mid), k.outbox(Home::Global)];
    let editable: Vec<String> = args.editable.iter().map(|s| s.code().to_string()).collect();
    let changes: serde_json::Map<String, serde_json::Value> =
        args.changes.iter().map(|(key, odds)| ((*key).to_owned(), (*odds).into())).collect();
    let argv: Vec<Value> = vec![
        editable.join(",").into(),
        serde_json::Value::Object(changes).to_string().into(),
        args.now_ms.to_string().into(),
        Bytes::copy_from_slice(args.audit).into(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchOdds, keys, argv).await?;
    let outcome = parse(&reply)?;
    if let Outcome::Changed { .. } = outcome {
        crate::matches::copy_to_shards(redis, args.mid).await?;
    }
    Ok(outcome)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Changed { odds_ver: r.uint(1)? },
        (2, 1) => Outcome::NotEditable { state: MatchState::from_code(r.int(1)?).ok_or_else(|| r.unexpected())? },
        (1, 2) => Outcome::NotFound,
        (2, 3) => Outcome::NoOption { key: r.string(1)? },
        _ => return Err(r.unexpected()),
    })
}
