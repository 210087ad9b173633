//! market_create.lua: add a market to a match — a catalogue record of its own with `parent`, listed
//! in the match's `markets` — then copy it to every shard (`crate::matches::copy_to_shards`), so a
//! bet in any shard finds it. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/market_create.lua.

use bytes::Bytes;
use fred::types::Value;
use protocol::matches::MatchState;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

/// One new market, with its id already allocated (`INCR seq:match`: markets and matches share ids).
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub id: u64,
    /// The match it belongs to.
    pub parent: u64,
    /// States of the match that take a new market.
    pub editable: &'a [MatchState],
    /// The market's own hash fields, name and value in turn (market, options, min_stake,
    /// max_stake), as [`crate::matches::MatchRecord::market_fields`] builds them.
    pub fields: &'a [String],
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What market_create.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Created (pending if the match is, else not open).
    Created { id: u64 },
    /// No such match (or the id is a market's).
    NoMatch,
    /// The match is in a state that takes no new market.
    NotEditable { state: MatchState },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.match_(args.id), k.match_(args.parent), k.outbox(Home::Global)];
    let editable: Vec<String> = args.editable.iter().map(|s| s.code().to_string()).collect();
    let mut argv: Vec<Value> = vec![
        args.id.to_string().into(),
        args.parent.to_string().into(),
        editable.join(",").into(),
        args.now_ms.to_string().into(),
        Bytes::copy_from_slice(args.audit).into(),
    ];
    argv.extend(args.fields.iter().map(|f| Value::from(f.as_str())));
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MarketCreate, keys, argv).await?;
    let outcome = parse(&reply)?;
    if let Outcome::Created { id } = outcome {
        crate::matches::copy_to_shards(redis, id).await?;
    }
    Ok(outcome)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Created { id: r.uint(1)? },
        (1, 2) => Outcome::NoMatch,
        (2, 3) => Outcome::NotEditable { state: MatchState::from_code(r.int(1)?).ok_or_else(|| r.unexpected())? },
        _ => return Err(r.unexpected()),
    })
}
