//! Maker–checker for large grants: a grant above `gm.grant_approval_above` coins (either way) is
//! asked for (`users::grant` answers 202 with the request) and made only when a second admin
//! approves it; the admin who asked may not. A request is decided once (grant_approval.lua), and an
//! approved grant is made with an idempotency id, so approving twice — or two admins at once —
//! grants once.

use axum::extract::State;
use common::store::grant_approval::{self, Action, Outcome};
use common::store::wallet_change;
use fred::prelude::*;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff, Viewer};
use crate::error::{ApiError, ErrorBody, PathParam, QueryParams};
use crate::model::*;
use crate::routes::users::change;

/// Records a request for `body` to `uid` by `staff` (or answers the one made before with the same
/// request id).
pub async fn ask(st: &AppState, staff: &Staff, uid: u64, body: &Grant) -> Result<Approval, ApiError> {
    // A retried request (same request id) finds the one it made.
    let id = match &body.request_id {
        Some(r) => hex::encode(&Sha256::digest(format!("{uid}:{r}"))[..16]),
        None => uuid::Uuid::now_v7().simple().to_string(),
    };
    let exists: bool = st.redis.pool.exists(st.redis.keys.user(uid)).await?;
    if !exists {
        return Err(ApiError::NotFound(format!("no user {uid}")));
    }
    let record = audit::record(staff, "grant.ask", &format!("user:{uid}"), &(&id, body));
    let action =
        Action::Ask { id: &id, uid, amount: body.amount, reason: &body.reason, request_id: body.request_id.as_deref() };
    let args = grant_approval::Args { action, now_ms: common::time::now_ms(), who: &staff.name, audit: &record };
    match grant_approval::call(&st.redis, &args).await? {
        Outcome::Asked => audit::log(staff, "grant.ask", &format!("approval:{id}")),
        Outcome::Exists => {}
        other => return Err(unexpected(&id, &other)),
    }
    load(st, &id).await
}

