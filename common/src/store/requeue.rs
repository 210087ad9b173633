//! requeue.lua: the reaper's move, returning a dead consumer's inflight frames to its queue (or,
//! for a frame returned too often, to the dead list).
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/requeue.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::queue::DeadList;

/// One bounded pass over one dead consumer's inflight list. The keys come from
/// [`crate::queue::QueueKeys`] and the consumers hash.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The dead consumer's inflight list.
    pub inflight: &'a str,
    /// The queue.
    pub queue: &'a str,
    /// The dead list.
    pub dead: &'a str,
    /// The deliveries hash (sha1(frame) -> times returned).
    pub deliveries: &'a str,
    /// The consumers hash (inflight key -> heartbeat key).
    pub consumers: &'a str,
    /// A frame returned this many times goes to the dead list (>= 1).
    pub max_attempts: u64,
    /// The most frames to move in this call.
    pub limit: u64,
    /// Lifetime of the deliveries hash, seconds (refreshed on each use).
    pub deliveries_ttl_s: u64,
    /// The dead list's cap and lifetime.
    pub dead_list: DeadList,
}

/// What requeue.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// `moved` frames returned to the queue, `dead` to the dead list; `remaining` still inflight
    /// (call again while it is not 0).
    Requeued { moved: u64, dead: u64, remaining: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![
        args.inflight.to_owned(),
        args.queue.to_owned(),
        args.dead.to_owned(),
        args.deliveries.to_owned(),
        args.consumers.to_owned(),
    ];
    let argv = vec![
        args.max_attempts.to_string(),
        args.limit.to_string(),
        args.deliveries_ttl_s.to_string(),
        args.dead_list.max.to_string(),
        args.dead_list.ttl_s.to_string(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Requeue, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    if r.len() != 3 {
        return Err(r.unexpected());
    }
    Ok(Outcome::Requeued { moved: r.uint(0)?, dead: r.uint(1)?, remaining: r.uint(2)? })
}
