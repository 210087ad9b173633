//! 304 watch a match `{ match_id, watch? }` → `{}`: while watched, every change staff make to the
//! match (an edit of it or of one of its markets) is pushed to the user (905, the match as it is
//! now). `watch: false` stops. Watching is per user, kept for 7 days after the last 304; a match
//! pending approval, a market's own id and an unknown id answer 1007.

use common::matches;
use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::{Empty, WatchMatch};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

/// How long a watch lasts after the last 304 for the match, ms.
const WATCH_TTL_MS: i64 = 7 * 24 * 3_600_000;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let WatchMatch { match_id, watch } = req.body()?;
    match matches::load(&ctx.redis, match_id).await? {
        Some(m) if m.is_for_clients() => {}
        _ => return Err(AppError::new(ErrorCode::NotFound, format!("no match {match_id}"))),
    }
    let key = ctx.redis.keys.match_watchers(match_id);
    if watch {
        let pipe = ctx.redis.pool.next().pipeline();
        let _: () = pipe.sadd(&key, uid).await?;
        let _: () = pipe.pexpire(&key, WATCH_TTL_MS, None).await?;
        let _: Vec<fred::types::Value> = pipe.all().await?;
    } else {
        let _: i64 = ctx.redis.pool.srem(&key, uid).await?;
    }
    Reply::new(&Empty {})
}
