//! 105 guest_login `{ device_id }` → `{ user_id, token, balance }` (102's reply): play without an
//! account. The device id is the app's secret for this device (a random value it keeps); Redis
//! holds only its SHA-256, which indexes the guest (`device:{digest}`). The first login of a device
//! creates the guest through `register.lua` — named "~guest{uid}", no password, the sign-up grant,
//! counted against the accounts an address group may create — and later ones log in as it. 209
//! link_account gives the guest a username and password; 210 closes it (a new login of the device
//! then starts a new guest). A banned guest is refused with 1009 as a login is.

use common::store::register::{self, Outcome};
use fred::prelude::HashesInterface;
use protocol::ErrorCode;
use protocol::body::GuestLogin;
use protocol::fields::{DEVICE_ID_MAX, DEVICE_ID_MIN};
use sha2::{Digest, Sha256};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::{session, throttle};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let GuestLogin { device_id } = req.body()?;
    let digest = device_digest(&device_id)?;
    let index = ctx.redis.keys.device(&digest);
    // A frame delivered again after it created the guest finds it here, as later logins do.
    if let Some(uid) = ctx.redis.pool.hget::<Option<u64>, _, _>(&index, "uid").await? {
        return session::open(ctx, uid, None).await;
    }
    let group = common::net::addr_group(&req.head.addr);
    throttle::check_rates(ctx, &[throttle::signups(ctx, &group)]).await?;
    let uid = common::ids::new_uid(&ctx.redis, &digest).await?;
    let name = format!("~guest{uid}");
    let args = register::Args {
        uid,
        username: &name,
        pw_hash: "",
        grant: ctx.cfg.signup_grant,
        now_ms: common::time::now_ms(),
        trace: &req.head.trace,
        device: Some(&digest),
    };
    match register::call(&ctx.redis, &args).await? {
        Outcome::Created { uid, .. } => session::open(ctx, uid, None).await,
        // Two first logins of one device at once: the other created it; this one logs in as it.
        Outcome::UsernameTaken => match ctx.redis.pool.hget::<Option<u64>, _, _>(&index, "uid").await? {
            Some(uid) => session::open(ctx, uid, None).await,
            None => Err(AppError::new(ErrorCode::Unavailable, "the guest account is being created; try again")),
        },
    }
}

/// The SHA-256 (hex) of a valid device id: what Redis and MySQL hold instead of it.
pub(crate) fn device_digest(device_id: &str) -> Result<String, AppError> {
    let ok_chars = device_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !(DEVICE_ID_MIN..=DEVICE_ID_MAX).contains(&device_id.len()) || !ok_chars {
        return Err(AppError::invalid_body(format!(
            "device_id: {DEVICE_ID_MIN} to {DEVICE_ID_MAX} characters of a-z, A-Z, 0-9, '-', '_', '.', ':'"
        )));
    }
    Ok(hex::encode(Sha256::digest(device_id.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_checked_and_digested() {
        let d = device_digest("3f2a9c1e-7b4d-4e0a-9a77-1c2b3d4e5f60").unwrap();
        assert_eq!(d.len(), 64);
        assert_eq!(d, device_digest("3f2a9c1e-7b4d-4e0a-9a77-1c2b3d4e5f60").unwrap());
        assert_ne!(d, device_digest("3f2a9c1e-7b4d-4e0a-9a77-1c2b3d4e5f61").unwrap());
        for bad in ["short", "with a space in the middle", &"x".repeat(129)] {
            assert_eq!(device_digest(bad).unwrap_err().code, ErrorCode::InvalidBody, "{bad}");
        }
    }
}
