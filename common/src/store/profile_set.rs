//! profile_set.lua: a player's nickname and avatar, changed atomically with the profile's change
//! record. The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/profile_set.lua.

use crate::shards::Home;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The new nickname (`Some("")` clears it; None leaves it).
    pub nickname: Option<&'a str>,
    /// The new avatar URL (`Some("")` clears it; None leaves it).
    pub avatar: Option<&'a str>,
    /// Unix ms.
    pub now_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: the profile's new version.
    Changed { ver: u64 },
    /// No such user: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.user(args.uid), k.outbox(Home::of_uid(args.uid))];
    let flag = |v: Option<&str>| if v.is_some() { "1" } else { "0" }.to_owned();
    let argv = vec![
        args.uid.to_string(),
        flag(args.nickname),
        args.nickname.unwrap_or("").to_owned(),
        flag(args.avatar),
        args.avatar.unwrap_or("").to_owned(),
        args.now_ms.to_string(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::ProfileSet, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Changed { ver: r.uint(1)? },
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
