//! login_guard.lua: the failed-login limit, checked and counted in one step before the password is
//! hashed, and the attempt taken back on success.
//! The contract (KEYS, ARGV, replies, errors) is the header of redis-scripts/login_guard.lua.

use super::{Reply, ScriptName, StoreError};
use crate::Redis;

/// What the call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Check the limits, then count a failure (before the password is verified).
    Attempt,
    /// The password was right: take the attempt back, clear the pair's count and mark the
    /// (address, account) known.
    Success,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Attempt => "attempt",
            Mode::Success => "success",
        }
    }
}

/// One login's check (or success) for an account from an address group.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    /// The client's address group (`crate::net::addr_group`).
    pub addr_group: &'a str,
    /// The account: the lowercased username.
    pub account: &'a str,
    pub mode: Mode,
    /// The failure window, ms (each counter's starts at its first failure).
    pub window_ms: u64,
    /// Failures of this account from this address group (>= 1).
    pub pair_limit: u64,
    /// Failures from this address group over all accounts (>= 1).
    pub addr_limit: u64,
    /// Failures of this account from every address (>= 1).
    pub account_limit: u64,
    /// How long a success keeps the (address, account) known, ms.
    pub known_ttl_ms: u64,
}

/// The counter a refusal names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// This account from this address group.
    Pair,
    /// This address group, over all accounts.
    Address,
    /// This account, from every address.
    Account,
}

/// What login_guard.lua answered.
#[derive(Clone, Debug, PartialEq, Eq, strum::VariantNames)]
pub enum Outcome {
    /// Attempt: counted, go on and verify the password. Success: recorded.
    Allowed,
    /// Refused, nothing counted: `which` is at its limit for `retry_after_ms` more.
    Refused { retry_after_ms: u64, which: Limit },
}

pub async fn call(redis: &Redis, args: &Args<'_>) -> Result<Outcome, StoreError> {
    let k = &redis.keys;
    let keys = vec![
        k.login_failures_pair(args.addr_group, args.account),
        k.login_failures_addr(args.addr_group),
        k.login_failures_user(args.account),
        k.login_known(args.addr_group, args.account),
    ];
    let argv = vec![
        args.mode.as_str().to_owned(),
        args.window_ms.to_string(),
        args.pair_limit.to_string(),
        args.addr_limit.to_string(),
        args.account_limit.to_string(),
        args.known_ttl_ms.to_string(),
    ];
    let reply = redis.scripts.eval(&redis.pool, ScriptName::LoginGuard, keys, argv).await?;
    parse(&reply)
}

fn parse(r: &Reply) -> Result<Outcome, StoreError> {
    Ok(match r.int(0)? {
        0 if r.len() == 1 => Outcome::Allowed,
        5 if r.len() == 3 => {
            let which = match r.string(2)?.as_str() {
                "pair" => Limit::Pair,
                "address" => Limit::Address,
                "account" => Limit::Account,
                _ => return Err(r.unexpected()),
            };
            Outcome::Refused { retry_after_ms: r.uint(1)?, which }
        }
        _ => return Err(r.unexpected()),
    })
}
