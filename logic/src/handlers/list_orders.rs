//! 213 list_orders `{ offset?, limit? }` → `{ items: [order] }`: the player's newest deposit orders
//! (the last `orders.list_max`), newest first, each `created`, `paid` or `expired`.

use protocol::body::{Items, Page};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let Page { offset, limit } = req.body()?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    let items = common::orders::page(&ctx.redis, &ctx.orders, uid, offset, limit, common::time::now_ms()).await?;
    Reply::new(&Items { items })
}
