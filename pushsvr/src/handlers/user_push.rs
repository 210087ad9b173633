//! `user_push` (from a Lua handler module: `ctx.push`, `ctx.schedule`) → its msg id and body to the
//! user, online or kept in the inbox.

use protocol::MsgId;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};

pub async fn handle(ctx: &Ctx, uid: u64, id: MsgId, body: &serde_json::Value) -> anyhow::Result<()> {
    let push = Push::new(id, body)?;
    let d = deliver::to_user(ctx, uid, &[push], Offline::Keep).await?;
    tracing::debug!(user.id = uid, msg.id = id, connections = d.connections, kept = d.kept, "extension push sent");
    Ok(())
}
