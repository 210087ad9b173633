//! Helping a player with their account: a one-time code to set a new password with (the player
//! sends it with 106 reset_password), and the account's history (from the MySQL record: the
//! player's own changes, `account_events`, and staff's, `gm_audit`).

use axum::extract::State;
use axum::http::StatusCode;
use fred::prelude::*;

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Viewer};
use crate::error::{ApiError, ErrorBody, PathParam, QueryParams};
use crate::model::*;

/// Issue a one-time password reset code for the player (good for an hour; a new one replaces it).
/// Operator or admin. 409 for a guest (no password: link a name first) or a closed account.
#[utoipa::path(post, path = "/api/users/{id}/password-reset", operation_id = "reset_password", tag = "users", params(("id" = u64, Path, description = "user id")),
    responses((status = 201, body = PasswordResetCode), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reset_password(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(uid): PathParam<u64>,
) -> Result<(StatusCode, axum::Json<PasswordResetCode>), ApiError> {
    let (redis, k) = (&st.redis, &st.redis.keys);
    let (username, device, deleted): (Option<String>, Option<String>, Option<u64>) =
        redis.pool.hmget(k.user(uid), vec!["username", "device", "deleted_at"]).await?;
    match (username, device, deleted) {
        (None, ..) => return Err(ApiError::NotFound(format!("no user {uid}"))),
        (_, _, Some(_)) => return Err(ApiError::conflict("account_closed", "the account is closed")),
        (_, Some(_), _) => {
            return Err(ApiError::conflict(
                "guest_account",
                "a guest account has no password: the player links a name first (209)",
            ));
        }
        _ => {}
    }
    let code = common::users::new_reset_code();
    let now = common::time::now_ms();
    let fields =
        vec![("digest", common::users::reset_digest(&code)), ("by", staff.name.clone()), ("at", now.to_string())];
    let target = format!("user:{uid}");
    let record = audit::record(&staff, "user.password_reset", &target, &serde_json::json!({}));
    let pipe = redis.pool.next().pipeline();
    let _: () = pipe.del(k.pw_reset(uid)).await?;
    let _: () = pipe.hset(k.pw_reset(uid), fields).await?;
    let _: () = pipe.pexpire(k.pw_reset(uid), common::users::RESET_CODE_TTL_MS as i64, None).await?;
    let _: () = pipe.lpush(k.outbox(common::shards::Home::Global), bytes::Bytes::from(record)).await?;
    let _: Vec<fred::types::Value> = pipe.all().await?;
    audit::log(&staff, "user.password_reset", &target);
    let body = PasswordResetCode { user_id: uid, code, expires_at: now + common::users::RESET_CODE_TTL_MS };
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// The account's history, newest first: what the player changed and what staff did to it.
#[utoipa::path(get, path = "/api/users/{id}/history", operation_id = "account_history", tag = "users", params(("id" = u64, Path, description = "user id"), HistoryQuery),
    responses((status = 200, body = AccountHistory), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 503, description = "MySQL does not answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn history(
    State(st): State<AppState>,
    Viewer(_staff): Viewer,
    PathParam(uid): PathParam<u64>,
    QueryParams(q): QueryParams<HistoryQuery>,
) -> Result<axum::Json<AccountHistory>, ApiError> {
    let limit = page_size(q.limit, 50)?;
    // The newest offset + limit of each source, merged: the page is among them.
    let take = q.offset + limit;
    let own: Vec<(u64, String, String, String)> = sqlx::query_as(
        "SELECT ts, id, kind, detail FROM account_events WHERE uid = ? ORDER BY ts DESC, id DESC LIMIT ?",
    )
    .bind(uid)
    .bind(take)
    .fetch_all(&st.mysql)
    .await?;
    let staff: Vec<(u64, String, String, String, String)> = sqlx::query_as(
        "SELECT ts, id, action, payload, who FROM gm_audit WHERE target = ? ORDER BY ts DESC, id DESC LIMIT ?",
    )
    .bind(format!("user:{uid}"))
    .bind(take)
    .fetch_all(&st.mysql)
    .await?;
    let mut all: Vec<(u64, String, AccountEvent)> = own
        .into_iter()
        .map(|(ts, id, kind, detail)| (ts, id, AccountEvent { ts, kind, detail, by: None }))
        .chain(staff.into_iter().map(|(ts, id, action, payload, who)| {
            let detail = if payload == "{}" { String::new() } else { payload };
            (ts, id, AccountEvent { ts, kind: action, detail, by: Some(who) })
        }))
        .collect();
    all.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    let items = all.into_iter().skip(q.offset as usize).take(limit as usize).map(|(_, _, e)| e).collect();
    Ok(axum::Json(AccountHistory { items }))
}
