//! 208 revoke_session `{ session_id }` or `{ others: true }` → `{ revoked }`: ends one of the
//! player's sessions (its token no longer resumes; 1007 when there is no such session), or every
//! session but the asking connection's (whose other live connections are then closed with 1008
//! "session ended"). A single session's live connection, if any, stays until it drops (connect does
//! not index connections by session); its token no longer resumes. Ending one's own session is
//! logout (104).

use protocol::ErrorCode;
use protocol::body::{RevokeSession, SessionsRevoked};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let RevokeSession { session_id, others } = req.body()?;
    let current = req.head.sid.as_deref();
    let live = session::of_user(ctx, uid).await?;
    let chosen: Vec<&str> = match (session_id.as_deref(), others) {
        (Some(id), false) => {
            let found: Vec<&str> =
                live.iter().map(|s| s.0.as_str()).filter(|sid| session::public_id(sid) == id).collect();
            if found.is_empty() {
                return Err(AppError::new(ErrorCode::NotFound, "no such session"));
            }
            if found.iter().any(|sid| Some(*sid) == current) {
                return Err(AppError::invalid_body("session_id: this is your own session; log out (104) to end it"));
            }
            found
        }
        (None, true) => live.iter().map(|s| s.0.as_str()).filter(|sid| Some(*sid) != current).collect(),
        _ => return Err(AppError::invalid_body("give either session_id or others: true")),
    };
    session::revoke(ctx, uid, &chosen).await?;
    if others {
        // Every other connection's session is gone: close them (1008 "session ended").
        session::close_others(ctx, uid, (&req.head.node, req.head.conn)).await?;
    }
    Reply::new(&SessionsRevoked { revoked: chosen.len() as u32 })
}
