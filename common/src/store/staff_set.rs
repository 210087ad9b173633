//! staff_set.lua: create or change a personal staff account with its change record and audit
//! record, atomically. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/staff_set.lua; gm's `staff` module reads accounts back.

use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A new account (the name must be free).
    Create,
    /// A change of an existing account.
    Update,
}

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub mode: Mode,
    pub name: &'a str,
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty.
    pub audit: &'a [u8],
    /// Fields to set: of `role`, `pw` (argon2id PHC), `totp` (base32 secret), `disabled` ("0"/"1"),
    /// `created_by`.
    pub fields: &'a [(&'a str, &'a str)],
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: the account's version now.
    Saved { ver: u64 },
    /// Create: the name is taken: nothing written.
    Exists,
    /// Update: no such account: nothing written.
    NoStaff,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.staff(args.name), k.staff_names(), k.outbox(Home::Global)];
    let mode = match args.mode {
        Mode::Create => "create",
        Mode::Update => "update",
    };
    let mut argv: Vec<Value> =
        vec![mode.into(), args.name.into(), args.now_ms.to_string().into(), Bytes::copy_from_slice(args.audit).into()];
    for (f, v) in args.fields {
        argv.push((*f).into());
        argv.push((*v).into());
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::StaffSet, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Saved { ver: r.uint(1)? },
        (1, 1) => Outcome::Exists,
        (1, 2) => Outcome::NoStaff,
        _ => return Err(r.unexpected()),
    })
}
