//! grant_budget.lua: reserve (or give back) coins of a staff member's daily grant budget. The
//! contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/grant_budget.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The staff member (their token's or account's name).
    pub who: &'a str,
    /// Coins to reserve (> 0) or give back (< 0).
    pub amount: i64,
    /// The daily limit (> 0).
    pub limit: i64,
    pub now_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Done: `total` coins counted for the day now.
    Reserved { total: i64 },
    /// The reservation would pass the limit (`total` counted so far): nothing written.
    OverLimit { total: i64 },
}

/// How long a day's count is kept after its last change.
const KEEP_MS: u64 = 2 * 86_400_000;

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys = vec![redis.keys.grant_budget(args.who, crate::time::day_of(args.now_ms))];
    let argv = vec![args.amount.to_string(), args.limit.to_string(), KEEP_MS.to_string()];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::GrantBudget, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.int(0)?) {
        (2, 0) => Outcome::Reserved { total: r.int(1)? },
        (2, 1) => Outcome::OverLimit { total: r.int(1)? },
        _ => return Err(r.unexpected()),
    })
}
