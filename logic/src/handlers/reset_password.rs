//! 106 reset_password `{ username, code, new_password }` → `{ user_id, revoked }`: a player who
//! forgot their password sets a new one with the one-time code staff issued them (gm `POST
//! /api/users/{id}/password-reset`, good for an hour). Checked as a login is — the hashing queue,
//! the password-work rates, the failed-login limit of the account from the address (a wrong code
//! counts as a failed login) — and a wrong name or code is 1001, told apart by nothing. The code is
//! used up, the password set and **every** session of the account ended (`password_change.lua`;
//! live connections closed with 1008 "session ended"), recorded as `password_reset` in the
//! account's history. Then log in.

use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::{PasswordReset, ResetPassword};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let ResetPassword { username, code, new_password } = req.body()?;
    super::register::validate_password("new_password", &new_password)?;
    let keys = &ctx.redis.keys;
    let account = username.to_lowercase();
    let group = common::net::addr_group(&req.head.addr);
    let place = ctx.hasher.reserve()?;
    throttle::check_rates(ctx, &throttle::password_rates(ctx, &group)).await?;
    throttle::login_attempt(ctx, &group, &account).await?;
    let wrong = || AppError::new(ErrorCode::BadCredentials, "bad username or reset code");
    let uid: u64 = ctx.redis.pool.hget::<Option<u64>, _, _>(keys.uname(&account), "uid").await?.ok_or_else(wrong)?;
    let digest: Option<String> = ctx.redis.pool.hget(keys.pw_reset(uid), "digest").await?;
    if digest.as_deref() != Some(common::users::reset_digest(&code).as_str()) {
        return Err(wrong());
    }
    // Used up here: a second use of the same code (racing this one) finds nothing.
    if ctx.redis.pool.del::<i64, _>(keys.pw_reset(uid)).await? != 1 {
        return Err(wrong());
    }
    throttle::login_succeeded(ctx, &group, &account).await?;
    let phc = place.hash(new_password).await?;
    let conn = (req.head.node.as_str(), req.head.conn);
    let busy = "the account's sessions kept changing; ask for a new code";
    match crate::session::set_password(ctx, uid, &phc, None, conn, "password_reset", busy).await? {
        Some(revoked) => Reply::new(&PasswordReset { user_id: uid, revoked: revoked as u32 }),
        None => Err(wrong()),
    }
}
