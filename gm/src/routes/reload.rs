//! `POST /api/ops/reload`: every logic process loads its Lua handler folder again (docs/lua.md),
//! through the control commands of common::control; the answer lists each process's answer.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use common::control;
use fred::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody, QueryParams};

/// How long to wait for the answers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReloadQuery {
    /// Milliseconds to wait for every logic process to answer (default 5000, at most 60000 and at
    /// most gm.request_timeout_ms − 1000, so the answer beats the request timeout).
    pub timeout_ms: Option<u64>,
}

/// One logic process's answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReloadAnswer {
    pub node: String,
    /// True when the new handlers are in place; false when the process kept its old ones.
    pub ok: bool,
    /// The new handler set ("2 module(s) [...], msg ids [...]"), or the error with file:line.
    pub detail: String,
}

/// What every logic process said.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReloadResult {
    /// The answers, sorted by node.
    pub nodes: Vec<ReloadAnswer>,
    /// Logic processes (by heartbeat) that did not answer in time.
    pub missing: Vec<String>,
}

/// Reload the Lua handlers of every logic process. 200 when all reloaded; 422 when any kept its old
/// handlers (the answers carry the error, file:line); 504 when some process did not answer in time.
#[utoipa::path(post, path = "/api/ops/reload", operation_id = "reload_handlers", tag = "ops", params(ReloadQuery),
    responses(
        (status = 200, body = ReloadResult, description = "every logic process reloaded"),
        (status = 422, body = ReloadResult, description = "some process failed to load the folder and kept its old handlers"),
        (status = 504, body = ReloadResult, description = "some process did not answer in time"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reload(
    State(st): State<AppState>,
    Admin(staff): Admin,
    QueryParams(q): QueryParams<ReloadQuery>,
) -> Result<(StatusCode, axum::Json<ReloadResult>), ApiError> {
    let max = st.cfg.gm.request_timeout_ms.saturating_sub(1000).clamp(1, 60_000);
    let timeout = q.timeout_ms.unwrap_or(5000.min(max));
    if !(1..=max).contains(&timeout) {
        return Err(ApiError::invalid(
            "timeout_ms",
            format!("1 to {max} (gm.request_timeout_ms − 1000, at most 60000)"),
        ));
    }
    let nodes: Vec<control::Node> =
        control::nodes(&st.redis).await?.into_iter().filter(|n| n.role == "logic").collect();
    let record = audit::record(&staff, "ops.reload", "logic", &serde_json::json!({ "nodes": nodes.len() }));
    let outbox = st.redis.keys.outbox(common::shards::Home::Global);
    common::written::note(outbox.as_bytes());
    let _: i64 = st.redis.pool.lpush(outbox, bytes::Bytes::from(record)).await?;
    let answers = control::send(&st.redis, &nodes, "reload", &staff.name, Duration::from_millis(timeout)).await?;
    audit::log(&staff, "ops.reload", "logic");
    let result = tally(&nodes, answers);
    let status = if result.nodes.iter().any(|a| !a.ok) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if !result.missing.is_empty() {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(result)))
}

/// The answers by node, and the nodes that gave none.
pub fn tally(nodes: &[control::Node], answers: Vec<control::Answer>) -> ReloadResult {
    let mut out: Vec<ReloadAnswer> =
        answers.into_iter().map(|a| ReloadAnswer { node: a.node, ok: a.ok, detail: a.detail }).collect();
    out.sort_by(|a, b| a.node.cmp(&b.node));
    let missing = nodes.iter().filter(|n| !out.iter().any(|a| a.node == n.id)).map(|n| n.id.clone()).collect();
    ReloadResult { nodes: out, missing }
}
