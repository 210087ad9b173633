//! 402 my bets `{ offset?, limit? }` → `{ items: [bet] }`, newest first (by the time placed, then
//! id: the user's bets are one hash, `common::bets`).

use protocol::body::{BetView, Items, Page};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let Page { offset, limit } = req.body()?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    if limit == 0 {
        return Reply::new(&Items::<BetView> { items: Vec::new() });
    }
    let bets = common::bets::all_of_user(&ctx.redis, uid).await?;
    let items = bets.iter().skip(offset).take(limit).map(|b| b.view()).collect();
    Reply::new(&Items { items })
}
