//! 302 match detail `{ match_id }` → `match`. A match pending approval does not exist for clients (1007).

use common::matches;
use protocol::ErrorCode;
use protocol::body::{MatchRef, MatchView};
use protocol::matches::MatchState;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let MatchRef { match_id } = req.body()?;
    let m = matches::load(&ctx.redis, match_id).await?;
    match m {
        Some(m) if m.state != MatchState::Pending => Reply::new(&MatchView::from(&m)),
        _ => Err(AppError::new(ErrorCode::NotFound, format!("no match {match_id}"))),
    }
}
