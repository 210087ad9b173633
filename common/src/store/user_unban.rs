//! user_unban.lua: lift a user's ban, atomically with its change record and audit record.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/user_unban.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One unban.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// Who lifts it (staff name).
    pub by: &'a str,
    /// Unix ms.
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What user_unban.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: `changed` when this call lifted a ban (false: there was none, nothing written).
    Unbanned { changed: bool },
    /// No such user: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.user(args.uid), k.outbox(Home::of_uid(args.uid)), k.wallet(args.uid)];
    let argv: Vec<Value> = vec![
        args.uid.to_string().into(),
        args.by.into(),
        args.now_ms.to_string().into(),
        Bytes::copy_from_slice(args.audit).into(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::UserUnban, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Unbanned { changed: r.int(1)? == 1 },
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
