//! 204 change_password `{ old_password, new_password }` → `{ revoked }`: the current password is
//! checked as a login checks it (the hashing queue, the password-work rates and the failed-login
//! limit of this account from this address; a wrong one is 1001), the new one hashed, and
//! `password_change.lua` sets it and ends every other session of the player in one step (their
//! tokens no longer resume, and their live connections are closed with 1008 "session ended"). The
//! asking connection stays logged in.

use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::{ChangePassword, SessionsRevoked};

use common::store::password_change::{self, Outcome};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

/// Reads of the session index before giving up on a player logging in again and again meanwhile.
const ATTEMPTS: usize = 5;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let ChangePassword { old_password, new_password } = req.body()?;
    super::register::validate_password("new_password", &new_password)?;
    let keys = &ctx.redis.keys;
    let (username, phc): (Option<String>, Option<String>) =
        ctx.redis.pool.hmget(keys.user(uid), vec!["username", "pw"]).await?;
    let name = username.unwrap_or_default();
    throttle::check_password(ctx, &req.head.addr, &name, old_password, phc, "the current password is wrong").await?;
    let phc = ctx.hasher.reserve()?.hash(new_password).await?;
    for _ in 0..ATTEMPTS {
        let sids: Vec<String> = ctx.redis.pool.zrange(keys.sessions(uid), 0, -1, None, false, None, false).await?;
        let args = password_change::Args {
            uid,
            phc: &phc,
            keep: req.head.sid.as_deref(),
            sids: &sids,
            now_ms: common::time::now_ms(),
            event: "password_changed",
        };
        match password_change::call(&ctx.redis, &args).await? {
            Outcome::Changed { revoked } => {
                crate::session::close_others(ctx, uid, (&req.head.node, req.head.conn)).await?;
                return Reply::new(&SessionsRevoked { revoked: revoked as u32 });
            }
            Outcome::IndexChanged => continue,
            Outcome::NoUser => return Err(AppError::internal(format!("user {uid} is logged in but does not exist"))),
        }
    }
    Err(AppError::new(ErrorCode::Unavailable, "your sessions kept changing while the password was changed; try again"))
}
