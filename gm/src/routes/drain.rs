//! Draining one process: `POST /api/ops/drain` sends the `drain` control command
//! (common::control) to a live node; it answers "draining" and shuts down as on SIGTERM.

use std::time::Duration;

use axum::extract::State;
use bytes::Bytes;
use fred::prelude::*;

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::model::*;

/// How long gm waits for the drained processes' answers.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Tell a live process to drain: it answers "draining", stops taking work, finishes or returns
/// what it holds, and exits 0, exactly as on SIGTERM. Audited. Admin only.
#[utoipa::path(post, path = "/api/ops/drain", operation_id = "drain_node", tag = "ops", request_body = DrainRequest,
    responses((status = 200, description = "the processes' answers (`silent`: asked, no answer within 5 s)", body = DrainResult),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no live process with that node id (and role)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn drain(
    State(st): State<AppState>,
    Admin(staff): Admin,
    JsonBody(body): JsonBody<DrainRequest>,
) -> Result<axum::Json<DrainResult>, ApiError> {
    if body.node.is_empty() {
        return Err(ApiError::invalid("node", "a node id from GET /api/nodes"));
    }
    let mut nodes: Vec<common::control::Node> = common::control::nodes(&st.redis)
        .await?
        .into_iter()
        .filter(|n| n.id == body.node && body.role.as_ref().is_none_or(|r| *r == n.role))
        .collect();
    // One command per process: under `matchday up` every role shares the node id and the process,
    // and the first role to drain stops them all (the others would not get to answer).
    let mut processes = std::collections::HashSet::new();
    nodes.retain(|n| processes.insert((n.fields.get("host").cloned(), n.fields.get("pid").cloned())));
    if nodes.is_empty() {
        return Err(ApiError::NotFound(format!("no live process with node id {:?}", body.node)));
    }
    let target = format!("node:{}", body.node);
    let record = audit::record(&staff, "node.drain", &target, &body);
    let outbox = st.redis.keys.outbox(common::shards::Home::Global);
    common::written::note(outbox.as_bytes());
    let _: i64 = st.redis.pool.lpush(outbox, Bytes::from(record)).await?;
    audit::log(&staff, "node.drain", &target);
    let answers = common::control::send(&st.redis, &nodes, common::control::DRAIN, &staff.name, ANSWER_WITHIN).await?;
    let silent = nodes.iter().filter(|n| !answers.iter().any(|a| a.role == n.role)).map(|n| n.role.clone()).collect();
    Ok(axum::Json(DrainResult { node: body.node, answers: answers.into_iter().map(Into::into).collect(), silent }))
}
