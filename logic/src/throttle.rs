//! The limits checked before any password work (docs/security.md): each is one atomic script call,
//! so a burst cannot slip past a check before it is counted.
//!
//! - [`check_rates`]: fixed-window counters (`rate_limit.lua`) — registrations and logins per address
//!   group per minute, password hashes per second deployment-wide, accounts per address group.
//! - [`login_attempt`] / [`login_succeeded`]: the failed-login limit (`login_guard.lua`), counted
//!   before the hash and taken back on success.
//!
//! Address groups come from `common::net::addr_group` (IPv4 alone, IPv6 by /64).

use common::store::login_guard::{self, Limit, Mode};
use common::store::rate_limit::{self, Counter};
use protocol::ErrorCode;

use crate::context::Ctx;
use crate::error::AppError;

/// One fixed-window counter: its key (`keys.rate(kind, subject)`), limit and window, and what a
/// refusal says it limits.
pub struct Rate<'a> {
    /// The limit it counts ("register:addr", "pw:all", ...).
    pub kind: &'static str,
    /// What it counts: an address group, or "" for deployment-wide.
    pub subject: &'a str,
    pub limit: u64,
    pub window_ms: u64,
    pub what: &'static str,
    /// The `reason` label of `matchday_logic_password_refused_total` for a refusal.
    pub label: &'static str,
}

/// Counts one against every counter in `rates`, or refuses with code 5 (and `retry_after_s`) when
/// one of them is at its limit, counting nothing.
pub async fn check_rates(ctx: &Ctx, rates: &[Rate<'_>]) -> Result<(), AppError> {
    let counters: Vec<Counter<'_>> = rates
        .iter()
        .map(|r| Counter { kind: r.kind, subject: r.subject, limit: r.limit, window_ms: r.window_ms })
        .collect();
    match rate_limit::call(&ctx.redis, &rate_limit::Args { counters: &counters }).await? {
        rate_limit::Outcome::Counted => Ok(()),
        rate_limit::Outcome::Limited { index, retry_after_ms } => {
            let rate = &rates[index];
            metrics::counter!("matchday_logic_password_refused_total", "reason" => rate.label).increment(1);
            Err(refused(&format!("too many {}", rate.what), retry_after_ms))
        }
    }
}

/// The accounts an address group may create per window (101 register, 105 a new guest).
pub fn signups<'a>(ctx: &Ctx, group: &'a str) -> Rate<'a> {
    Rate {
        kind: "register:addr",
        subject: group,
        limit: ctx.cfg.register_max_per_addr,
        window_ms: ctx.cfg.register_window_s * 1000,
        what: "accounts created from this address",
        label: "signups_per_addr",
    }
}

/// The password-work rates every register and login is counted against: per address group per
/// minute, and hashes per second for the whole deployment.
pub fn password_rates<'a>(ctx: &Ctx, group: &'a str) -> [Rate<'a>; 2] {
    [
        Rate {
            kind: "pw:addr",
            subject: group,
            limit: ctx.cfg.password_attempts_per_addr_per_min,
            window_ms: 60_000,
            what: "registrations and logins from this address",
            label: "addr_rate",
        },
        Rate {
            kind: "pw:all",
            subject: "",
            limit: ctx.cfg.password_hashes_per_sec,
            window_ms: 1_000,
            what: "registrations and logins on the server right now",
            label: "global_rate",
        },
    ]
}

/// The failed-login counters of (`group`, `account`): checked and counted as a failure before the
/// password is verified. Code 5 when a limit is reached (nothing counted then).
pub async fn login_attempt(ctx: &Ctx, group: &str, account: &str) -> Result<(), AppError> {
    match guard(ctx, group, account, Mode::Attempt).await? {
        login_guard::Outcome::Allowed => Ok(()),
        login_guard::Outcome::Refused { retry_after_ms, which } => {
            metrics::counter!("matchday_logic_password_refused_total", "reason" => "login_failures").increment(1);
            let what = match which {
                Limit::Pair => "failed logins for this account from this address",
                Limit::Address => "failed logins from this address",
                Limit::Account => "failed logins for this account",
            };
            Err(refused(&format!("too many {what}"), retry_after_ms))
        }
    }
}

/// A login of (`group`, `account`) succeeded: its counted attempt is taken back, the pair's count
/// cleared, and the pair known (exempt from the address and account limits) for a while.
pub async fn login_succeeded(ctx: &Ctx, group: &str, account: &str) -> Result<(), AppError> {
    guard(ctx, group, account, Mode::Success).await?;
    Ok(())
}

async fn guard(ctx: &Ctx, group: &str, account: &str, mode: Mode) -> Result<login_guard::Outcome, AppError> {
    let c = &ctx.cfg;
    let args = login_guard::Args {
        addr_group: group,
        account,
        mode,
        window_ms: c.login_failure_window_s * 1000,
        pair_limit: c.login_max_failures_per_addr_user,
        addr_limit: c.login_max_failures_per_addr,
        account_limit: c.login_max_failures_per_user,
        known_ttl_ms: c.login_known_ttl_s * 1000,
    };
    Ok(login_guard::call(&ctx.redis, &args).await?)
}

/// Code 5 with the seconds to wait.
pub(crate) fn refused(what: &str, retry_ms: u64) -> AppError {
    let retry_after_s = retry_ms.div_ceil(1000).max(1);
    AppError::new(ErrorCode::RateLimited, format!("{what}; try again in {retry_after_s} s"))
        .with_details(serde_json::json!({ "retry_after_s": retry_after_s }))
}

/// The player's current password, checked as a login checks it before a change made in their name
/// (204, 210): a place in the hashing queue, the password-work rates of the address group, and the
/// failed-login limit of this account from there, counted as a failure until it matches. A wrong
/// password is 1001 with `wrong`.
pub async fn check_password(
    ctx: &Ctx,
    addr: &str,
    username: &str,
    password: String,
    phc: Option<String>,
    wrong: &'static str,
) -> Result<(), AppError> {
    let account = username.to_lowercase();
    let group = common::net::addr_group(addr);
    let place = ctx.hasher.reserve()?;
    check_rates(ctx, &password_rates(ctx, &group)).await?;
    login_attempt(ctx, &group, &account).await?;
    if !place.verify(password, phc).await? {
        return Err(AppError::new(ErrorCode::BadCredentials, wrong));
    }
    login_succeeded(ctx, &group, &account).await
}
