//! Announcements to every online player, now or at a time (pushsvr delivers them).

use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use common::store::announce;
use serde::Serialize;

use crate::AppState;
use crate::audit;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::model::*;

/// The event pushsvr reads from q:notify:{…} (or from sched when it is due).
#[derive(Serialize)]
struct Event<'a> {
    kind: &'static str,
    id: &'a str,
    text: &'a str,
    ts: u64,
}

/// Broadcast an announcement now, or schedule it.
#[utoipa::path(post, path = "/api/announcements", operation_id = "create_announcement", tag = "announcements", request_body = Announcement,
    responses((status = 202, body = AnnouncementQueued), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Operator(staff): Operator,
    JsonBody(body): JsonBody<Announcement>,
) -> Result<(StatusCode, axum::Json<AnnouncementQueued>), ApiError> {
    if body.text.trim().is_empty() || body.text.chars().count() > 500 {
        return Err(ApiError::invalid("text", "1 to 500 characters"));
    }
    let now = common::time::now_ms();
    let at = body.at.filter(|at| *at > now);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let event =
        rmp_serde::to_vec_named(&Event { kind: "announcement", id: &id, text: &body.text, ts: at.unwrap_or(now) })
            .map_err(|e| anyhow::anyhow!(e))?;
    let audit = audit::record(&staff, "announcement", &format!("announcement:{id}"), &body);
    let args = announce::Args { event: Bytes::from(event), due_ms: at, audit: Some(Bytes::from(audit)) };
    // Queued now or scheduled: `at` already says which.
    let _: announce::Outcome = announce::call(&st.redis, &args).await?;
    audit::log(&staff, "announcement", &format!("announcement:{id}"));
    Ok((StatusCode::ACCEPTED, axum::Json(AnnouncementQueued { id, scheduled_at: at })))
}