/// The grant requests, newest first; `state` picks pending, approved or rejected ones.
#[utoipa::path(get, path = "/api/approvals", operation_id = "list_approvals", tag = "users", params(ApprovalQuery),
    responses((status = 200, body = ApprovalList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Viewer(_staff): Viewer,
    QueryParams(q): QueryParams<ApprovalQuery>,
) -> Result<axum::Json<ApprovalList>, ApiError> {
    if let Some(s) = q.state.as_deref()
        && !["pending", "approved", "rejected"].contains(&s)
    {
        return Err(ApiError::invalid("state", "pending, approved or rejected"));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let ids: Vec<String> = st.redis.pool.zrange(st.redis.keys.approvals(), 0, -1, None, true, None, false).await?;
    let mut items = Vec::new();
    let mut skipped = 0;
    for id in ids {
        let Some(a) = read(&st, &id).await? else { continue };
        if q.state.as_deref().is_some_and(|s| s != a.state) {
            continue;
        }
        if skipped < q.offset {
            skipped += 1;
            continue;
        }
        items.push(a);
        if items.len() == limit {
            break;
        }
    }
    Ok(axum::Json(ApprovalList { items }))
}

/// One grant request.
#[utoipa::path(get, path = "/api/approvals/{id}", operation_id = "get_approval", tag = "users", params(("id" = String, Path, description = "approval id")),
    responses((status = 200, body = Approval), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(st): State<AppState>,
    Viewer(_staff): Viewer,
    PathParam(id): PathParam<String>,
) -> Result<axum::Json<Approval>, ApiError> {
    Ok(axum::Json(load(&st, &id).await?))
}

/// Approve a grant request (admin, not the one who asked): the grant is made, once however often
/// it is approved; the answer holds the balance after (`result`). When the grant is refused (the
/// balance would go below zero or past the maximum; no such user) `result` says why, and
/// approving again retries it.
#[utoipa::path(post, path = "/api/approvals/{id}/approve", operation_id = "approve_grant", tag = "users", params(("id" = String, Path, description = "approval id")),
    responses((status = 200, body = Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "the admin who asked may not approve (`own_request`), or it was rejected (`decided`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    State(st): State<AppState>,
    Admin(staff): Admin,
    PathParam(id): PathParam<String>,
) -> Result<axum::Json<Approval>, ApiError> {
    let asked = decide(&st, &staff, &id, Action::Approve { id: &id }).await?;
    apply(&st, &staff, &asked).await?;
    load(&st, &id).await.map(axum::Json)
}

/// Reject a grant request (admin; the one who asked may withdraw it so): nothing is granted.
#[utoipa::path(post, path = "/api/approvals/{id}/reject", operation_id = "reject_grant", tag = "users", params(("id" = String, Path, description = "approval id")),
    responses((status = 200, body = Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "it was approved (`decided`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject(
    State(st): State<AppState>,
    Admin(staff): Admin,
    PathParam(id): PathParam<String>,
) -> Result<axum::Json<Approval>, ApiError> {
    decide(&st, &staff, &id, Action::Reject { id: &id }).await?;
    load(&st, &id).await.map(axum::Json)
}

/// Approves or rejects request `id` as `staff` (grant_approval.lua, with the audit record); returns
/// the request as asked. Deciding it again the same way answers as the first time (an approval is
/// then applied again, which grants nothing twice); the other way is 409 `decided`.
async fn decide(st: &AppState, staff: &Staff, id: &str, action: Action<'_>) -> Result<Approval, ApiError> {
    let (verb, state) = match action {
        Action::Approve { .. } => ("grant.approve", "approved"),
        _ => ("grant.reject", "rejected"),
    };
    let asked = load(st, id).await?;
    let record = audit::record(staff, verb, &format!("approval:{id}"), &asked);
    let args = grant_approval::Args { action, now_ms: common::time::now_ms(), who: &staff.name, audit: &record };
    match grant_approval::call(&st.redis, &args).await? {
        Outcome::Decided { .. } => audit::log(staff, verb, &format!("approval:{id}")),
        Outcome::Already { state: was, .. } if was == state => {}
        Outcome::Already { state: was, checker } => {
            return Err(ApiError::conflict("decided", format!("approval {id} was {was} by {checker}")));
        }
        Outcome::OwnRequest => {
            return Err(ApiError::conflict(
                "own_request",
                format!("{} asked for this grant: another admin must approve it", staff.name),
            ));
        }
        Outcome::NoApproval => return Err(ApiError::NotFound(format!("no approval {id}"))),
        other => return Err(unexpected(id, &other)),
    }
    Ok(asked)
}

/// Makes the approved grant `a` (idempotent: its request id, or the approval's id) and keeps what
/// came of it with the request.
async fn apply(st: &AppState, checker: &Staff, a: &Approval) -> Result<(), ApiError> {
    let once_id = a.request_id.clone().unwrap_or_else(|| format!("approval-{}", a.id));
    let detail = serde_json::json!({
        "amount": a.amount, "reason": a.reason, "approval": a.id, "asked_by": a.asked_by, "request_id": once_id,
    });
    let record = audit::record(checker, "user.grant", &format!("user:{}", a.user_id), &detail);
    let reference = format!("{}: {}", a.asked_by, a.reason);
    let once = Some(wallet_change::Once::Grant { request_id: &once_id });
    let result = match change(st, a.user_id, a.amount, "grant", &reference, once, record).await {
        Ok((balance, _)) => serde_json::json!({ "balance": balance }),
        Err(e @ (ApiError::Conflict { .. } | ApiError::NotFound(_))) => {
            tracing::warn!(approval = %a.id, user.id = a.user_id, "an approved grant was refused: {e}");
            serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } })
        }
        Err(e) => return Err(e),
    };
    let result = result.to_string();
    let args = grant_approval::Args {
        action: Action::Result { id: &a.id, result: &result },
        now_ms: common::time::now_ms(),
        who: &checker.name,
        audit: &[],
    };
    grant_approval::call(&st.redis, &args).await?;
    Ok(())
}

async fn load(st: &AppState, id: &str) -> Result<Approval, ApiError> {
    read(st, id).await?.ok_or_else(|| ApiError::NotFound(format!("no approval {id}")))
}

async fn read(st: &AppState, id: &str) -> Result<Option<Approval>, ApiError> {
    let f: std::collections::HashMap<String, String> = st.redis.pool.hgetall(st.redis.keys.approval(id)).await?;
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(uid), Some(amount), Some(asked_at)) = (num("uid"), num("amount"), num("created_at")) else {
        return Ok(None);
    };
    let text = |k: &str| f.get(k).filter(|v| !v.is_empty()).cloned();
    Ok(Some(Approval {
        id: id.to_owned(),
        user_id: uid as u64,
        amount,
        reason: text("reason").unwrap_or_default(),
        request_id: text("request_id"),
        asked_by: text("maker").unwrap_or_default(),
        asked_at: asked_at as u64,
        state: text("state").unwrap_or_default(),
        decided_by: text("checker"),
        decided_at: num("decided_at").map(|v| v as u64),
        result: f.get("result").and_then(|r| serde_json::from_str(r).ok()),
    }))
}

fn unexpected(id: &str, outcome: &Outcome) -> ApiError {
    tracing::error!(approval = %id, "grant_approval.lua answered {outcome:?} unexpectedly");
    ApiError::Internal
}
