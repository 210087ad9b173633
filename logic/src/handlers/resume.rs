//! 103 resume `{ token }` → `{ user_id, token, balance }`: a reconnecting client logs in again with
//! the token of an earlier login; the session's TTL restarts. An unknown, expired, logged-out or
//! revoked (by a ban) token is 1008; a banned user's session, should one exist, is 1009.

use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::ResumeRequest;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let ResumeRequest { token } = req.body()?;
    let sid = session::session_id(&token);
    let uid: Option<u64> = ctx.redis.pool.get(ctx.redis.keys.session(&sid)).await?;
    let uid = uid.ok_or_else(|| AppError::code(ErrorCode::SessionExpired))?;
    // Renewed only if it still is this user's session and the user is not banned, atomically.
    super::login::open_session(ctx, uid, Some(token)).await
}
