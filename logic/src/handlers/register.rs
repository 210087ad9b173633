//! 101 register `{ username, password }` → `{ user_id }`.
//! Before any hashing: a place in the hashing queue (code 5 when full), then the password-work rates
//! of the client's address group and of the deployment and the accounts an address group may create
//! per window (`logic.register_max_per_addr`), counted in one step (docs/security.md).
//! The password is hashed (argon2id) off the async threads; `register.lua` then creates the user,
//! the wallet with the sign-up grant and its ledger record in one step. The same frame delivered
//! twice answers the same user; another attempt on a taken name gets 1002.

use common::store::register::{self, Outcome};
use fred::prelude::HashesInterface;
use protocol::ErrorCode;
use protocol::body::{Credentials, RegisterReply};
use protocol::fields::{USERNAME_MAX, USERNAME_MIN};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Credentials { username, password } = req.body()?;
    validate_username(&username)?;
    validate_password("password", &password)?;
    let keys = &ctx.redis.keys;
    let index = keys.uname(&username.to_lowercase());
    // Fail early on a taken name, before any limit is counted or a hash paid for (the script checks
    // again atomically). The same frame delivered again answers the user it created.
    let (uid, reg): (Option<u64>, Option<String>) = ctx.redis.pool.hmget(&index, vec!["uid", "reg"]).await?;
    if let Some(user_id) = uid {
        return match reg.as_deref() == Some(req.head.trace.as_str()) {
            true => Reply::new(&RegisterReply { user_id }),
            false => Err(AppError::code(ErrorCode::UsernameTaken)),
        };
    }
    let place = ctx.hasher.reserve()?;
    let group = common::net::addr_group(&req.head.addr);
    let [per_addr, all] = throttle::password_rates(ctx, &group);
    throttle::check_rates(ctx, &[per_addr, all, throttle::signups(ctx, &group)]).await?;
    let phc = place.hash(password).await?;
    let uid = common::ids::new_uid(&ctx.redis, &username.to_lowercase()).await?;
    let args = register::Args {
        uid,
        username: &username,
        pw_hash: &phc,
        grant: ctx.cfg.signup_grant,
        now_ms: common::time::now_ms(),
        trace: &req.head.trace,
        device: None,
    };
    match register::call(&ctx.redis, &args).await? {
        Outcome::Created { uid: user_id, .. } => Reply::new(&RegisterReply { user_id }),
        Outcome::UsernameTaken => Err(AppError::code(ErrorCode::UsernameTaken)),
    }
}

pub(crate) fn validate_username(name: &str) -> Result<(), AppError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&name.len()) || !ok_chars {
        return Err(AppError::invalid_body(format!(
            "username: {USERNAME_MIN} to {USERNAME_MAX} characters of a-z, A-Z, 0-9, '_', '.', '-'"
        )));
    }
    Ok(())
}

/// A new password (field `field` of the body): 6 to 128 characters.
pub(crate) fn validate_password(field: &str, password: &str) -> Result<(), AppError> {
    if !(6..=128).contains(&password.chars().count()) {
        return Err(AppError::invalid_body(format!("{field}: 6 to 128 characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(validate_username("alice_01").is_ok());
        for bad in ["ab", "with space", "ünï", &"x".repeat(33)] {
            assert_eq!(validate_username(bad).unwrap_err().code, ErrorCode::InvalidBody, "{bad}");
        }
        assert!(validate_password("password", "secret").is_ok());
        assert!(validate_password("password", "short").is_err());
    }
}
