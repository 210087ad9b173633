//! dead_letter.lua: move a frame that can never be handled from an inflight list to a dead list.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/dead_letter.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::queue::DeadList;

/// One frame to dead-letter. The keys come from [`crate::queue::QueueKeys`] and the consumer.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The consumer's inflight list.
    pub inflight: &'a str,
    /// The dead list (`q:dead:{queue}`).
    pub dead: &'a str,
    /// The frame, byte for byte as it was taken.
    pub frame: Bytes,
    /// The dead list's cap and lifetime.
    pub dead_list: DeadList,
}

/// What dead_letter.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Moved to the dead list.
    Moved,
    /// The frame was no longer inflight: nothing written.
    NotInflight,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![args.inflight.to_owned(), args.dead.to_owned()];
    let argv = vec![
        args.frame.clone(),
        Bytes::from(args.dead_list.max.to_string()),
        Bytes::from(args.dead_list.ttl_s.to_string()),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::DeadLetter, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        1 => Outcome::Moved,
        0 => Outcome::NotInflight,
        _ => return Err(r.unexpected()),
    })
}
