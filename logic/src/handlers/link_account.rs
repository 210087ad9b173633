//! 209 link_account `{ username, password }` → `{ user_id, username }`: a guest (105) takes a
//! username and password and keeps everything else — its user id, coins, ledger, bets, boards. The
//! name and password are checked as at 101 register, the password hashed (the hashing queue and
//! the password-work rates first), the name claimed in its own shard (`uname_claim.lua`: 1002 when
//! taken), then `account_link.lua` gives the user the name and password and removes the device's
//! index: the device no longer logs in as the guest (a new 105 from it starts a new guest). An
//! account that has a username already is 1011. The same frame delivered again answers the same.

use common::store::{account_link, uname_claim, uname_release};
use fred::prelude::HashesInterface;
use protocol::ErrorCode;
use protocol::body::{Credentials, Linked};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let Credentials { username, password } = req.body()?;
    super::register::validate_username(&username)?;
    super::register::validate_password("password", &password)?;
    let (device, link): (Option<String>, Option<String>) =
        ctx.redis.pool.hmget(ctx.redis.keys.user(uid), vec!["device", "link"]).await?;
    let trace = req.head.trace.as_str();
    let Some(device) = device else {
        // Linked already: by this frame (delivered again), or before.
        return match link.as_deref() == Some(trace) {
            true => Reply::new(&Linked { user_id: uid, username }),
            false => Err(AppError::code(ErrorCode::AlreadyLinked)),
        };
    };
    let place = ctx.hasher.reserve()?;
    let group = common::net::addr_group(&req.head.addr);
    throttle::check_rates(ctx, &throttle::password_rates(ctx, &group)).await?;
    let phc = place.hash(password).await?;
    let claim = uname_claim::Args { uid, username: &username, trace };
    if uname_claim::call(&ctx.redis, &claim).await? == uname_claim::Outcome::UsernameTaken {
        return Err(AppError::code(ErrorCode::UsernameTaken));
    }
    let args = account_link::Args {
        uid,
        device: &device,
        username: &username,
        phc: &phc,
        now_ms: common::time::now_ms(),
        trace,
    };
    let refused = match account_link::call(&ctx.redis, &args).await? {
        account_link::Outcome::Linked => return Reply::new(&Linked { user_id: uid, username }),
        account_link::Outcome::NotGuest => AppError::code(ErrorCode::AlreadyLinked),
        account_link::Outcome::NoUser => AppError::new(ErrorCode::NotFound, "the account is closed"),
    };
    // Linked meanwhile by another frame, or closed: the name claimed above goes back, unless that
    // other frame linked this very name.
    let now: Option<String> = ctx.redis.pool.hget(ctx.redis.keys.user(uid), "username").await?;
    if now.is_none_or(|n| !n.eq_ignore_ascii_case(&username)) {
        let release = uname_release::Args { uid, username: &username, hold_s: 0 };
        uname_release::call(&ctx.redis, &release).await?;
    }
    Err(refused)
}
