//! 203 ledger `{ offset?, limit? }` → `{ items: [{ delta, balance, reason, ref, ts }] }`, newest first.

use bytes::Bytes;
use fred::prelude::*;
use protocol::body::{Items, LedgerItem, Page};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let Page { offset, limit } = req.body()?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    if limit == 0 {
        return Reply::new(&Items::<LedgerItem> { items: Vec::new() });
    }
    let raw: Vec<Bytes> =
        ctx.redis.pool.lrange(ctx.redis.keys.ledger(uid), offset as i64, (offset + limit) as i64 - 1).await?;
    let items = raw
        .iter()
        .map(|r| rmp_serde::from_slice::<LedgerItem>(r).map_err(|e| AppError::internal(format!("ledger record: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Reply::new(&Items { items })
}
