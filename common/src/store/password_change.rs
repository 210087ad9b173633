//! password_change.lua: a new password hash and the user's other sessions revoked, atomically with
//! the user's change record. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/password_change.lua.

use crate::shards::Home;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The new password's hash (PHC string).
    pub phc: &'a str,
    /// The session kept (the caller's own), if any.
    pub keep: Option<&'a str>,
    /// Every session id read from `sessions:{uid}`.
    pub sids: &'a [String],
    /// Unix ms.
    pub now_ms: u64,
    /// The account history's event: `password_changed` (204) or `password_reset` (106).
    pub event: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: `revoked` sessions ended.
    Changed { revoked: u64 },
    /// The session index holds a session not passed: nothing written; read again and call again.
    IndexChanged,
    /// No such user: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let mut keys = vec![k.user(args.uid), k.sessions(args.uid), k.outbox(Home::of_uid(args.uid))];
    keys.extend(args.sids.iter().map(|sid| k.session(sid)));
    let mut argv = vec![
        args.uid.to_string(),
        args.phc.to_owned(),
        args.keep.unwrap_or("").to_owned(),
        args.now_ms.to_string(),
        args.sids.len().to_string(),
    ];
    argv.extend(args.sids.iter().cloned());
    argv.push(args.event.to_owned());
    let reply = redis.scripts.eval(&redis.pool, ScriptName::PasswordChange, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Changed { revoked: r.uint(1)? },
        (1, -1) => Outcome::IndexChanged,
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
