//! `match_state` → 902 to the market's bettors who are online (a match's default market is the
//! match: its bettors are the match's). Offline bettors get nothing: a state
//! change is stale news by their next login, and the match detail (302) tells the current state.

use protocol::body::MatchStatePush;
use protocol::matches::MatchState;
use protocol::msg::PUSH_MATCH_STATE;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

pub async fn handle(ctx: &Ctx, match_id: u64, market_id: u64, state: i64) -> anyhow::Result<()> {
    let Some(state) = MatchState::from_code(state) else {
        tracing::warn!(match.id = match_id, state, "match_state event with an unknown state; not pushed");
        return Ok(());
    };
    let push = Push::new(PUSH_MATCH_STATE, &MatchStatePush { match_id, market_id, state: state.code() })?;
    let users = deliver::to_bettors(ctx, &[market_id], &[push], Offline::Drop).await?;
    tracing::debug!(match.id = match_id, market.id = market_id, state = state.code(), users, "match state pushed to online bettors");
    Ok(())
}
