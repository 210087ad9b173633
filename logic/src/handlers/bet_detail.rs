//! 403 bet detail `{ bet_id }` → `bet`, for its owner only: another user's bet is 1007, as if it
//! did not exist (a bet is a field of its bettor's `user:{uid}:bets`, so only the owner's is read).

use protocol::ErrorCode;
use protocol::body::BetRef;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let BetRef { bet_id } = req.body()?;
    match common::bets::of_user(&ctx.redis, uid, bet_id).await? {
        Some(bet) => Reply::new(&bet.view()),
        None => Err(AppError::new(ErrorCode::NotFound, format!("no bet {bet_id}"))),
    }
}
