//! grant_approval.lua: maker–checker for large grants — ask, approve or reject (once), and keep
//! what came of an approved grant. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/grant_approval.lua; gm applies an approved grant (`routes/approvals.rs`).

use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

/// One step.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// A new request: `amount` coins to `uid`.
    Ask {
        id: &'a str,
        uid: u64,
        amount: i64,
        reason: &'a str,
        request_id: Option<&'a str>,
    },
    Approve {
        id: &'a str,
    },
    Reject {
        id: &'a str,
    },
    /// What came of the approved grant (JSON text).
    Result {
        id: &'a str,
        result: &'a str,
    },
}

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub action: Action<'a>,
    pub now_ms: u64,
    /// The staff member acting.
    pub who: &'a str,
    /// The audit record (MessagePack change record), or empty.
    pub audit: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Recorded, pending.
    Asked,
    /// Decided now: `approved` or `rejected`.
    Decided { state: String },
    /// Decided before (`state`, by `checker`): nothing written.
    Already { state: String, checker: String },
    /// The one who asked may not approve: nothing written.
    OwnRequest,
    /// No such request (or no longer kept): nothing written.
    NoApproval,
    /// The result is kept.
    Recorded,
    /// A request of that id exists: nothing written.
    Exists,
}

/// How many requests the list keeps, and how long a request is kept (30 days).
pub const LIST_MAX: u64 = 1000;
pub const KEEP_S: u64 = 30 * 86_400;

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let id = match args.action {
        Action::Ask { id, .. } | Action::Approve { id } | Action::Reject { id } | Action::Result { id, .. } => id,
    };
    let keys = vec![k.approval(id), k.approvals(), k.outbox(Home::Global)];
    let name = match args.action {
        Action::Ask { .. } => "ask",
        Action::Approve { .. } => "approve",
        Action::Reject { .. } => "reject",
        Action::Result { .. } => "result",
    };
    let mut argv: Vec<Value> =
        vec![name.into(), args.now_ms.to_string().into(), args.who.into(), Bytes::copy_from_slice(args.audit).into()];
    match args.action {
        Action::Ask { id, uid, amount, reason, request_id } => argv.extend([
            id.into(),
            uid.to_string().into(),
            amount.to_string().into(),
            reason.into(),
            request_id.unwrap_or("").into(),
            LIST_MAX.to_string().into(),
            KEEP_S.to_string().into(),
        ]),
        Action::Result { result, .. } => argv.push(result.into()),
        Action::Approve { .. } | Action::Reject { .. } => {}
    }
    let reply = redis.scripts.eval(&redis.pool, ScriptName::GrantApproval, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Asked,
        (2, 1) => Outcome::Decided { state: r.string(1)? },
        (3, 2) => Outcome::Already { state: r.string(1)?, checker: r.string(2)? },
        (1, 3) => Outcome::OwnRequest,
        (1, 4) => Outcome::NoApproval,
        (1, 5) => Outcome::Recorded,
        (1, 6) => Outcome::Exists,
        _ => return Err(r.unexpected()),
    })
}
