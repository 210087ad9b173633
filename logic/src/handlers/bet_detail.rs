//! 403 bet detail `{ bet_id }` → `bet`, for its owner only: another user's bet is 1007, as if it
//! did not exist.

use std::collections::HashMap;

use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::BetRef;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let BetRef { bet_id } = req.body()?;
    let h: HashMap<String, String> = ctx.redis.pool.hgetall(ctx.redis.keys.bet(bet_id)).await?;
    match common::bets::view(&h).map_err(AppError::internal)? {
        Some(bet) if common::bets::owner(&h) == Some(uid) => Reply::new(&bet),
        _ => Err(AppError::new(ErrorCode::NotFound, format!("no bet {bet_id}"))),
    }
}
