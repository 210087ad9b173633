//! notice_withdraw.lua: take a notice off the board (kept in gm's list, marked withdrawn) with the
//! staff action's audit record. The contract (KEYS, ARGV, replies, errors) is the header of
//! redis-scripts/notice_withdraw.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::notices::Target;
use crate::shards::Home;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub id: &'a str,
    /// The notice's target (names its audience index).
    pub target: Target,
    pub now_ms: u64,
    pub withdrawn_by: &'a str,
    /// The audit record (MessagePack change record), if any.
    pub audit: Option<Bytes>,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    Withdrawn,
    /// It was: nothing written.
    AlreadyWithdrawn,
    /// No such notice (or expired): nothing written.
    NoNotice,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.notice(args.id), k.notices_for(&args.target.audience()), k.outbox(Home::Global)];
    let argv: Vec<Bytes> = vec![
        Bytes::from(args.id.to_owned()),
        Bytes::from(args.now_ms.to_string()),
        Bytes::from(args.withdrawn_by.to_owned()),
        args.audit.clone().unwrap_or_default(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::NoticeWithdraw, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Withdrawn,
        (1, 1) => Outcome::AlreadyWithdrawn,
        (1, 2) => Outcome::NoNotice,
        _ => return Err(r.unexpected()),
    })
}
