//! 102 login `{ username, password }` → `{ user_id, token, balance }`, and connect binds the
//! connection to the user. Unknown names and wrong passwords get the same 1001, after the same work.

use fred::prelude::*;
use protocol::body::{Credentials, SessionReply};
use protocol::{Bind, ErrorCode};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Credentials { username, password } = req.body()?;
    let keys = &ctx.redis.keys;
    let uid: Option<u64> = ctx.redis.pool.hget(keys.uname(&username.to_lowercase()), "uid").await?;
    let phc: Option<String> = match uid {
        Some(uid) => ctx.redis.pool.hget(keys.user(uid), "pw").await?,
        None => None,
    };
    let (Some(uid), true) = (uid, ctx.hasher.verify(password, phc).await?) else {
        return Err(AppError::code(ErrorCode::BadCredentials));
    };
    open_session(ctx, uid).await
}

/// Creates a session for `uid` and answers it with a bind.
pub(super) async fn open_session(ctx: &Ctx, uid: u64) -> Result<Reply, AppError> {
    let token = session::new_token();
    let sid = session::session_id(&token);
    let ttl = Expiration::EX(ctx.cfg.session_ttl_s as i64);
    let _: () = ctx.redis.pool.set(ctx.redis.keys.session(&sid), uid, Some(ttl), None, false).await?;
    let balance = super::balance_of(ctx, uid).await?;
    Ok(Reply::new(&SessionReply { user_id: uid, token, balance })?.binding(Bind { uid, sid }))
}
