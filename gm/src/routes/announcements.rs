//! Announcements to every player, now or at a time: a notice for everyone (routes/notices.rs), kept
//! on the board and pushed (903) to everyone online when it is published.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::model::*;

/// Broadcast an announcement now, or schedule it: a notice for everyone (`POST /api/notices` does
/// more: a title, a user or a match's bettors).
#[utoipa::path(post, path = "/api/announcements", operation_id = "create_announcement", tag = "announcements", request_body = Announcement,
    responses((status = 202, body = AnnouncementQueued), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Operator(staff): Operator,
    JsonBody(body): JsonBody<Announcement>,
) -> Result<(StatusCode, axum::Json<AnnouncementQueued>), ApiError> {
    let notice = NewNotice { title: None, text: body.text, target: None, target_id: None, at: body.at };
    let published = super::notices::publish(&st, &staff, &notice).await?;
    let scheduled_at = Some(published.publish_at).filter(|at| *at > published.created_at);
    Ok((StatusCode::ACCEPTED, axum::Json(AnnouncementQueued { id: published.id, scheduled_at })))
}
