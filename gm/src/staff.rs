//! Personal staff accounts and their console sessions.
//!
//! An account (`{g}:staff:{name}`, written by staff_set.lua, recorded in MySQL's `staff`) has a
//! role, an argon2id password and an RFC 6238 TOTP secret (SHA-1, 6 digits, 30 s, one step of
//! skew). A login with the password and a current code opens a session: a random token, kept in
//! Redis by its SHA-256 only, ending after `gm.staff_session_idle_s` without a request, at
//! `gm.staff_session_max_s` after the login, or at logout. Every request reads the account again,
//! so disabling it (or changing its role) takes effect at once.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use common::config::{GmConfig, Role};
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;

/// Session tokens start with this (API tokens and config tokens do not).
pub const SESSION_PREFIX: &str = "mds_";

/// The issuer authenticator apps show next to the account.
const ISSUER: &str = "matchday";

/// An account as Redis holds it.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub pw: String,
    pub totp: String,
    pub disabled: bool,
    pub created_by: String,
    pub created_at: u64,
    pub updated_at: u64,
}

/// The account `name`, if there is one.
pub async fn account(st: &AppState, name: &str) -> Result<Option<Account>, ApiError> {
    let f: std::collections::HashMap<String, String> = st.redis.pool.hgetall(st.redis.keys.staff(name)).await?;
    let text = |k: &str| f.get(k).cloned().unwrap_or_default();
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let Some(role) = f.get("role").and_then(|r| Role::parse(r)) else { return Ok(None) };
    Ok(Some(Account {
        name: text("name"),
        role,
        pw: text("pw"),
        totp: text("totp"),
        disabled: f.get("disabled").is_some_and(|d| d == "1"),
        created_by: text("created_by"),
        created_at: num("created_at"),
        updated_at: num("updated_at"),
    }))
}

/// A staff name: 1 to 64 characters of a-z, 0-9, '_', '-', '.'.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= protocol::fields::STAFF_NAME_MAX
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if ok { Ok(()) } else { Err(ApiError::invalid("name", "1 to 64 characters of a-z, 0-9, '_', '-', '.'")) }
}

/// A staff password: 12 to 128 characters.
pub fn check_password(pw: &str) -> Result<(), ApiError> {
    let n = pw.chars().count();
    if (12..=128).contains(&n) { Ok(()) } else { Err(ApiError::invalid("password", "12 to 128 characters")) }
}

/// The argon2id PHC string of `pw` (off the async threads).
pub async fn hash_password(pw: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| anyhow::anyhow!("password hashing stopped: {e}"))?
    .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}").into())
}

/// Whether `pw` is the password of `phc` (off the async threads). An unknown account is checked
/// against a decoy, so the answer takes as long.
pub async fn verify_password(phc: Option<String>, pw: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match phc {
            Some(p) => (p, true),
            None => (decoy_hash(), false),
        };
        let right = PasswordHash::new(&phc).is_ok_and(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok());
        right && real
    })
    .await
    .unwrap_or(false)
}

fn decoy_hash() -> String {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(b"decoy password, never anyone's", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// A new TOTP secret for `name`: its base32 form (stored) and the `otpauth://` address an
/// authenticator app reads (shown once).
pub fn new_totp(name: &str) -> Result<(String, String), ApiError> {
    let secret: [u8; 20] = rand::random();
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret.to_vec(), Some(ISSUER.into()), name.to_owned())
        .map_err(|e| anyhow::anyhow!("cannot make a TOTP secret: {e}"))?;
    Ok((totp.get_secret_base32(), totp.get_url()))
}

/// Whether `code` is the account's TOTP code now (or one step either side), and not used before:
/// each code is taken once.
pub async fn check_code(st: &AppState, a: &Account, code: &str) -> Result<bool, ApiError> {
    let Ok(secret) = totp_rs::Secret::Encoded(a.totp.clone()).to_bytes() else { return Ok(false) };
    let Ok(totp) = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret, Some(ISSUER.into()), a.name.clone()) else {
        return Ok(false);
    };
    let now = common::time::now_ms() / 1000;
    if !totp.check(code.trim(), now) {
        return Ok(false);
    }
    // A code is good for about 90 s (three steps): remember it as long.
    let used = st.redis.keys.staff_totp_used(&a.name, code.trim());
    let first: Option<String> =
        st.redis.pool.set(&used, 1, Some(Expiration::EX(120)), Some(SetOptions::NX), false).await?;
    Ok(first.is_some())
}

