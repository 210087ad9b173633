//! `auto_start` (due at a match's start time) → the `start` transition: betting stops and the match
//! goes live, unless staff have started, cancelled or otherwise moved it already — then there is
//! nothing to do. The match's markets start with it. Each transition emits its own `match_state`
//! event (902 to bettors).

use common::matches::act;
use common::store::match_transition::Outcome;
use protocol::matches::Action;

use crate::Ctx;

/// How early an `auto_start` may come and still start the match (sched_due.lua moves events when
/// due; a clock a little ahead of the scheduler's must not turn a due start into a stale one).
const EARLY_MS: u64 = 5_000;

pub async fn handle(ctx: &Ctx, match_id: u64) -> anyhow::Result<()> {
    // Staff may have moved the start (match_edit.lua schedules another auto_start): one due at the
    // old time finds the start still ahead and does nothing.
    if let Some(m) = common::matches::load(&ctx.redis, match_id).await?
        && m.start_at > common::time::now_ms() + EARLY_MS
    {
        tracing::debug!(match.id = match_id, start_at = m.start_at, "auto start: the start time moved; nothing to do now");
        return Ok(());
    }
    match act(&ctx.redis, match_id, Action::Start, None, &[]).await? {
        Outcome::Done { from, to } => {
            tracing::info!(match.id = match_id, from = from.code(), to = to.code(), "match started at its start time; betting closed");
        }
        Outcome::Illegal { state, live } => {
            tracing::debug!(match.id = match_id, state = state.code(), live, "auto start: nothing to do");
        }
        Outcome::NotFound => tracing::debug!(match.id = match_id, "auto start: no such match"),
    }
    Ok(())
}
