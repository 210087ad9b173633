//! Users: what staff see of a player, and coin grants. Bans are in `bans`.

use axum::extract::State;
use bytes::Bytes;
use common::store::grant_budget;
use common::store::wallet_change::{self, Outcome};
use fred::prelude::*;
use fred::types::SetOptions;

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam, QueryParams};
use crate::model::*;

const RECENT: i64 = 20;

/// A user: profile, balance, online, banned (and why), recent bets and ledger.
#[utoipa::path(get, path = "/api/users/{id}", operation_id = "get_user", tag = "users", params(("id" = u64, Path, description = "user id")),
    responses((status = 200, body = GmUser), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    PathParam(uid): PathParam<u64>,
) -> Result<axum::Json<GmUser>, ApiError> {
    Ok(axum::Json(user_view(&st, uid).await?))
}

/// Find a user by username (case-insensitive, as players log in): the same view as by id.
#[utoipa::path(get, path = "/api/users", operation_id = "find_user", tag = "users", params(FindUser),
    responses((status = 200, body = GmUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn find(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    QueryParams(q): QueryParams<FindUser>,
) -> Result<axum::Json<GmUser>, ApiError> {
    let name = q.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "a username"));
    }
    let uid: Option<u64> = st.redis.pool.hget(st.redis.keys.uname(&name.to_lowercase()), "uid").await?;
    let uid = uid.ok_or_else(|| ApiError::NotFound(format!("no user named {name:?}")))?;
    Ok(axum::Json(user_view(&st, uid).await?))
}

async fn user_view(st: &AppState, uid: u64) -> Result<GmUser, ApiError> {
    let k = &st.redis.keys;
    let (username, created_at, banned): (Option<String>, Option<u64>, Option<String>) =
        st.redis.pool.hmget(k.user(uid), vec!["username", "created_at", "banned"]).await?;
    let (Some(username), Some(created_at)) = (username, created_at) else {
        return Err(ApiError::NotFound(format!("no user {uid}")));
    };
    let banned = banned.as_deref() == Some("1");
    let ban = if banned { super::bans::ban_info(st, uid).await? } else { None };
    let balance: Option<i64> = st.redis.pool.hget(k.wallet(uid), "balance").await?;
    let online: i64 = st.redis.pool.exists(k.online(uid)).await?;
    let ledger: Vec<Bytes> = st.redis.pool.lrange(k.ledger(uid), 0, RECENT - 1).await?;
    let recent_ledger = ledger.iter().filter_map(|r| rmp_serde::from_slice::<serde_json::Value>(r).ok()).collect();
    let bets = common::bets::all_of_user(&st.redis, uid).await?;
    let mut recent_bets = Vec::with_capacity(RECENT as usize);
    for bet in bets.iter().take(RECENT as usize) {
        recent_bets.push(serde_json::to_value(bet.view()).map_err(|e| anyhow::anyhow!(e))?);
    }
    Ok(GmUser {
        user_id: uid,
        username,
        created_at,
        balance: balance.unwrap_or(0),
        online: online == 1,
        banned,
        ban,
        recent_bets,
        recent_ledger,
    })
}

/// Grant coins (or take them back with a negative amount; never below zero). Admin only. A grant
/// of more than `gm.grant_approval_above` coins (either way) is not made now: it is asked for, and
/// answered 202 with the request, which a second admin approves (`POST /api/approvals/{id}/approve`).
#[utoipa::path(post, path = "/api/users/{id}/grant", operation_id = "grant_coins", tag = "users", params(("id" = u64, Path, description = "user id")),
    request_body = Grant,
    responses((status = 200, body = BalanceResult), (status = 202, description = "above gm.grant_approval_above: waiting for a second admin", body = Approval), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "the balance would go below zero, or the staff member's daily grant limit would be passed (`daily_limit`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn grant(
    State(st): State<AppState>,
    Admin(staff): Admin,
    PathParam(uid): PathParam<u64>,
    JsonBody(body): JsonBody<Grant>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    if body.amount == 0 || body.amount.abs() > crate::model::MAX_COINS {
        return Err(ApiError::invalid("amount", "a non-zero number of coins, at most 10^12 either way"));
    }
    check_reason(&body.reason)?;
    check_request_id(body.request_id.as_deref())?;
    let above = st.cfg.gm.grant_approval_above;
    if above > 0 && body.amount.abs() > above {
        let asked = super::approvals::ask(&st, &staff, uid, &body).await?;
        return Ok((axum::http::StatusCode::ACCEPTED, axum::Json(asked)).into_response());
    }
    let audit = audit::record(&staff, "user.grant", &format!("user:{uid}"), &body);
    let once = body.request_id.as_deref().map(|id| wallet_change::Once::Grant { request_id: id });
    let reference = format!("{}: {}", staff.name, body.reason);
    // A retry of a grant made before (same request id) is answered as then, whatever the budget.
    let made = match body.request_id.as_deref() {
        Some(id) => st.redis.pool.exists::<bool, _>(st.redis.keys.grant(uid, id)).await?,
        None => false,
    };
    let budgeted = body.amount > 0 && st.cfg.gm.grant_daily_limit > 0 && !made;
    if budgeted {
        budget(&st, &staff, body.amount).await?;
    }
    let changed = change(&st, uid, body.amount, "grant", &reference, once, audit).await;
    // Coins not granted after all (refused, or a repeat of a grant made before) go back to the
    // budget; when Redis did not answer the grant may have happened, so they stay counted.
    if budgeted && matches!(changed, Ok((_, true)) | Err(ApiError::Conflict { .. } | ApiError::NotFound(_))) {
        let back = grant_budget::Args {
            who: &staff.name,
            amount: -body.amount,
            limit: st.cfg.gm.grant_daily_limit,
            now_ms: common::time::now_ms(),
        };
        grant_budget::call(&st.redis, &back).await?;
    }
    let (balance, repeated) = changed?;
    if repeated {
        tracing::info!(audit.who = %staff.name, user.id = uid, "grant repeated with the same request id; nothing changed");
    } else {
        audit::log(&staff, "user.grant", &format!("user:{uid}"));
    }
    Ok(axum::Json(BalanceResult { user_id: uid, balance }).into_response())
}

