//! min_bet.lua: the least a bet can cost — `matchday bench`'s minimal ceiling; no service calls it.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/min_bet.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;
use crate::shards::Home;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub uid: u64,
    /// Coins, > 0.
    pub stake: i64,
    /// A repeat answers the first reply.
    pub req_id: &'a str,
    pub bid: u64,
}

/// What min_bet.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Placed (`repeated`: the first reply of this request id, nothing debited now).
    Placed { bid: u64, balance: i64, repeated: bool },
    /// The balance does not cover the stake.
    InsufficientBalance { balance: i64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![k.wallet(args.uid), k.outbox(Home::of_uid(args.uid))];
    let argv = vec![args.uid.to_string(), args.stake.to_string(), args.req_id.to_owned(), args.bid.to_string()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::MinBet, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        0 => Outcome::Placed { bid: r.uint(1)?, balance: r.int(2)?, repeated: r.int(3)? == 1 },
        1003 => Outcome::InsufficientBalance { balance: r.int(1)? },
        _ => return Err(r.unexpected()),
    })
}
