//! rate_limit.lua: fixed-window counters checked and counted in one step — every counter is below
//! its limit and each is counted, or nothing is counted and the first one at its limit is named.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/rate_limit.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// One fixed-window counter (`keys.rate(kind, subject)`), expiring one window after its first count.
#[derive(Clone, Debug)]
pub struct Counter<'a> {
    /// The limit it counts ("register:addr", "pw:all", ...).
    pub kind: &'a str,
    /// What it counts: an address group, or "" for deployment-wide.
    pub subject: &'a str,
    /// Counts allowed per window (>= 1).
    pub limit: u64,
    /// The window, ms (>= 1).
    pub window_ms: u64,
}

/// The counters one call checks and counts, all or none.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    pub counters: &'a [Counter<'a>],
}

/// What rate_limit.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Every counter counted.
    Counted,
    /// `counters[index]` (0-based) is at its limit for `retry_after_ms` more; nothing counted.
    Limited { index: usize, retry_after_ms: u64 },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let keys: Vec<String> = args.counters.iter().map(|c| redis.keys.rate(c.kind, c.subject)).collect();
    let argv: Vec<String> = args.counters.iter().flat_map(|c| [c.limit.to_string(), c.window_ms.to_string()]).collect();
    let reply = redis.scripts.eval(&redis.pool, ScriptName::RateLimit, keys, argv).await?;
    parse(&reply, args.counters.len())
}

fn parse(r: &Reply, counters: usize) -> Result<Outcome, StoreError> {
    Ok(match (r.len(), r.uint(0)?) {
        (1, 0) => Outcome::Counted,
        (2, i) if i >= 1 && i as usize <= counters => {
            Outcome::Limited { index: i as usize - 1, retry_after_ms: r.uint(1)? }
        }
        _ => return Err(r.unexpected()),
    })
}
