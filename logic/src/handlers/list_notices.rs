//! 214 list_notices `{ offset?, limit? }` → `{ items: [notice], unread }`: the player's board —
//! the newest notices for everyone, for them, and for the bettors of matches they bet on
//! (`common::notices::of_user`), newest first, each with whether they marked it read (215);
//! `unread` counts the whole board's.

use protocol::body::{Notices, Page};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let Page { offset, limit } = req.body()?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    let board = common::notices::of_user(&ctx.redis, uid, common::time::now_ms()).await?;
    let read = common::notices::read_marks(&ctx.redis, uid, &board).await?;
    let unread = read.iter().filter(|r| !**r).count() as u32;
    let items = board.iter().zip(read).skip(offset).take(limit).map(|(n, read)| n.view(read)).collect();
    Reply::new(&Notices { items, unread })
}
