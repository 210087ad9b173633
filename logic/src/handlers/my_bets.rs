//! 402 my bets `{ offset?, limit? }` → `{ items: [bet] }`, newest first.

use std::collections::HashMap;

use common::Redis;
use fred::prelude::*;
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
    let k = &ctx.redis.keys;
    let ids: Vec<u64> = ctx.redis.pool.lrange(k.user_bets(uid), offset as i64, (offset + limit) as i64 - 1).await?;
    if ids.is_empty() {
        return Reply::new(&Items::<BetView> { items: Vec::new() });
    }
    let pipe = ctx.redis.pool.next().pipeline();
    for bid in &ids {
        let _: () = pipe.hgetall(k.bet(*bid)).await?;
    }
    let hashes: Vec<HashMap<String, String>> = Redis::each(pipe).await?;
    let mut items = Vec::with_capacity(hashes.len());
    for h in &hashes {
        if let Some(b) = common::bets::view(h).map_err(AppError::internal)? {
            items.push(b);
        }
    }
    Reply::new(&Items { items })
}
