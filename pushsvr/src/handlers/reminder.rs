//! `reminder` (due `pushsvr.reminder_before_ms` before a match starts) → 903
//! `{ text: "<title> starts in N minutes", match_id }` to the bettors of any of the match's
//! markets, once each, online or kept in the inbox. Skipped when the match has started, ended or
//! been called off meanwhile.

use protocol::body::AnnouncementPush;
use protocol::matches::MatchState;
use protocol::msg::PUSH_ANNOUNCEMENT;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

pub async fn handle(ctx: &Ctx, match_id: u64) -> anyhow::Result<()> {
    let Some(m) = common::matches::load(&ctx.redis, match_id).await? else {
        tracing::debug!(match.id = match_id, "reminder for a match that does not exist; skipped");
        return Ok(());
    };
    let now = common::time::now_ms();
    let upcoming = matches!(m.state, MatchState::NotStarted | MatchState::Stopped | MatchState::Open);
    if !upcoming || m.live || m.start_at <= now {
        tracing::debug!(match.id = match_id, state = m.state.code(), live = m.live, "reminder for a match under way or over; skipped");
        return Ok(());
    }
    // Staff may have moved the start (match_edit.lua schedules another reminder): one due for the
    // old time, well before the new one's, does nothing.
    let lead = ctx.cfg.reminder_before_ms;
    if lead > 0 && m.start_at - now > lead + STALE_MS {
        tracing::debug!(match.id = match_id, start_at = m.start_at, "reminder for an earlier start time; skipped");
        return Ok(());
    }
    let text = format!("{} starts in {}", m.title, minutes(m.start_at - now));
    let push = Push::new(
        PUSH_ANNOUNCEMENT,
        &AnnouncementPush { text, match_id: Some(match_id), notice_id: None, title: None },
    )?;
    let markets: Vec<u64> = std::iter::once(match_id).chain(m.markets.iter().copied()).collect();
    let users = deliver::to_bettors(ctx, &markets, &[push], Offline::Keep).await?;
    tracing::debug!(match.id = match_id, users, "reminder sent to bettors");
    Ok(())
}

/// How much later than its lead a reminder may come for the start time it was made for.
const STALE_MS: u64 = 60_000;

/// "1 minute", "10 minutes": whole minutes, rounded up.
fn minutes(ms: u64) -> String {
    match ms.div_ceil(60_000) {
        1 => "1 minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn minutes_round_up() {
        assert_eq!(super::minutes(1), "1 minute");
        assert_eq!(super::minutes(60_000), "1 minute");
        assert_eq!(super::minutes(60_001), "2 minutes");
        assert_eq!(super::minutes(600_000), "10 minutes");
    }
}
