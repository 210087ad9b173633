//! push_user.lua: deliver pushes to every connection of a user on a live connect node, or keep
//! them in the user's inbox when none is live, decided atomically against the online index.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/push_user.lua.

use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One connection of the user, as the caller read it from `online:{uid}`.
#[derive(Clone, Debug)]
pub struct Connection<'a> {
    /// The connection id, as the online index holds it (the script compares the two as strings).
    pub conn: &'a str,
    /// The connect node it is on.
    pub node: &'a str,
    /// One element `[route, frame]` for the node's push list per frame, in the frames' order.
    pub elements: Vec<Bytes>,
}

/// Pushes for one user.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// Keep at most this many frames in the inbox when the user has no live connection; 0: do not
    /// keep them (online-only pushes).
    pub inbox_cap: u64,
    /// Lifetime of a push list, ms (refreshed on every push; a dead node's list expires).
    pub push_ttl_ms: u64,
    /// Every connection the caller read from the online index.
    pub connections: &'a [Connection<'a>],
    /// The client frames, oldest first (at least one): what goes into the inbox.
    pub frames: &'a [Bytes],
}

/// What push_user.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Pushed to `connections` connections, or `kept` frames in the inbox; `removed` connections
    /// of dead nodes were taken out of the online index.
    Delivered { connections: u64, kept: u64, removed: u64 },
    /// The online index changed since the caller read it: nothing written, read it again.
    IndexChanged,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let conns = args.connections;
    debug_assert!(conns.iter().all(|c| c.elements.len() == args.frames.len()), "one element per frame and connection");
    let mut keys = Vec::with_capacity(2 + 2 * conns.len());
    keys.push(k.online(args.uid));
    keys.push(k.inbox(args.uid));
    for c in conns {
        keys.push(k.node("connect", c.node));
        keys.push(k.push(c.node));
    }
    let mut argv: Vec<Value> = Vec::with_capacity(4 + conns.len() * (2 + args.frames.len()) + args.frames.len());
    argv.push(args.inbox_cap.to_string().into());
    argv.push(args.push_ttl_ms.to_string().into());
    argv.push(conns.len().to_string().into());
    argv.push(args.frames.len().to_string().into());
    argv.extend(conns.iter().map(|c| Value::from(c.conn)));
    argv.extend(conns.iter().map(|c| Value::from(c.node)));
    argv.extend(args.frames.iter().map(|f| Value::from(f.clone())));
    for c in conns {
        argv.extend(c.elements.iter().map(|e| Value::from(e.clone())));
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::PushUser, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.len() {
        1 if r.int(0)? == -1 => Outcome::IndexChanged,
        3 => Outcome::Delivered { connections: r.uint(0)?, kept: r.uint(1)?, removed: r.uint(2)? },
        _ => return Err(r.unexpected()),
    })
}
