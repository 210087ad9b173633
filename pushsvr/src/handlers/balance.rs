//! `balance` (a grant, a payment) → 904 to the user, online or kept in the inbox.

use protocol::body::BalancePush;
use protocol::msg::PUSH_BALANCE;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

pub async fn handle(ctx: &Ctx, uid: u64, balance: i64, reason: &str) -> anyhow::Result<()> {
    let push = Push::new(PUSH_BALANCE, &BalancePush { balance, reason: reason.to_owned() })?;
    let d = deliver::to_user(ctx, uid, &[push], Offline::Keep).await?;
    tracing::debug!(user.id = uid, connections = d.connections, kept = d.kept, "balance pushed");
    Ok(())
}
