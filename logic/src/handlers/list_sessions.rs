//! 207 list_sessions `{}` → `{ items: [{ session_id, created_at, expires_at, current }] }`: the
//! player's live sessions (each device or app logged in), soonest expiry first.

use protocol::body::{Items, SessionView};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let current = req.head.sid.as_deref();
    let items = session::of_user(ctx, uid)
        .await?
        .into_iter()
        .map(|(sid, created_at, expires_at)| SessionView {
            session_id: session::public_id(&sid).to_owned(),
            created_at,
            expires_at,
            current: Some(sid.as_str()) == current,
        })
        .collect();
    Reply::new(&Items { items })
}
