//! 210 delete_account `{ password }` (a guest: `{ device_id }`) → `{ forfeited }`: the player closes
//! their account (the app stores require it in the app). Re-authenticated first: the password is
//! checked as a login checks it (the hashing queue, the password-work rates, the failed-login
//! limit; wrong: 1001), a guest's device id against its digest. Then `account_delete.lua`, in one
//! step: the balance is forfeited (a ledger record "account_deleted" takes it to 0), the user is
//! anonymised ("~deleted{uid}", no password, device, nickname or avatar), every session ends; its
//! push tokens (211) are forgotten. The
//! old username stays taken `logic.deleted_name_hold_days` (`uname_release.lua`), then is free.
//! Open bets stay and settle into the closed wallet; MySQL keeps the rows the ledger needs
//! (docs/protocol.md "Deleting an account"). The player's other connections are closed with 1008
//! "session ended"; the asking one is logged out with the reply.

use common::store::{account_delete, uname_release};
use fred::prelude::*;
use protocol::ErrorCode;
use protocol::body::{AccountDeleted, DeleteAccount};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};
use crate::throttle;

/// Reads of the session index before giving up on a player logging in again and again meanwhile.
const ATTEMPTS: usize = 5;

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let DeleteAccount { password, device_id } = req.body()?;
    let keys = &ctx.redis.keys;
    let (username, phc, device, deleted): (Option<String>, Option<String>, Option<String>, Option<u64>) =
        ctx.redis.pool.hmget(keys.user(uid), vec!["username", "pw", "device", "deleted_at"]).await?;
    if deleted.is_none() {
        reauthenticate(ctx, req, username.unwrap_or_default(), phc, device.as_deref(), password, device_id).await?;
    }
    for _ in 0..ATTEMPTS {
        let sids: Vec<String> = ctx.redis.pool.zrange(keys.sessions(uid), 0, -1, None, false, None, false).await?;
        let args = account_delete::Args { uid, device: device.as_deref(), sids: &sids, now_ms: common::time::now_ms() };
        match account_delete::call(&ctx.redis, &args).await? {
            account_delete::Outcome::Deleted { forfeited, held, .. } => {
                if !held.is_empty() {
                    let hold_s = ctx.cfg.deleted_name_hold_days * 86_400;
                    uname_release::call(&ctx.redis, &uname_release::Args { uid, username: &held, hold_s }).await?;
                    let _: i64 = ctx.redis.pool.hdel(keys.user(uid), "held_name").await?;
                }
                // Its phones are told nothing more (211's push tokens).
                let _: i64 = ctx.redis.pool.del(keys.devices(uid)).await?;
                crate::session::close_others(ctx, uid, (&req.head.node, req.head.conn)).await?;
                return Ok(Reply::new(&AccountDeleted { forfeited })?.unbinding());
            }
            account_delete::Outcome::IndexChanged => continue,
            account_delete::Outcome::NoUser => {
                return Err(AppError::internal(format!("user {uid} is logged in but does not exist")));
            }
        }
    }
    Err(AppError::new(ErrorCode::Unavailable, "your sessions kept changing while the account was closed; try again"))
}

/// The player proves it is them: a guest with its device id, anyone else with the password.
async fn reauthenticate(
    ctx: &Ctx,
    req: &Request,
    username: String,
    phc: Option<String>,
    device: Option<&str>,
    password: Option<String>,
    device_id: Option<String>,
) -> Result<(), AppError> {
    if let Some(device) = device {
        let given = device_id.ok_or_else(|| AppError::invalid_body("device_id: required to close a guest account"))?;
        return match super::guest_login::device_digest(&given)? == device {
            true => Ok(()),
            false => Err(AppError::new(ErrorCode::BadCredentials, "not this account's device id")),
        };
    }
    let password = password.ok_or_else(|| AppError::invalid_body("password: required to close the account"))?;
    throttle::check_password(ctx, &req.head.addr, &username, password, phc, "the password is wrong").await
}
