//! inbox_take.lua: take every push kept for an offline user, atomically.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/inbox_take.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// Whose inbox to take.
#[derive(Clone, Debug)]
pub struct Args {
    pub uid: u64,
}

/// What inbox_take.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// The client frames, newest first (send them in reverse: oldest first); the inbox is gone.
    Taken { frames: Vec<Bytes> },
}

pub async fn call(redis: &Redis, args: &Args) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.inbox(args.uid)];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::InboxTake, keys, Vec::<String>::new()).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(Outcome::Taken { frames: r.all_bytes()? })
}
