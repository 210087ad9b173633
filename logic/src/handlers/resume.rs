//! 103 resume `{ token }` → `{ user_id, token, balance }`: a reconnecting client logs in again with
//! the token of an earlier login or resume. The token rotates: the reply carries a new token and the
//! one sent stops resuming (the same frame delivered twice answers the same new token). The
//! session's idle TTL restarts, within its absolute lifetime from login (`session.rs`). An unknown,
//! expired, logged-out, rotated-away, revoked (by a ban) or too old token is 1008; a banned user's
//! session, should one exist, is 1009.

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
    let value: Option<String> = ctx.redis.pool.get(ctx.redis.keys.session(&sid)).await?;
    let uid = value.as_deref().and_then(session::session_owner);
    let uid = uid.ok_or_else(|| AppError::code(ErrorCode::SessionExpired))?;
    // Rotated only if it still is this user's session and the user is not banned, atomically.
    session::open(ctx, uid, Some(session::Resumed { token, trace: &req.head.trace })).await
}
