//! order_create.lua: a player's deposit order, recorded, listed and sent to the outbox atomically;
//! the payment callback completes it (wallet_change.lua). `crate::orders` reads orders back.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/order_create.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One new order.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    pub order_id: &'a str,
    pub amount: i64,
    pub channel: &'a str,
    /// Unix ms.
    pub now_ms: u64,
    /// How long the order's record is kept, paid or not.
    pub keep_s: u64,
    /// How many orders the user's list keeps.
    pub list_max: u64,
    /// The currency it is paid in (ISO 4217); the callback must name the same.
    pub currency: &'a str,
    /// Who made it: None for the player, else the staff member (with the audit record).
    pub staff: Option<Staff<'a>>,
}

/// The staff member who made an order, and the audit record sent with it.
#[derive(Clone, Copy, Debug)]
pub struct Staff<'a> {
    pub name: &'a str,
    pub audit: &'a [u8],
}

/// What order_create.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    Created,
    /// An order of that id exists: nothing written.
    Exists,
    /// No such user: nothing written.
    NoUser,
    /// The user is banned: nothing written.
    Banned,
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys =
        vec![k.user(args.uid), k.order(args.uid, args.order_id), k.orders(args.uid), k.outbox(Home::of_uid(args.uid))];
    let (by, audit) = args.staff.map_or(("", &[][..]), |s| (s.name, s.audit));
    let argv: Vec<Value> = vec![
        args.uid.to_string().into(),
        args.order_id.into(),
        args.amount.to_string().into(),
        args.channel.into(),
        args.now_ms.to_string().into(),
        args.keep_s.to_string().into(),
        args.list_max.to_string().into(),
        args.currency.into(),
        by.into(),
        Bytes::copy_from_slice(audit).into(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::OrderCreate, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (1, 0) => Outcome::Created,
        (1, 409) => Outcome::Exists,
        (1, 1007) => Outcome::NoUser,
        (1, 1009) => Outcome::Banned,
        _ => return Err(r.unexpected()),
    })
}
