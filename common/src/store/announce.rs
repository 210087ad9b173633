//! announce.lua: queue an announcement for pushsvr, now or at a time, and record the staff action.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/announce.lua.

use crate::shards::Home;
use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One announcement.
#[derive(Clone, Debug)]
pub struct Args {
    /// The event (MessagePack map, kind = "announcement"; unique: it carries an id).
    pub event: Bytes,
    /// When to deliver it, Unix ms; none (or 0): now.
    pub due_ms: Option<u64>,
    /// The audit record (MessagePack change record) for q:outbox:{…}, if any.
    pub audit: Option<Bytes>,
}

/// What announce.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Queued on q:notify:{…} now.
    Queued,
    /// Scheduled in the sched zset.
    Scheduled,
}

pub async fn call(redis: &Redis, args: &Args) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.notify(Home::Global), k.sched(), k.outbox(Home::Global)];
    let argv = vec![
        args.event.clone(),
        Bytes::from(args.due_ms.unwrap_or(0).to_string()),
        args.audit.clone().unwrap_or_default(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Announce, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        1 => Outcome::Queued,
        2 => Outcome::Scheduled,
        _ => return Err(r.unexpected()),
    })
}