/// Reserves `amount` coins of `staff`'s daily grant budget (`gm.grant_daily_limit`), or refuses
/// with 409 `daily_limit`.
async fn budget(st: &AppState, staff: &Staff, amount: i64) -> Result<(), ApiError> {
    let limit = st.cfg.gm.grant_daily_limit;
    let args = grant_budget::Args { who: &staff.name, amount, limit, now_ms: common::time::now_ms() };
    match grant_budget::call(&st.redis, &args).await? {
        grant_budget::Outcome::Reserved { .. } => Ok(()),
        grant_budget::Outcome::OverLimit { total } => Err(ApiError::conflict(
            "daily_limit",
            format!(
                "{} has granted {total} coins today (UTC) of the {limit} one staff member may grant per day \
                 (gm.grant_daily_limit): {amount} more would pass it; another admin may grant it, or tomorrow",
                staff.name
            ),
        )),
    }
}

/// Runs wallet_change.lua; returns the balance after, and whether this was a repeat of a change
/// made before under the same `once` record (nothing changed now).
pub async fn change(
    st: &AppState,
    uid: u64,
    delta: i64,
    reason: &str,
    reference: &str,
    once: Option<wallet_change::Once<'_>>,
    audit: Vec<u8>,
) -> Result<(i64, bool), ApiError> {
    // The id's owner first: the user's own idempotency record is in the user's shard, so only this
    // global claim sees the same id sent for another user. A claim whose credit then fails is kept
    // (a retry for the same user passes it), except when there is no such user or order.
    let mut claimed = None;
    if let Some(o) = &once {
        let owner = match *o {
            wallet_change::Once::Payment { order_id, .. } => st.redis.keys.once_owner("payment", order_id),
            wallet_change::Once::Grant { request_id } => st.redis.keys.once_owner("grant", request_id),
        };
        let first: Option<u64> = st.redis.pool.set(&owner, uid, None, Some(SetOptions::NX), true).await?;
        match first {
            Some(first) if first != uid => {
                return Err(ApiError::conflict("conflict", "this id was already used for another user or amount"));
            }
            Some(_) => {}
            None => claimed = Some(owner),
        }
    }
    let release = async |claimed: Option<String>| -> Result<(), ApiError> {
        if let Some(owner) = claimed {
            let _: i64 = st.redis.pool.del(&owner).await?;
        }
        Ok(())
    };
    let args =
        wallet_change::Args { uid, delta, reason, reference, now_ms: common::time::now_ms(), once, audit: &audit };
    match wallet_change::call(&st.redis, &args).await? {
        Outcome::Changed { balance, repeated } => Ok((balance, repeated)),
        Outcome::InsufficientBalance { balance } => Err(ApiError::conflict(
            "insufficient_balance",
            format!("user {uid} has {balance} coins; taking {} would go below zero", -delta),
        )),
        Outcome::NoUser => {
            release(claimed).await?;
            Err(ApiError::NotFound(format!("no user {uid}")))
        }
        Outcome::NoOrder => {
            release(claimed).await?;
            Err(ApiError::NotFound(format!(
                "no order {reference:?} of user {uid}: only orders the server created (by the app, or staff) are credited"
            )))
        }
        Outcome::OrderMismatch { field } => {
            release(claimed).await?;
            Err(ApiError::conflict(
                "order_mismatch",
                format!("the callback's {field} is not order {reference:?}'s: nothing credited"),
            ))
        }
        Outcome::OnceConflict => {
            Err(ApiError::conflict("conflict", "this id was already used for another user or amount"))
        }
        Outcome::BalanceLimit { balance, room } => Err(ApiError::conflict(
            "balance_limit",
            format!(
                "user {uid} has {balance} coins; crediting {delta} would pass the most a wallet may hold ({}, \
                 counting the potential payouts of open bets): at most {room} more fits",
                protocol::error_code::MAX_BALANCE
            ),
        )),
    }
}

/// The staff member a payment callback is recorded as.
pub fn provider() -> Staff {
    Staff { name: "payment-provider".into(), role: common::config::Role::Viewer }
}
