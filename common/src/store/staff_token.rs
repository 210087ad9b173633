//! staff_token.lua: make or revoke an API token (kept by its SHA-256), with the audit record,
//! atomically. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/staff_token.lua; gm's `staff` module reads tokens back.

use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// A new token for `owner` with `role`, valid until `expires_at_ms`.
    Create { digest: &'a str, owner: &'a str, role: &'a str, created_by: &'a str, expires_at_ms: u64 },
    /// The token of `digest` (its record's key) stops working.
    Revoke { digest: &'a str },
}

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub id: &'a str,
    pub action: Action<'a>,
    pub now_ms: u64,
    /// The audit record (a MessagePack change record), or empty.
    pub audit: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    Created,
    Revoked,
    /// A token of that id or hash exists: nothing written.
    Exists,
    /// No such token (revoked, expired or never made): nothing written.
    NoToken,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let digest = match args.action {
        Action::Create { digest, .. } | Action::Revoke { digest } => digest,
    };
    let keys = vec![k.staff_token(digest), k.staff_token_ids(), k.outbox(Home::Global)];
    let mode = if matches!(args.action, Action::Create { .. }) { "create" } else { "revoke" };
    let mut argv: Vec<Value> =
        vec![mode.into(), args.id.into(), args.now_ms.to_string().into(), Bytes::copy_from_slice(args.audit).into()];
    if let Action::Create { digest, owner, role, created_by, expires_at_ms } = args.action {
        argv.extend([digest.into(), owner.into(), role.into(), created_by.into(), expires_at_ms.to_string().into()]);
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::StaffToken, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Created,
        (1, 1) => Outcome::Revoked,
        (1, 2) => Outcome::Exists,
        (1, 3) => Outcome::NoToken,
        _ => return Err(r.unexpected()),
    })
}
