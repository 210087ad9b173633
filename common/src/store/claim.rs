//! claim.lua: take up to N frames from a queue into a consumer's inflight list, atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/claim.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One claim by one consumer. The keys come from [`crate::queue::QueueKeys`] and the consumer.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The queue (producers LPUSH, consumers take from the right).
    pub queue: &'a str,
    /// The consumer's inflight list.
    pub inflight: &'a str,
    /// The most frames to move.
    pub max: u64,
}

/// What claim.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// The frames moved, oldest first (possibly none).
    Claimed { frames: Vec<Bytes> },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![args.queue.to_owned(), args.inflight.to_owned()];
    let argv = vec![args.max.to_string()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Claim, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(Outcome::Claimed { frames: r.all_bytes()? })
}
