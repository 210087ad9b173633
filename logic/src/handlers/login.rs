//! 102 login `{ username, password }` → `{ user_id, token, balance }`, and connect binds the
//! connection to the user. Unknown names and wrong passwords get the same 1001, after the same work.
//! Failures are counted per account and per client address (`login_failed.lua`); past
//! `logic.login_max_failures_per_*` in the window, logins are refused with 5 and the seconds to wait.
//! A banned account with the right password is refused with 1009 (a wrong one is 1001, as for anyone).

use common::scripts::ScriptName;
use fred::prelude::*;
use protocol::body::{Credentials, SessionReply};
use protocol::{Bind, ErrorCode};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::session;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Credentials { username, password } = req.body()?;
    let keys = &ctx.redis.keys;
    let name = username.to_lowercase();
    let guard = [keys.login_failures_user(&name), keys.login_failures_addr(client_ip(&req.head.addr))];
    refuse_while_locked(ctx, &guard).await?;
    let uid: Option<u64> = ctx.redis.pool.hget(keys.uname(&name), "uid").await?;
    let phc: Option<String> = match uid {
        Some(uid) => ctx.redis.pool.hget(keys.user(uid), "pw").await?,
        None => None,
    };
    let (Some(uid), true) = (uid, ctx.hasher.verify(password, phc).await?) else {
        let window_ms = (ctx.cfg.login_failure_window_s * 1000).to_string();
        let _: Vec<u64> =
            ctx.redis.scripts.call(&ctx.redis.pool, ScriptName::LoginFailed, guard.to_vec(), window_ms).await?;
        return Err(AppError::code(ErrorCode::BadCredentials));
    };
    // A success clears the account's count (not the address's: it may be shared, and guessed from).
    let _: i64 = ctx.redis.pool.del(&guard[0]).await?;
    open_session(ctx, uid, None).await
}

/// Code 5, with the seconds to wait, while the account or the address has failed too often.
async fn refuse_while_locked(ctx: &Ctx, guard: &[String; 2]) -> Result<(), AppError> {
    let counts: Vec<Option<u64>> = ctx.redis.pool.mget(guard.to_vec()).await?;
    let limits = [ctx.cfg.login_max_failures_per_user, ctx.cfg.login_max_failures_per_addr];
    for ((key, count), (limit, what)) in guard.iter().zip(counts).zip(limits.into_iter().zip(["account", "address"])) {
        if count.unwrap_or(0) >= limit {
            let ms: i64 = ctx.redis.pool.pttl(key).await?;
            let retry_after_s = (ms.max(0) as u64).div_ceil(1000).max(1);
            return Err(AppError::new(
                ErrorCode::RateLimited,
                format!("too many failed logins from this {what}; try again in {retry_after_s} s"),
            )
            .with_details(serde_json::json!({ "retry_after_s": retry_after_s })));
        }
    }
    Ok(())
}

/// The IP part of connect's `addr` ("ip:port"; IPv6 as "[ip]:port").
fn client_ip(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((ip, port)) if port.parse::<u16>().is_ok() => ip.trim_start_matches('[').trim_end_matches(']'),
        _ => addr,
    }
}

/// Opens a session for `uid` (a new one at login, `resumed` = the client's own at resume) and
/// answers it with a bind. A banned user is refused with 1009, atomically with the ban
/// (`session_open.lua`); a resumed session that no longer exists is 1008.
pub(super) async fn open_session(ctx: &Ctx, uid: u64, resumed: Option<String>) -> Result<Reply, AppError> {
    let resume = resumed.is_some();
    let token = resumed.unwrap_or_else(session::new_token);
    let sid = session::session_id(&token);
    let keys = &ctx.redis.keys;
    let args: Vec<String> = vec![
        uid.to_string(),
        sid.clone(),
        ctx.cfg.session_ttl_s.to_string(),
        common::time::now_ms().to_string(),
        if resume { "resume" } else { "login" }.to_owned(),
    ];
    let script_keys = vec![keys.session(&sid), keys.sessions(uid), keys.user(uid)];
    let reply: Vec<i64> = ctx.redis.scripts.call(&ctx.redis.pool, ScriptName::SessionOpen, script_keys, args).await?;
    match reply.as_slice() {
        [0, _pruned] => {}
        [1008] => return Err(AppError::code(ErrorCode::SessionExpired)),
        [1009] => return Err(AppError::code(ErrorCode::AccountBanned)),
        other => return Err(AppError::internal(format!("session_open.lua answered {other:?}"))),
    }
    let balance = super::balance_of(ctx, uid).await?;
    Ok(Reply::new(&SessionReply { user_id: uid, token, balance })?.binding(Bind { uid, sid }))
}
