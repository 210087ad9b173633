//! wallet_change.lua: credit or debit a wallet outside betting (staff grants, payment callbacks, a
//! Lua module's `ctx.credit`) with its ledger record, change records and "balance" event,
//! atomically; once per idempotency record when one is given.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/wallet_change.lua.

use crate::shards::Home;
use bytes::Bytes;
use fred::types::Value;

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// What makes a change happen once: its idempotency record (a repeat answers the first result and
/// writes nothing), also sent to the outbox for MySQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Once<'a> {
    /// A payment for an order the server created (order_create.lua): `payment:{order_id}`, table
    /// "payment"; the order must be the user's, of `delta` coins, paid in `currency`.
    Payment { order_id: &'a str, currency: &'a str },
    /// A staff grant's request id (or a Lua module's credit id): `grant:{request_id}`, table "grant".
    Grant { request_id: &'a str },
}

/// One change of one wallet.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// Coins, not 0 and at most `MAX_BALANCE` either way (the script refuses others with
    /// "ERR bad delta").
    pub delta: i64,
    /// The ledger reason ("grant", "payment", ...).
    pub reason: &'a str,
    /// The ledger reference (order id, staff name, ...).
    pub reference: &'a str,
    /// Unix ms.
    pub now_ms: u64,
    /// The idempotency record, if any.
    pub once: Option<Once<'a>>,
    /// The audit record (a MessagePack change record), or empty for none.
    pub audit: &'a [u8],
}

/// What wallet_change.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: the balance after (`repeated`: the idempotency record existed; its balance is
    /// answered and nothing was written now).
    Changed { balance: i64, repeated: bool },
    /// The debit would take the balance below zero: nothing written.
    InsufficientBalance { balance: i64 },
    /// No such user: nothing written.
    NoUser,
    /// The idempotency record exists for another user or amount: nothing written.
    OnceConflict,
    /// A payment for an order the server did not create (or no longer holds): nothing written.
    NoOrder,
    /// A payment whose user, amount or currency (`field`: "uid", "amount", "currency") is not its
    /// order's: nothing written.
    OrderMismatch { field: String },
    /// The credit would take balance + exposure past `MAX_BALANCE`: nothing written; `room` is the
    /// largest credit that fits now.
    BalanceLimit { balance: i64, room: i64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let (once_key, once_kind, once_id, order_key, currency) = match args.once {
        Some(Once::Payment { order_id, currency }) => {
            (k.payment(args.uid, order_id), "payment", order_id, k.order(args.uid, order_id), currency)
        }
        Some(Once::Grant { request_id }) => {
            (k.grant(args.uid, request_id), "grant", request_id, k.wallet(args.uid), "")
        }
        None => (k.wallet(args.uid), "", "", k.wallet(args.uid), ""),
    };
    let keys = vec![
        k.user(args.uid),
        k.wallet(args.uid),
        k.ledger(args.uid),
        k.outbox(Home::of_uid(args.uid)),
        once_key,
        k.notify(Home::of_uid(args.uid)),
        order_key,
    ];
    let argv: Vec<Value> = vec![
        args.uid.to_string().into(),
        args.delta.to_string().into(),
        args.reason.into(),
        args.reference.into(),
        args.now_ms.to_string().into(),
        once_kind.into(),
        Bytes::copy_from_slice(args.audit).into(),
        once_id.into(),
        currency.into(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::WalletChange, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (3, 0) => Outcome::Changed { balance: r.int(1)?, repeated: r.int(2)? == 1 },
        (2, 1003) => Outcome::InsufficientBalance { balance: r.int(1)? },
        (1, 1007) => Outcome::NoUser,
        (1, 409) => Outcome::OnceConflict,
        (1, 404) => Outcome::NoOrder,
        (2, 412) => Outcome::OrderMismatch { field: r.string(1)? },
        (3, 422) => Outcome::BalanceLimit { balance: r.int(1)?, room: r.int(2)? },
        _ => return Err(r.unexpected()),
    })
}
