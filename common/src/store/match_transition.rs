//! match_transition.lua: change a match's state by one row of the transition table
//! (`protocol::matches::TRANSITIONS`) — state, indexes, settlement job, event and change record in
//! one atomic step; nothing is written when the row does not allow it.
//! Then the match is copied to every shard (`crate::matches::copy_to_shards`) before the caller
//! hears the outcome: a transition is done (a close: no bet in any shard after it) once every shard
//! holds it. An illegal transition copies too, so repeating an action whose copy failed (answered
//! "unavailable") brings the lagging shards up.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_transition.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::prelude::*;
use fred::types::Value;
use protocol::matches::{Action, MatchState};

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One transition of one match.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The match's type, as stored (the script refuses another with "ERR type mismatch"); it names
    /// the per-type indexes.
    pub kind: &'a str,
    /// The row of the transition table to apply (its from-states, new state, liveness rule, job).
    pub action: Action,
    /// The winner option key to record as the result, if any.
    pub winner: Option<&'a str>,
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What match_transition.lua answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done.
    Done { from: MatchState, to: MatchState },
    /// Not allowed from the current state (`live`: the match has started); nothing changed.
    Illegal { state: MatchState, live: bool },
    /// No such match.
    NotFound,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let t = protocol::matches::transition(args.action);
    let k = &redis.keys;
    let mut keys = vec![k.match_(args.mid)];
    keys.extend(k.match_indexes(args.kind));
    keys.extend([k.notify(Home::Global), k.settle(), k.outbox(Home::Global)]);
    let from: Vec<String> = t.from.iter().map(|s| s.code().to_string()).collect();
    let argv: Vec<Value> = vec![
        t.name.into(),
        from.join(",").into(),
        t.to.code().to_string().into(),
        t.live_rule().into(),
        t.job.map_or("", |j| j.name()).into(),
        args.winner.unwrap_or("").into(),
        args.now_ms.to_string().into(),
        args.kind.into(),
        t.to.index(false).name().into(),
        t.to.index(true).name().into(),
        Bytes::copy_from_slice(args.audit).into(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchTransition, keys, argv).await?;
    let outcome = parse(&reply)?;
    if outcome != Outcome::NotFound {
        crate::matches::copy_to_shards(redis, args.mid).await?;
    }
    Ok(outcome)
}

/// Applies `action` to match `mid` as it is stored now (its type read first): [`call`] for
/// callers that hold only the match id. `Outcome::NotFound` if there is no such match.
pub async fn transition(
    redis: &Redis,
    mid: u64,
    action: Action,
    winner: Option<&str>,
    audit: &[u8],
) -> Result<Outcome, StoreError> {
    let kind: Option<String> = redis.pool.hget(redis.keys.match_(mid), "type").await?;
    let Some(kind) = kind else { return Ok(Outcome::NotFound) };
    call(redis, &Args { mid, kind: &kind, action, winner, now_ms: crate::time::now_ms(), audit }).await
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    let state = |i: usize| MatchState::from_code(r.int(i)?).ok_or_else(|| r.unexpected());
    Ok(match (r.len(), r.int(0)?) {
        (3, 0) => Outcome::Done { from: state(1)?, to: state(2)? },
        (3, 1) => Outcome::Illegal { state: state(1)?, live: r.int(2)? == 1 },
        (1, 2) => Outcome::NotFound,
        _ => return Err(r.unexpected()),
    })
}
