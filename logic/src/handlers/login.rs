//! 102 login `{ username, password }` → `{ user_id, token, balance }`, and connect binds the
//! connection to the user. Unknown names and wrong passwords get the same 1001, after the same work.
//!
//! Before any hashing (docs/security.md): a place in the hashing queue (code 5 when full), the
//! password-work rates of the client's address group and of the deployment, then the failed-login
//! limit, checked and counted as a failure in one step (`login_guard.lua`) and taken back on
//! success — so a burst of guesses gets at most the limit evaluated, the rest code 5 with the
//! seconds to wait. A banned account with the right password is refused with 1009 (a wrong one is
//! 1001, as for anyone).

use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::Credentials;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::{session, throttle};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Credentials { username, password } = req.body()?;
    let keys = &ctx.redis.keys;
    let name = username.to_lowercase();
    let group = common::net::addr_group(&req.head.addr);
    let place = ctx.hasher.reserve()?;
    throttle::check_rates(ctx, &throttle::password_rates(ctx, &group)).await?;
    throttle::login_attempt(ctx, &group, &name).await?;
    let uid: Option<u64> = ctx.redis.pool.hget(keys.uname(&name), "uid").await?;
    let phc: Option<String> = match uid {
        Some(uid) => ctx.redis.pool.hget(keys.user(uid), "pw").await?,
        None => None,
    };
    // The attempt is already counted as a failure: a wrong password needs nothing more.
    let (Some(uid), true) = (uid, place.verify(password, phc).await?) else {
        return Err(AppError::code(ErrorCode::BadCredentials));
    };
    throttle::login_succeeded(ctx, &group, &name).await?;
    session::open(ctx, uid, None).await
}