/// A new random token with `prefix` (256 bits).
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

/// What Redis keeps of a token: its SHA-256, hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `name`: its token and when it ends at the latest (Unix ms).
pub async fn open_session(st: &AppState, name: &str) -> Result<(String, u64), ApiError> {
    let cfg: &GmConfig = &st.cfg.gm;
    let token = new_token(SESSION_PREFIX);
    let key = st.redis.keys.staff_session(&digest(&token));
    let expires_at = common::time::now_ms() + cfg.staff_session_max_s * 1000;
    let _: () = st.redis.pool.hset(&key, [("name", name.to_owned()), ("expires_at", expires_at.to_string())]).await?;
    let _: () = st.redis.pool.expire(&key, cfg.staff_session_idle_s as i64, None).await?;
    Ok((token, expires_at))
}

/// The staff member of a session token, renewing its idle timeout; None when the session ended or
/// its account is disabled or gone.
pub async fn session(st: &AppState, token: &str) -> Result<Option<Staff>, ApiError> {
    let key = st.redis.keys.staff_session(&digest(token));
    let (name, expires_at): (Option<String>, Option<u64>) =
        st.redis.pool.hmget(&key, vec!["name", "expires_at"]).await?;
    let (Some(name), Some(expires_at)) = (name, expires_at) else { return Ok(None) };
    if common::time::now_ms() >= expires_at {
        let _: i64 = st.redis.pool.del(&key).await?;
        return Ok(None);
    }
    let Some(a) = account(st, &name).await?.filter(|a| !a.disabled) else { return Ok(None) };
    let _: () = st.redis.pool.expire(&key, st.cfg.gm.staff_session_idle_s as i64, None).await?;
    Ok(Some(Staff { name: a.name, role: a.role }))
}

/// Ends the session of `token` (nothing when there is none).
pub async fn close_session(st: &AppState, token: &str) -> Result<(), ApiError> {
    let _: i64 = st.redis.pool.del(st.redis.keys.staff_session(&digest(token))).await?;
    Ok(())
}

/// API tokens start with this.
pub const TOKEN_PREFIX: &str = "mdt_";

/// The staff member an API token acts for (its owner, with the lower of the token's and the
/// owner's roles), noting its last use; None when it expired, was revoked, or its owner is
/// disabled or gone.
pub async fn api_token(st: &AppState, token: &str) -> Result<Option<Staff>, ApiError> {
    let key = st.redis.keys.staff_token(&digest(token));
    let (owner, role, expires_at): (Option<String>, Option<String>, Option<u64>) =
        st.redis.pool.hmget(&key, vec!["owner", "role", "expires_at"]).await?;
    let (Some(owner), Some(role), Some(expires_at)) = (owner, role.and_then(|r| Role::parse(&r)), expires_at) else {
        return Ok(None);
    };
    let now = common::time::now_ms();
    if now >= expires_at {
        return Ok(None);
    }
    let Some(a) = account(st, &owner).await?.filter(|a| !a.disabled) else { return Ok(None) };
    let _: () = st.redis.pool.hset(&key, ("last_used", now)).await?;
    Ok(Some(Staff { name: a.name, role: role.min(a.role) }))
}

/// The API tokens (no secrets), oldest first.
pub async fn api_tokens(st: &AppState) -> Result<Vec<std::collections::HashMap<String, String>>, ApiError> {
    let ids: std::collections::HashMap<String, String> = st.redis.pool.hgetall(st.redis.keys.staff_token_ids()).await?;
    let mut out = Vec::with_capacity(ids.len());
    for digest in ids.values() {
        let f: std::collections::HashMap<String, String> =
            st.redis.pool.hgetall(st.redis.keys.staff_token(digest)).await?;
        if !f.is_empty() {
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.get("created_at").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0));
    Ok(out)
}
