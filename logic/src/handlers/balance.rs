//! 202 balance `{}` → `{ balance }` of the logged-in user, in coins.

use protocol::body::BalanceReply;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let balance = super::balance_of(ctx, req.uid()?).await?;
    Reply::new(&BalanceReply { balance })
}
