//! uname_release.lua: let go of a username, now or after a hold (a deleted account's name). The
//! contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/uname_release.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The username (lowercased or not: the index is keyed by the lowercased form).
    pub username: &'a str,
    /// How long the name stays held (0: free at once).
    pub hold_s: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done.
    Released,
    /// The index does not point at the user: nothing written.
    NotHeld,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.uname(&args.username.to_lowercase())];
    let argv = vec![args.uid.to_string(), args.hold_s.to_string()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::UnameRelease, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Released,
        (1, 1) => Outcome::NotHeld,
        _ => return Err(r.unexpected()),
    })
}
