//! `match_updated` (staff edited a match or one of its markets) → 905, the match as it is now
//! (the 302 shape, with its markets), to everyone watching it (304) and to the bettors of any of
//! its markets who are online. Offline users get nothing: 302 reads it when they come back.

use fred::prelude::*;
use protocol::msg::PUSH_MATCH_UPDATED;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

pub async fn handle(ctx: &Ctx, match_id: u64) -> anyhow::Result<()> {
    let Some(m) = common::matches::load(&ctx.redis, match_id).await? else {
        tracing::debug!(match.id = match_id, "match_updated for a match that does not exist; skipped");
        return Ok(());
    };
    let markets = common::matches::markets_of(&ctx.redis, std::slice::from_ref(&m)).await?;
    let push = Push::new(PUSH_MATCH_UPDATED, &m.view(&markets[0]))?;
    let watchers: Vec<u64> = ctx.redis.pool.smembers(ctx.redis.keys.match_watchers(match_id)).await?;
    let ids: Vec<u64> = std::iter::once(match_id).chain(m.markets.iter().copied()).collect();
    let mut users = deliver::bettors(ctx, &ids).await?;
    users.extend(watchers);
    let reached = deliver::to_users(ctx, users, &[push], Offline::Drop).await?;
    tracing::debug!(match.id = match_id, ver = m.ver, users = reached, "match update pushed to watchers and bettors");
    Ok(())
}
