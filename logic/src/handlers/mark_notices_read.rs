//! 215 mark_notices_read `{ notice_ids }` or `{ all: true }` → `{ unread }`: marks notices of the
//! player's board read (at most 100 ids at once; ids not on their board are ignored), or the whole
//! board; answers how many are still unread.

use protocol::body::{MarkNoticesRead, Unread};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

/// The most ids one request marks.
const MAX_IDS: usize = 100;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let MarkNoticesRead { notice_ids, all } = req.body()?;
    if notice_ids.is_empty() != all {
        return Err(AppError::invalid_body("give notice_ids (1 to 100 ids) or all: true"));
    }
    if notice_ids.len() > MAX_IDS {
        return Err(AppError::invalid_body(format!("notice_ids: at most {MAX_IDS}")));
    }
    let board = common::notices::of_user(&ctx.redis, uid, common::time::now_ms()).await?;
    let marked: Vec<&str> =
        board.iter().map(|n| n.id.as_str()).filter(|id| all || notice_ids.iter().any(|m| m == id)).collect();
    common::notices::mark_read(&ctx.redis, uid, &marked).await?;
    let read = common::notices::read_marks(&ctx.redis, uid, &board).await?;
    Reply::new(&Unread { unread: read.iter().filter(|r| !**r).count() as u32 })
}
