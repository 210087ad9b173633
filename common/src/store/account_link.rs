//! account_link.lua: a guest account gets a username and password, keeping its id, coins and bets.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/account_link.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The guest's device digest (its user hash's `device`), whose index is removed.
    pub device: &'a str,
    /// The username as typed (claimed already: uname_claim.lua).
    pub username: &'a str,
    /// The password's hash (PHC string).
    pub phc: &'a str,
    /// Unix ms.
    pub now_ms: u64,
    /// The trace id of the linking frame: the same frame again answers Linked.
    pub trace: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done (or this frame had done it).
    Linked,
    /// The account already has a username and password: nothing written.
    NotGuest,
    /// No such user, or a deleted one: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.user(args.uid), k.device(args.device), k.outbox(Home::of_uid(args.uid))];
    let argv = vec![
        args.uid.to_string(),
        args.username.to_owned(),
        args.phc.to_owned(),
        args.now_ms.to_string(),
        args.trace.to_owned(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::AccountLink, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Linked,
        (1, 1011) => Outcome::NotGuest,
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
