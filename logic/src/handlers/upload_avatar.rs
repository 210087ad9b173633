//! 206 upload_avatar `{ content_type, data }` → the profile (as 201): the player's picture,
//! uploaded. Checked (`avatars::check`: PNG, JPEG or WebP, its signature agreeing, at most
//! `logic.avatar_max_bytes`; else 7 naming the field), kept in the avatar store under a name made
//! of its owner and content, and set as the profile's avatar URL (`logic.avatar_public_url` + the
//! name) by `profile_set.lua`, as 205 sets one — the picture it replaces, if it was an upload, is
//! removed. With no public URL configured uploads are refused (7). A store that fails is 6
//! (try again).

use common::store::profile_set::{self, Outcome};
use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::UploadAvatar;

use crate::avatars;
use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let UploadAvatar { content_type, data } = req.body()?;
    let base = &ctx.cfg.avatar_public_url;
    if base.is_empty() {
        return Err(AppError::invalid_body("avatar uploads are not enabled here: set an avatar_url (205)"));
    }
    let ext = avatars::check(&content_type, &data, ctx.cfg.avatar_max_bytes).map_err(AppError::invalid_body)?;
    let name = avatars::name(uid, &data, ext);
    let unavailable = |e: std::io::Error| {
        tracing::warn!(error = %e, "avatar store failed");
        AppError::new(ErrorCode::Unavailable, "the picture could not be stored; try again")
    };
    let before: Option<String> = ctx.redis.pool.hget(ctx.redis.keys.user(uid), "avatar").await?;
    ctx.avatars.put(&name, &data).await.map_err(unavailable)?;
    let url = format!("{base}{name}");
    let args = profile_set::Args { uid, nickname: None, avatar: Some(&url), now_ms: common::time::now_ms() };
    match profile_set::call(&ctx.redis, &args).await? {
        Outcome::Changed { .. } => {}
        Outcome::NoUser => return Err(AppError::internal(format!("user {uid} is logged in but does not exist"))),
    }
    // The upload it replaces (same owner, another picture) is not shown any more.
    if let Some(old) = before.and_then(|u| u.strip_prefix(base.as_str()).map(str::to_owned))
        && old != name
        && old.starts_with(&format!("{uid}-"))
        && !old.contains('/')
        && let Err(e) = ctx.avatars.remove(&old).await
    {
        tracing::warn!(error = %e, avatar = %old, "a replaced avatar could not be removed");
    }
    Reply::new(&super::profile::of(ctx, uid).await?)
}
