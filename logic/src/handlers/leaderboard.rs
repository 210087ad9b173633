//! 404 leaderboard `{ board?, period?, date?, offset?, limit? }` → `{ board, period, items, me? }`:
//! a page of the net-winnings or correct-picks board of a day, a week or all time, with the player's
//! own place (common::leaderboard; settlement keeps the boards).

use common::leaderboard;
use protocol::body::LeaderboardQuery;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let LeaderboardQuery { board, period, date, offset, limit } = req.body()?;
    let (board, period) =
        leaderboard::choose(board.as_deref(), period.as_deref(), date.as_deref(), common::time::now_ms())
            .map_err(AppError::invalid_body)?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    Reply::new(&leaderboard::view(&ctx.redis, board, period, offset, limit, Some(uid)).await?)
}
