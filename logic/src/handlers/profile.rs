//! 201 profile `{}` → `{ user_id, username, created_at }` of the logged-in user.

use fred::prelude::*;
use protocol::body::ProfileReply;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let (username, created_at): (Option<String>, Option<u64>) =
        ctx.redis.pool.hmget(ctx.redis.keys.user(uid), vec!["username", "created_at"]).await?;
    match (username, created_at) {
        (Some(username), Some(created_at)) => Reply::new(&ProfileReply { user_id: uid, username, created_at }),
        _ => Err(AppError::internal(format!("user {uid} is logged in but has no profile"))),
    }
}
