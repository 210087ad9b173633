//! 103 resume `{ token }` → `{ user_id, token, balance }`: a reconnecting client logs in again with
//! the token of an earlier login; the session's TTL restarts. An unknown or expired token is 1008.

use fred::prelude::*;
use protocol::body::{ResumeRequest, SessionReply};
use protocol::{Bind, ErrorCode};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let ResumeRequest { token } = req.body()?;
    let sid = session::session_id(&token);
    let key = ctx.redis.keys.session(&sid);
    let pipe = ctx.redis.pool.next().pipeline();
    let _: () = pipe.get(&key).await?;
    let _: () = pipe.expire(&key, ctx.cfg.session_ttl_s as i64, None).await?;
    let (uid, _): (Option<u64>, i64) = pipe.all().await?;
    let uid = uid.ok_or_else(|| AppError::code(ErrorCode::SessionExpired))?;
    let balance = super::balance_of(ctx, uid).await?;
    Ok(Reply::new(&SessionReply { user_id: uid, token, balance })?.binding(Bind { uid, sid }))
}
