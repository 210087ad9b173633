//! 204 change_password `{ old_password, new_password }` → `{ revoked }`: the current password is
//! checked as a login checks it (the hashing queue, the password-work rates and the failed-login
//! limit of this account from this address; a wrong one is 1001), the new one hashed, and
//! `password_change.lua` sets it and ends every other session of the player in one step (their
//! tokens no longer resume, and their live connections are closed with 1008 "session ended"). The
//! asking connection stays logged in.

use fred::prelude::*;
use protocol::body::{ChangePassword, SessionsRevoked};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

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
    let conn = (req.head.node.as_str(), req.head.conn);
    let busy = "your sessions kept changing while the password was changed; try again";
    match crate::session::set_password(ctx, uid, &phc, req.head.sid.as_deref(), conn, "password_changed", busy).await? {
        Some(revoked) => Reply::new(&SessionsRevoked { revoked: revoked as u32 }),
        None => Err(AppError::internal(format!("user {uid} is logged in but does not exist"))),
    }
}
