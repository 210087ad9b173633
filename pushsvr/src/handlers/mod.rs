//! One handler per event kind; [`handle`] dispatches. A handler returns Err only for a failure worth
//! retrying (Redis away): the event stays inflight and is handled again, so a push may be delivered
//! twice, never lost (at-least-once, like every queue here).

mod announcement;
mod auto_start;
mod balance;
mod bet_settled;
mod match_state;
mod match_updated;
mod notice;
mod reminder;
mod subscribers;
mod user_push;

use common::events::Event;

use crate::Ctx;

/// The `kind` of an event, for spans and metrics.
pub fn kind(event: &Event) -> &'static str {
    match event {
        Event::BetSettled { .. } => "bet_settled",
        Event::MatchState { .. } => "match_state",
        Event::MatchUpdated { .. } => "match_updated",
        Event::Notice { .. } => "notice",
        Event::Announcement { .. } => "announcement",
        Event::Balance { .. } => "balance",
        Event::Reminder { .. } => "reminder",
        Event::AutoStart { .. } => "auto_start",
        Event::UserPush { .. } => "user_push",
    }
}

/// Handles one event.
pub async fn handle(ctx: &Ctx, event: &Event) -> anyhow::Result<()> {
    match event {
        Event::BetSettled { uid, bet_id, match_id, market_id, result, payout, balance, .. } => {
            let bet = bet_settled::Settled {
                bet_id: *bet_id,
                match_id: *match_id,
                market_id: market_id.unwrap_or(*match_id),
            };
            bet_settled::handle(ctx, *uid, bet, result, *payout, *balance).await
        }
        Event::MatchState { match_id, market_id, state, action, .. } => {
            let market_id = market_id.unwrap_or(*match_id);
            match_state::handle(ctx, *match_id, market_id, *state).await?;
            match subscribers::event_of(action) {
                Some(event) if market_id == *match_id => subscribers::handle(ctx, *match_id, event).await,
                _ => Ok(()),
            }
        }
        Event::MatchUpdated { match_id, .. } => match_updated::handle(ctx, *match_id).await,
        Event::Notice { id } => notice::handle(ctx, id).await,
        Event::Announcement { id, text, .. } => announcement::handle(ctx, id, text).await,
        Event::Balance { uid, balance, reason, .. } => balance::handle(ctx, *uid, *balance, reason).await,
        Event::Reminder { match_id } => reminder::handle(ctx, *match_id).await,
        Event::AutoStart { match_id } => auto_start::handle(ctx, *match_id).await,
        Event::UserPush { uid, id, body, .. } => user_push::handle(ctx, *uid, *id, body).await,
    }
}
