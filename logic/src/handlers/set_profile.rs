//! 205 set_profile `{ nickname?, avatar_url? }` → the profile (as 201): a field given changes (an
//! empty string clears it), a field left out stays. The nickname (1 to 24 characters, no control
//! characters, trimmed) is what leaderboards show; the avatar URL must be https and start with one
//! of `logic.avatar_url_prefixes`. One script (`profile_set.lua`) changes both with the profile's
//! change record (MySQL's `profiles`).

use common::store::profile_set::{self, Outcome};
use protocol::body::SetProfile;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

use protocol::fields::{AVATAR_URL_MAX as URL_MAX, NICKNAME_MAX};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let SetProfile { nickname, avatar_url } = req.body()?;
    let nickname = nickname.map(|n| n.trim().to_owned());
    if let Some(n) = &nickname
        && (n.chars().count() > NICKNAME_MAX || n.chars().any(char::is_control))
    {
        return Err(AppError::invalid_body(format!(
            "nickname: at most {NICKNAME_MAX} characters, none of them control characters"
        )));
    }
    if let Some(url) = avatar_url.as_deref().filter(|u| !u.is_empty()) {
        let allowed = ctx.cfg.avatar_url_prefixes.iter().any(|p| url.starts_with(p.as_str()));
        if !allowed
            || !url.starts_with("https://")
            || url.len() > URL_MAX
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(AppError::invalid_body(format!(
                "avatar_url: an https URL of at most {URL_MAX} characters under one of {:?}",
                ctx.cfg.avatar_url_prefixes
            )));
        }
    }
    if nickname.is_none() && avatar_url.is_none() {
        return Err(AppError::invalid_body("give nickname, avatar_url or both"));
    }
    let args = profile_set::Args {
        uid,
        nickname: nickname.as_deref(),
        avatar: avatar_url.as_deref(),
        now_ms: common::time::now_ms(),
    };
    match profile_set::call(&ctx.redis, &args).await? {
        Outcome::Changed { .. } => Reply::new(&super::profile::of(ctx, uid).await?),
        Outcome::NoUser => Err(AppError::internal(format!("user {uid} is logged in but does not exist"))),
    }
}
