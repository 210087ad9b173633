//! uname_claim.lua: point a username's index at a user who exists already (209 link_account), in
//! the name's shard. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/uname_claim.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// The username (its index is keyed by the lowercased form).
    pub username: &'a str,
    /// The trace id of the claiming frame.
    pub trace: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// The index points at the user (now, or already did).
    Claimed,
    /// Another user holds the name (or held it and it is kept a while): nothing written.
    UsernameTaken,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.uname(&args.username.to_lowercase())];
    let argv = vec![args.uid.to_string(), args.trace.to_owned()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::UnameClaim, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Claimed,
        (1, 1002) => Outcome::UsernameTaken,
        _ => return Err(r.unexpected()),
    })
}
