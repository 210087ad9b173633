//! 305 subscribe to a match `{ match_id, subscribe? }` → `{ match_id, subscribed }`: a reservation.
//! pushsvr tells subscribers when the match opens for bets, starts, and has its result (906) — on
//! the WebSocket while they are online, through the app's push service (211) while they are not.
//! `subscribe: false` cancels it. Kept in the user's shard (`match:{mid}:subscribers`), like the
//! match's bettors, for 90 days after the last subscription to the match there. A match pending
//! approval, a market's own id and an unknown id answer 1007.

use common::matches;
use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::{SubscribeMatch, Subscribed};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

/// How long a match's subscribers are kept after the last subscription in a shard, ms.
const SUBSCRIPTION_TTL_MS: i64 = 90 * 24 * 3_600_000;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let SubscribeMatch { match_id, subscribe } = req.body()?;
    match matches::load(&ctx.redis, match_id).await? {
        Some(m) if m.is_for_clients() => {}
        _ => return Err(AppError::new(ErrorCode::NotFound, format!("no match {match_id}"))),
    }
    let key = ctx.redis.keys.match_subscribers(common::shards::of_uid(uid), match_id);
    if subscribe {
        let pipe = ctx.redis.pool.next().pipeline();
        let _: () = pipe.sadd(&key, uid).await?;
        let _: () = pipe.pexpire(&key, SUBSCRIPTION_TTL_MS, None).await?;
        let _: Vec<fred::types::Value> = pipe.all().await?;
    } else {
        let _: i64 = ctx.redis.pool.srem(&key, uid).await?;
    }
    Reply::new(&Subscribed { match_id, subscribed: subscribe })
}
