//! The audit log (gm_audit in the MySQL record): who did what, to what, when; filtered and paged,
//! newest first.

use axum::extract::State;

use crate::AppState;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody, QueryParams};
use crate::model::*;
use crate::routes::search::{Filter, like_prefix};

/// The audit log, newest first, by staff member, action (prefix), target and day.
#[utoipa::path(get, path = "/api/audit", operation_id = "get_audit_log", tag = "reports", params(AuditQuery),
    responses((status = 200, body = AuditLog), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 503, description = "MySQL does not answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Operator(_staff): Operator,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<axum::Json<AuditLog>, ApiError> {
    let limit = page_size(q.limit, 50)?;
    let mut f = Filter::default();
    if let Some(who) = q.who.filter(|s| !s.is_empty()) {
        f.text("who = ?", who);
    }
    if let Some(action) = q.action.filter(|s| !s.is_empty()) {
        f.text("action LIKE ?", like_prefix(&action));
    }
    if let Some(target) = q.target.filter(|s| !s.is_empty()) {
        f.text("target = ?", target);
    }
    f.days(q.from.as_deref(), q.to.as_deref())?;
    let total = f.count(&st.mysql, "gm_audit").await?;
    let rows: Vec<(String, String, String, String, String, String, u64)> = f
        .page(&st.mysql, "id, who, role, action, target, payload, ts", "gm_audit", "ts DESC, id DESC", limit, q.offset)
        .await?;
    let items = rows
        .into_iter()
        .map(|(id, who, role, action, target, payload, ts)| AuditEntry {
            id,
            who,
            role,
            action,
            target,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
            ts,
        })
        .collect();
    Ok(axum::Json(AuditLog { total, items }))
}
