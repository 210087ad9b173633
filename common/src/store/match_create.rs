//! match_create.lua: create a match in state -1 (pending approval), index it, queue its start and
//! reminder events and its change record, atomically; idempotent by external id for data-feed imports.
//! Then the match is copied to every shard (`crate::matches::copy_to_shards`), so a bet in any shard
//! finds it (a repeated import copies it again: it heals a copy an earlier failure left behind).
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/match_create.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One new match, with its id already allocated (`INCR seq:match`; an id unused after an import
/// of a known external id is a gap).
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mid: u64,
    /// The data feed's id of an imported match; None for one created by hand.
    pub external_id: Option<&'a str>,
    /// The match's own hash fields, name and value in turn (type, title, team_a, team_b, options,
    /// min_stake, max_stake), as [`crate::matches::MatchRecord::new_fields`] builds them; the
    /// script adds the state, versions and times.
    pub fields: &'a [String],
    /// Start time, Unix ms.
    pub start_at: u64,
    /// Unix ms.
    pub now_ms: u64,
    /// How long before the start the bettors are reminded, ms (0 = no reminder).
    pub reminder_before_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What match_create.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Created, pending approval.
    Created { mid: u64 },
    /// The external id was imported before, as match `mid`: nothing written.
    AlreadyImported { mid: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let ext = args.external_id.unwrap_or("");
    let keys = vec![k.match_(args.mid), k.matches_pending(), k.match_ext(ext), k.outbox(Home::Global), k.sched()];
    let mut argv: Vec<Value> = vec![
        args.mid.to_string().into(),
        ext.into(),
        args.start_at.to_string().into(),
        args.now_ms.to_string().into(),
        Bytes::copy_from_slice(args.audit).into(),
        args.reminder_before_ms.to_string().into(),
    ];
    argv.extend(args.fields.iter().map(|f| Value::from(f.as_str())));
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MatchCreate, keys, argv).await?;
    let outcome = parse(&reply)?;
    let (Outcome::Created { mid } | Outcome::AlreadyImported { mid }) = outcome;
    crate::matches::copy_to_shards(redis, mid).await?;
    Ok(outcome)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Created { mid: r.uint(1)? },
        (2, 1) => Outcome::AlreadyImported { mid: r.uint(1)? },
        _ => return Err(r.unexpected()),
    })
}
