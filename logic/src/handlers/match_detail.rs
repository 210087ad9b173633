//! 302 match detail `{ match_id }` → `match`, with its markets. A match pending approval does not exist for clients (1007).

use common::matches;
use protocol::ErrorCode;
use protocol::body::MatchRef;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let MatchRef { match_id } = req.body()?;
    let m = matches::load(&ctx.redis, match_id).await?;
    match m {
        // A market's own id is no match (its match lists it).
        Some(m) if m.is_for_clients() => {
            let markets = matches::markets_of(&ctx.redis, std::slice::from_ref(&m)).await?;
            Reply::new(&m.view(&markets[0]))
        }
        _ => Err(AppError::new(ErrorCode::NotFound, format!("no match {match_id}"))),
    }
}
