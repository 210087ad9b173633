//! 201 profile `{}` → `{ user_id, username, created_at, nickname?, avatar_url?, guest? }` of the
//! logged-in user (`guest`: a 105 account not linked yet).

use fred::prelude::*;
use protocol::body::ProfileReply;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    Reply::new(&of(ctx, req.uid()?).await?)
}

/// The profile of `uid` as 201 and 205 answer it.
pub(crate) async fn of(ctx: &Ctx, uid: u64) -> Result<ProfileReply, AppError> {
    type Fields = (Option<String>, Option<u64>, Option<String>, Option<String>, Option<String>);
    let (username, created_at, nickname, avatar_url, device): Fields = ctx
        .redis
        .pool
        .hmget(ctx.redis.keys.user(uid), vec!["username", "created_at", "nickname", "avatar", "device"])
        .await?;
    match (username, created_at) {
        (Some(username), Some(created_at)) => {
            Ok(ProfileReply { user_id: uid, username, created_at, nickname, avatar_url, guest: device.is_some() })
        }
        _ => Err(AppError::internal(format!("user {uid} is logged in but has no profile"))),
    }
}
