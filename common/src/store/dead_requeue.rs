//! dead_requeue.lua: move frames of a dead list back to their queue, each as the caller says (the
//! frame, or the change record a dbsvr dead record holds), once staff have fixed what killed them.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/dead_requeue.lua.

use bytes::Bytes;
use fred::types::Value;

use super::{ScriptName, StoreError};
use crate::Redis;

/// A requeue: which dead list, which queue, which frames.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The dead list's full key.
    pub dead: &'a str,
    /// The queue's full key (the dead list's name without `q:dead:`).
    pub queue: &'a str,
    /// (the frame as the dead list holds it, what to push back for it).
    pub frames: &'a [(Bytes, Bytes)],
}

/// What dead_requeue.lua answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Frames moved (those still on the dead list).
    Moved { moved: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![args.dead.to_owned(), args.queue.to_owned()];
    let argv: Vec<Value> =
        args.frames.iter().flat_map(|(raw, push)| [Value::Bytes(raw.clone()), Value::Bytes(push.clone())]).collect();
    let reply = redis.scripts.eval(&redis.pool, ScriptName::DeadRequeue, keys, argv).await?;
    match reply.len() {
        1 => Ok(Outcome::Moved { moved: reply.uint(0)? }),
        _ => Err(reply.unexpected()),
    }
}
