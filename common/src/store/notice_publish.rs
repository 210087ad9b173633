//! notice_publish.lua: put a notice on the board with its indexes, and queue (or schedule) its
//! push and the staff action's audit record, in one step. The contract (KEYS, ARGV, replies,
//! errors) is the header of redis-scripts/notice_publish.lua.

use bytes::Bytes;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::notices::{KEEP_MS, Target};
use crate::shards::Home;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub id: &'a str,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub target: Target,
    /// On the board (and pushed) from then, Unix ms; at or before `now_ms`: at once.
    pub publish_at: u64,
    pub now_ms: u64,
    pub created_by: &'a str,
    /// The audit record (MessagePack change record), if any.
    pub audit: Option<Bytes>,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// On the board now; the push queued.
    Published,
    /// On the board from its publish time; the push then.
    Scheduled,
    /// A notice with this id exists: nothing written.
    Exists,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let event = crate::events::Event::Notice { id: args.id.to_owned() };
    let event = rmp_serde::to_vec_named(&event).expect("an event of a string always encodes");
    let keys = vec![
        k.notice(args.id),
        k.notices(),
        k.notices_for(&args.target.audience()),
        k.notify(Home::Global),
        k.sched(),
        k.outbox(Home::Global),
    ];
    let argv: Vec<Bytes> = vec![
        Bytes::from(args.id.to_owned()),
        Bytes::from(args.title.unwrap_or("").to_owned()),
        Bytes::from(args.text.to_owned()),
        Bytes::from(args.target.kind()),
        Bytes::from(args.target.id().map(|id| id.to_string()).unwrap_or_default()),
        Bytes::from(args.publish_at.to_string()),
        Bytes::from(args.now_ms.to_string()),
        Bytes::from(KEEP_MS.to_string()),
        Bytes::from(args.created_by.to_owned()),
        Bytes::from(event),
        args.audit.clone().unwrap_or_default(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::NoticePublish, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 1) => Outcome::Published,
        (1, 2) => Outcome::Scheduled,
        (1, 0) => Outcome::Exists,
        _ => return Err(r.unexpected()),
    })
}
