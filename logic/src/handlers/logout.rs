//! 104 logout `{}` → `{}`: ends the connection's session (its token no longer resumes) and connect
//! unbinds the connection. Logging out when not logged in is a no-op success.

use fred::prelude::*;
use protocol::body::Empty;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    if let Some(sid) = &req.head.sid {
        let _: i64 = ctx.redis.pool.del(ctx.redis.keys.session(sid)).await?;
    }
    Ok(Reply::new(&Empty {})?.unbinding())
}
