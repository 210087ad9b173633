//! `bet_settled` → 901 to the bettor, and 904 when coins moved (a payout or a refund). Both go the
//! same way in one step: to the user's connections, or together into the inbox.

use protocol::body::{BalancePush, BetSettledPush};
use protocol::msg::{PUSH_BALANCE, PUSH_BET_SETTLED};

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

/// Which bet was settled, on which match and market.
#[derive(Clone, Copy, Debug)]
pub struct Settled {
    pub bet_id: u64,
    pub match_id: u64,
    pub market_id: u64,
}

pub async fn handle(ctx: &Ctx, uid: u64, bet: Settled, result: &str, payout: i64, balance: i64) -> anyhow::Result<()> {
    let Settled { bet_id, match_id, market_id } = bet;
    let settled = BetSettledPush { bet_id, match_id, market_id, result: result.to_owned(), payout, balance };
    let mut pushes = vec![Push::new(PUSH_BET_SETTLED, &settled)?];
    if payout > 0 {
        let reason = if result == "refunded" { "refund" } else { "payout" };
        pushes.push(Push::new(PUSH_BALANCE, &BalancePush { balance, reason: reason.to_owned() })?);
    }
    let d = deliver::to_user(ctx, uid, &pushes, Offline::Keep).await?;
    tracing::debug!(user.id = uid, bet.id = bet_id, connections = d.connections, kept = d.kept, "bet settled pushed");
    Ok(())
}
