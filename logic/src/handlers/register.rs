//! 101 register `{ username, password }` → `{ user_id }`.
//! The password is hashed (argon2id) off the async threads; `register.lua` then creates the user,
//! the wallet with the sign-up grant and its ledger record in one step. The same frame delivered
//! twice answers the same user; another attempt on a taken name gets 1002.

use fred::prelude::KeysInterface;
use protocol::ErrorCode;
use protocol::body::{Credentials, RegisterReply};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use common::scripts::ScriptName;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Credentials { username, password } = req.body()?;
    validate_username(&username)?;
    validate_password(&password)?;
    let keys = &ctx.redis.keys;
    let index = keys.uname(&username.to_lowercase());
    // Fail early on a taken name, before paying for a hash (the script checks again atomically).
    let taken: i64 = ctx.redis.pool.exists(&index).await?;
    if taken == 1 && !registered_by(ctx, &index, &req.head.trace).await? {
        return Err(AppError::code(ErrorCode::UsernameTaken));
    }
    let phc = ctx.hasher.hash(password).await?;
    let uid: u64 = ctx.redis.pool.incr(keys.user_seq()).await?;
    let now = common::time::now_ms();
    let day = common::time::day_of(now);
    let reply: Vec<i64> = ctx
        .redis
        .scripts
        .call(
            &ctx.redis.pool,
            ScriptName::Register,
            vec![index, keys.user(uid), keys.wallet(uid), keys.ledger(uid), keys.outbox(), keys.stats_day("reg", day)],
            vec![
                uid.to_string(),
                username,
                phc,
                ctx.cfg.signup_grant.to_string(),
                now.to_string(),
                req.head.trace.clone(),
            ],
        )
        .await?;
    match reply.as_slice() {
        [0, user_id, _] => Reply::new(&RegisterReply { user_id: *user_id as u64 }),
        [1002] => Err(AppError::code(ErrorCode::UsernameTaken)),
        other => Err(AppError::internal(format!("register.lua answered {other:?}"))),
    }
}

/// Whether the name was registered by this very frame (a redelivery).
async fn registered_by(ctx: &Ctx, index: &str, trace: &str) -> Result<bool, AppError> {
    use fred::prelude::HashesInterface;
    let reg: Option<String> = ctx.redis.pool.hget(index, "reg").await?;
    Ok(reg.as_deref() == Some(trace))
}

fn validate_username(name: &str) -> Result<(), AppError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !(3..=32).contains(&name.len()) || !ok_chars {
        return Err(AppError::invalid_body("username: 3 to 32 characters of a-z, A-Z, 0-9, '_', '.', '-'"));
    }
    Ok(())
}

fn validate_password(password: &str) -> Result<(), AppError> {
    if !(6..=128).contains(&password.chars().count()) {
        return Err(AppError::invalid_body("password: 6 to 128 characters"));
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
        assert!(validate_password("secret").is_ok());
        assert!(validate_password("short").is_err());
    }
}
