//! account_delete.lua: close an account (coins forfeited with a ledger record, the user anonymised,
//! every session ended), atomically with its change records. The contract (KEYS, ARGV, replies,
//! errors) is the header of redis-scripts/account_delete.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// A guest's device digest (its user hash's `device`), whose index is removed.
    pub device: Option<&'a str>,
    /// Every session id read from `sessions:{uid}`.
    pub sids: &'a [String],
    /// Unix ms.
    pub now_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done (`replayed`: it had been already; `forfeited` and `held` as then). `held`: the
    /// lowercased old username to let go of (uname_release.lua), or empty (a guest's).
    Deleted { forfeited: i64, revoked: u64, replayed: bool, held: String },
    /// The session index holds a session not passed: nothing written; read again and call again.
    IndexChanged,
    /// No such user: nothing written.
    NoUser,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let device = match args.device {
        Some(digest) => k.device(digest),
        None => k.user(args.uid),
    };
    let mut keys = vec![
        k.user(args.uid),
        k.wallet(args.uid),
        k.ledger(args.uid),
        k.sessions(args.uid),
        k.outbox(Home::of_uid(args.uid)),
        device,
    ];
    keys.extend(args.sids.iter().map(|sid| k.session(sid)));
    let mut argv = vec![args.uid.to_string(), args.now_ms.to_string(), args.sids.len().to_string()];
    argv.extend(args.sids.iter().cloned());
    let reply = redis.scripts.eval(&redis.pool, ScriptName::AccountDelete, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (5, 0) => {
            Outcome::Deleted { forfeited: r.int(1)?, revoked: r.uint(2)?, replayed: r.int(3)? == 1, held: r.string(4)? }
        }
        (1, -1) => Outcome::IndexChanged,
        (1, 1007) => Outcome::NoUser,
        _ => return Err(r.unexpected()),
    })
}
