//! register.lua: create a user with a unique name, a wallet holding the sign-up grant and the
//! grant's ledger record, atomically, with the change records for dbsvr.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/register.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

/// One sign-up, with its user id already allocated (`INCR seq:user`; an id unused after a refusal
/// is a gap).
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The user id.
    pub uid: u64,
    /// The username as typed (the name index is keyed by its lowercased form).
    pub username: &'a str,
    /// The argon2 password hash (PHC string).
    pub pw_hash: &'a str,
    /// The sign-up grant, coins from 0 to `MAX_BALANCE` (the script refuses others with
    /// "ERR bad grant").
    pub grant: i64,
    /// Unix ms.
    pub now_ms: u64,
    /// The trace id of the registering frame: the same frame again answers the user it created.
    pub trace: &'a str,
    /// A guest (105): the SHA-256 (hex) of its device id, which indexes it instead of the name.
    pub device: Option<&'a str>,
}

/// What register.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Created (`replayed`: this frame had already created it; nothing written now).
    Created { uid: u64, replayed: bool },
    /// The username is taken: nothing written.
    UsernameTaken,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let day = crate::time::day_of(args.now_ms);
    let index = match args.device {
        Some(digest) => k.device(digest),
        None => k.uname(&args.username.to_lowercase()),
    };
    let keys = vec![
        index,
        k.user(args.uid),
        k.wallet(args.uid),
        k.ledger(args.uid),
        k.outbox(Home::of_uid(args.uid)),
        k.stats_reg(crate::shards::of_uid(args.uid), day),
    ];
    let argv = vec![
        args.uid.to_string(),
        args.username.to_owned(),
        args.pw_hash.to_owned(),
        args.grant.to_string(),
        args.now_ms.to_string(),
        args.trace.to_owned(),
        args.device.unwrap_or("").to_owned(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::Register, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        0 if r.len() == 3 => Outcome::Created { uid: r.uint(1)?, replayed: r.int(2)? == 1 },
        1002 if r.len() == 1 => Outcome::UsernameTaken,
        _ => return Err(r.unexpected()),
    })
}
