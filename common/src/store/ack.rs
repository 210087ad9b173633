//! ack.lua: acknowledge a handled frame and push its reply, atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/ack.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One ack. The inflight list is the consumer's; the reply list is the one the frame's reply goes to.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The consumer's inflight list.
    pub inflight: &'a str,
    /// The frame, byte for byte as it was taken.
    pub frame: Bytes,
    /// The reply: the list it is pushed to (`q:l2c:{node}`) and the element ([route, frame]
    /// MessagePack); none for an ack without a reply.
    pub reply: Option<(&'a str, Bytes)>,
    /// How long the reply list lives after this reply, ms; 0: no expiry.
    pub reply_ttl_ms: u64,
}

/// What ack.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Acked, and the reply (if any) pushed.
    Acked,
    /// The frame was no longer inflight (the reaper took it back): nothing written.
    NotInflight,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    // Without a reply, KEYS[2] is ignored: the inflight list stands in for it.
    let (reply_key, element) = match &args.reply {
        Some((key, element)) => (*key, element.clone()),
        None => (args.inflight, Bytes::new()),
    };
    let keys = vec![args.inflight.to_owned(), reply_key.to_owned()];
    let argv = vec![args.frame.clone(), element, Bytes::from(args.reply_ttl_ms.to_string())];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Ack, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        1 => Outcome::Acked,
        0 => Outcome::NotInflight,
        _ => return Err(r.unexpected()),
    })
}
