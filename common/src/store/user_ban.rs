//! user_ban.lua: ban a user — mark them banned, revoke every session of theirs and name each live
//! connection of theirs to close, atomically in the user's shard; the caller then sends the close
//! frames to the connections' node lists (`crate::push_lists`).
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/user_ban.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

pub use crate::push_lists::Connection;

/// One ban, with the indexes as the caller read them just before.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The reason (staff's words).
    pub reason: &'a str,
    /// Who bans (staff name).
    pub by: &'a str,
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
    /// The sids `sessions:{uid}` held.
    pub sessions: &'a [String],
    /// The connections `online:{uid}` held.
    pub connections: &'a [Connection<'a>],
}

/// What user_ban.lua answered. `marked`: this call banned the user (false: banned already, and
/// the ban's reason, author and time are kept).
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Banned: `revoked` sessions deleted, `close` the connections to close (positions in
    /// [`Args::connections`]: live and still in the index), `removed` connections of dead nodes
    /// taken out of the online index.
    Banned { marked: bool, revoked: u64, close: Vec<usize>, removed: u64 },
    /// An index held an entry the caller did not pass: the user is marked, nothing else done;
    /// read again and call again.
    IndexChanged { marked: bool },
    /// No such user: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let (sids, conns) = (args.sessions, args.connections);
    let mut keys = Vec::with_capacity(5 + sids.len());
    keys.extend([k.user(args.uid), k.sessions(args.uid), k.online(args.uid), k.outbox(Home::of_uid(args.uid))]);
    keys.extend(sids.iter().map(|sid| k.session(sid)));
    keys.push(k.wallet(args.uid));
    let mut argv: Vec<Value> = Vec::with_capacity(7 + sids.len() + 3 * conns.len());
    argv.push(args.uid.to_string().into());
    argv.push(args.reason.into());
    argv.push(args.by.into());
    argv.push(args.now_ms.to_string().into());
    argv.push(Bytes::copy_from_slice(args.audit).into());
    argv.push(sids.len().to_string().into());
    argv.push(conns.len().to_string().into());
    argv.extend(sids.iter().map(|sid| Value::from(sid.as_str())));
    argv.extend(conns.iter().map(|c| Value::from(c.conn)));
    argv.extend(conns.iter().map(|c| Value::from(c.node)));
    argv.extend(conns.iter().map(|c| Value::from(if c.live { "1" } else { "0" })));
    let reply = redis.scripts.eval(&redis.pool, ScriptName::UserBan, keys, argv).await?;
    parse(&reply, conns.len())
}

fn parse(r: &Reply, read: usize) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (n, 0) if n >= 4 => {
            let mut close = Vec::with_capacity(n - 4);
            for i in 4..n {
                match usize::try_from(r.uint(i)?) {
                    Ok(p) if (1..=read).contains(&p) => close.push(p - 1),
                    _ => return Err(r.unexpected()),
                }
            }
            Outcome::Banned { marked: r.int(1)? == 1, revoked: r.uint(2)?, close, removed: r.uint(3)? }
        }
        (2, -1) => Outcome::IndexChanged { marked: r.int(1)? == 1 },
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
