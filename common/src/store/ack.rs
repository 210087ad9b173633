//! ack.lua: acknowledge a batch of handled frames of one consumer and push their replies, atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/ack.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One handled frame to ack.
#[derive(Clone, Debug)]
pub struct Ack<'a> {
    /// The frame, byte for byte as it was taken.
    pub frame: Bytes,
    /// The reply: the list it is pushed to (`q:l2c:{group}:{node}`) and the element ([route, frame]
    /// MessagePack); none for an ack without a reply.
    pub reply: Option<(&'a str, Bytes)>,
}

/// One batch of acks, all of one consumer's frames.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The consumer's inflight list.
    pub inflight: &'a str,
    /// The frames, in the order their replies are pushed (each reply list reads as if they had
    /// been pushed one by one in this order). A few hundred at most: the script runs them all at once.
    pub acks: &'a [Ack<'a>],
    /// How long each reply list that gets a reply lives after this batch, ms; 0: no expiry.
    pub reply_ttl_ms: u64,
}

/// What ack.lua answered for one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Acked, and the reply (if any) pushed.
    Acked,
    /// The frame was no longer inflight (the reaper took it back): nothing written for it.
    NotInflight,
}

/// Acks `args.acks`: one outcome per ack, in their order. No acks: no call.
pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Vec<Outcome>, StoreError> {
    if args.acks.is_empty() {
        return Ok(Vec::new());
    }
    // KEYS[2..]: each reply list once, in order of first use. A batch names few lists (one per
    // connect node), so a linear search is all it takes.
    let mut keys = vec![args.inflight.to_owned()];
    let mut argv = Vec::with_capacity(1 + 3 * args.acks.len());
    argv.push(Bytes::from(args.reply_ttl_ms.to_string()));
    for ack in args.acks {
        let (list, element) = match &ack.reply {
            Some((key, element)) => {
                let at = match keys[1..].iter().position(|k| k == key) {
                    Some(i) => i + 2,
                    None => {
                        keys.push((*key).to_owned());
                        keys.len()
                    }
                };
                (at, element.clone())
            }
            None => (0, Bytes::new()),
        };
        argv.extend([ack.frame.clone(), Bytes::from(list.to_string()), element]);
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Ack, keys, argv).await?;
    parse(&reply, args.acks.len())
}

fn parse(r: &Reply, n: usize) -> Result<Vec<Outcome>, StoreError> {
    if r.len() != n {
        return Err(r.unexpected());
    }
    r.all_ints()?
        .into_iter()
        .map(|v| match v {
            1 => Ok(Outcome::Acked),
            0 => Ok(Outcome::NotInflight),
            _ => Err(r.unexpected()),
        })
        .collect()
}
