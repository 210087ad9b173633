//! `auto_start` (due at a match's start time) → the `start` transition: betting stops and the match
//! goes live, unless staff have started, cancelled or otherwise moved it already — then there is
//! nothing to do. The match's markets start with it. Each transition emits its own `match_state`
//! event (902 to bettors).

use common::matches::act;
use common::store::match_transition::Outcome;
use protocol::matches::Action;

use crate::Ctx;

pub async fn handle(ctx: &Ctx, match_id: u64) -> anyhow::Result<()> {
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
