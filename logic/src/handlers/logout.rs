//! 104 logout `{}` → `{}`: ends the connection's session (its token no longer resumes; it leaves the
//! user's session index) and connect unbinds the connection. Logging out when not logged in is a
//! no-op success.

use fred::prelude::*;
use protocol::body::Empty;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    if let Some(sid) = &req.head.sid {
        let keys = &ctx.redis.keys;
        let pipe = ctx.redis.pool.next().pipeline();
        let _: () = pipe.del(keys.session(sid)).await?;
        if let Some(uid) = req.head.uid {
            let _: () = pipe.zrem(keys.sessions(uid), sid.as_str()).await?;
        }
        let _: Vec<i64> = pipe.all().await?;
    }
    Ok(Reply::new(&Empty {})?.unbinding())
}
