//! sched_due.lua: move the delayed events that are due from `sched` to `q:notify:{…}`, atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/sched_due.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

/// One bounded move.
#[derive(Clone, Debug)]
pub struct Args {
    /// Unix ms: events due at or before it are moved.
    pub now_ms: u64,
    /// The most events to move in this call.
    pub limit: u64,
}

/// What sched_due.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// `moved` events moved (call again while it equals the limit).
    Moved { moved: u64 },
}

pub async fn call(redis: &Redis, args: &Args) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.sched(), redis.keys.notify(Home::Global)];
    let argv = vec![args.now_ms.to_string(), args.limit.to_string()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::SchedDue, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    if r.len() != 1 {
        return Err(r.unexpected());
    }
    Ok(Outcome::Moved { moved: r.uint(0)? })
}
