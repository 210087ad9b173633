//! push_user.lua: decide, atomically against the online index, whether a user's pushes go to their
//! connections on live connect nodes or into their inbox (when none is live); stale connections
//! leave the index. The caller appends the frames to the chosen connections' node lists after
//! (`crate::push_lists`).
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/push_user.lua.

use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

pub use crate::push_lists::Connection;

/// Pushes for one user.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// Keep at most this many frames in the inbox when the user has no live connection; 0: do not
    /// keep them (online-only pushes).
    pub inbox_cap: u64,
    /// Every connection the caller read from the online index.
    pub connections: &'a [Connection<'a>],
    /// The client frames, oldest first (at least one): what goes into the inbox.
    pub frames: &'a [Bytes],
}

/// What push_user.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Push to `targets` (positions in [`Args::connections`]: live and still in the index), or
    /// `kept` frames were kept in the inbox; `removed` connections of dead nodes were taken out of
    /// the online index.
    Delivered { targets: Vec<usize>, kept: u64, removed: u64 },
    /// The online index changed since the caller read it: nothing written, read it again.
    IndexChanged,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let conns = args.connections;
    let keys = vec![k.online(args.uid), k.inbox(args.uid)];
    let mut argv: Vec<Value> = Vec::with_capacity(3 + 3 * conns.len() + args.frames.len());
    argv.push(args.inbox_cap.to_string().into());
    argv.push(conns.len().to_string().into());
    argv.push(args.frames.len().to_string().into());
    argv.extend(conns.iter().map(|c| Value::from(c.conn)));
    argv.extend(conns.iter().map(|c| Value::from(c.node)));
    argv.extend(conns.iter().map(|c| Value::from(if c.live { "1" } else { "0" })));
    argv.extend(args.frames.iter().map(|f| Value::from(f.clone())));
    let reply = redis.scripts.eval(&redis.pool, ScriptName::PushUser, keys, argv).await?;
    parse(&reply, conns.len())
}

fn parse(r: &Reply, read: usize) -> Result<Outcome, StoreError> {
    if r.len() == 1 && r.int(0)? == -1 {
        return Ok(Outcome::IndexChanged);
    }
    if r.len() < 2 {
        return Err(r.unexpected());
    }
    let mut targets = Vec::with_capacity(r.len() - 2);
    for i in 2..r.len() {
        match usize::try_from(r.uint(i)?) {
            Ok(p) if (1..=read).contains(&p) => targets.push(p - 1),
            _ => return Err(r.unexpected()),
        }
    }
    Ok(Outcome::Delivered { targets, kept: r.uint(0)?, removed: r.uint(1)? })
}
