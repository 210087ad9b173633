//! The notice board (docs/gm.md "Notices"): staff publish a notice — for everyone, one user or the
//! bettors of a match, now or scheduled — list them, and withdraw one. Players list theirs (214),
//! mark them read (215), and get each live as 903 when it is published (pushsvr); the public web
//! pages show those for everyone. `POST /api/announcements` publishes a notice for everyone.

use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use common::notices::{Notice, TEXT_MAX, TITLE_MAX, Target};
use common::store::{notice_publish, notice_withdraw};
use fred::prelude::*;

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Staff, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam, QueryParams};
use crate::model::*;

/// Publish a notice now, or schedule it (`at`). Operator or admin.
#[utoipa::path(post, path = "/api/notices", operation_id = "create_notice", tag = "announcements", request_body = NewNotice,
    responses((status = 201, body = NoticeInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "no such user or match", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Operator(staff): Operator,
    JsonBody(body): JsonBody<NewNotice>,
) -> Result<(StatusCode, axum::Json<NoticeInfo>), ApiError> {
    let notice = publish(&st, &staff, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(info(&notice, common::time::now_ms()))))
}

/// The notices, withdrawn ones too, newest publish time first.
#[utoipa::path(get, path = "/api/notices", operation_id = "list_notices", tag = "announcements", params(NoticeQuery),
    responses((status = 200, body = NoticeList), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Viewer(_staff): Viewer,
    QueryParams(q): QueryParams<NoticeQuery>,
) -> Result<axum::Json<NoticeList>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200) as i64;
    let start = q.offset as i64;
    let ids: Vec<String> =
        st.redis.pool.zrange(st.redis.keys.notices(), start, start + limit - 1, None, true, None, false).await?;
    let now = common::time::now_ms();
    let notices = common::notices::load_many(&st.redis, &ids).await?;
    Ok(axum::Json(NoticeList { items: notices.iter().map(|n| info(n, now)).collect() }))
}

/// One notice.
#[utoipa::path(get, path = "/api/notices/{id}", operation_id = "get_notice", tag = "announcements", params(("id" = String, Path, description = "notice id")),
    responses((status = 200, body = NoticeInfo), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(st): State<AppState>,
    Viewer(_staff): Viewer,
    PathParam(id): PathParam<String>,
) -> Result<axum::Json<NoticeInfo>, ApiError> {
    Ok(axum::Json(info(&load(&st, &id).await?, common::time::now_ms())))
}

/// Withdraw a notice: off every board at once; a scheduled one is not pushed. It stays in this
/// list, marked withdrawn. Operator or admin; 409 when it was withdrawn already.
#[utoipa::path(post, path = "/api/notices/{id}/withdraw", operation_id = "withdraw_notice", tag = "announcements", params(("id" = String, Path, description = "notice id")),
    responses((status = 200, body = NoticeInfo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(id): PathParam<String>,
) -> Result<axum::Json<NoticeInfo>, ApiError> {
    let notice = load(&st, &id).await?;
    let target = format!("notice:{id}");
    let audit = audit::record(&staff, "notice.withdraw", &target, &serde_json::json!({}));
    let args = notice_withdraw::Args {
        id: &id,
        target: notice.target,
        now_ms: common::time::now_ms(),
        withdrawn_by: &staff.name,
        audit: Some(Bytes::from(audit)),
    };
    match notice_withdraw::call(&st.redis, &args).await? {
        notice_withdraw::Outcome::Withdrawn => audit::log(&staff, "notice.withdraw", &target),
        notice_withdraw::Outcome::AlreadyWithdrawn => {
            return Err(ApiError::conflict("already_withdrawn", "the notice was withdrawn already"));
        }
        notice_withdraw::Outcome::NoNotice => return Err(ApiError::NotFound(format!("no notice {id}"))),
    }
    Ok(axum::Json(info(&load(&st, &id).await?, common::time::now_ms())))
}

/// Checks `body` and publishes it (with its audit record): the notice as it is now on the board.
pub(crate) async fn publish(st: &AppState, staff: &Staff, body: &NewNotice) -> Result<Notice, ApiError> {
    let title = body.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if title.is_some_and(|t| t.chars().count() > TITLE_MAX || t.chars().any(char::is_control)) {
        return Err(ApiError::invalid("title", format!("at most {TITLE_MAX} characters, no control characters")));
    }
    if body.text.trim().is_empty() || body.text.chars().count() > TEXT_MAX {
        return Err(ApiError::invalid("text", format!("1 to {TEXT_MAX} characters")));
    }
    let target = Target::parse(body.target.as_deref().unwrap_or("all"), body.target_id).ok_or_else(|| {
        ApiError::invalid("target", "all (no target_id), user with the user's target_id, or match with the match's")
    })?;
    let redis = &st.redis;
    match target {
        Target::User(uid) if !redis.pool.exists::<bool, _>(redis.keys.user(uid)).await? => {
            return Err(ApiError::NotFound(format!("no user {uid}")));
        }
        Target::Match(mid) if common::matches::load(redis, mid).await?.is_none() => {
            return Err(ApiError::NotFound(format!("no match {mid}")));
        }
        _ => {}
    }
    let now = common::time::now_ms();
    let id = common::notices::new_id();
    let target_name = format!("notice:{id}");
    let audit = audit::record(staff, "notice.publish", &target_name, body);
    let args = notice_publish::Args {
        id: &id,
        title,
        text: &body.text,
        target,
        publish_at: body.at.filter(|at| *at > now).unwrap_or(now),
        now_ms: now,
        created_by: &staff.name,
        audit: Some(Bytes::from(audit)),
    };
    match notice_publish::call(redis, &args).await? {
        notice_publish::Outcome::Published | notice_publish::Outcome::Scheduled => {}
        notice_publish::Outcome::Exists => return Err(ApiError::Internal),
    }
    audit::log(staff, "notice.publish", &target_name);
    load(st, &id).await
}

async fn load(st: &AppState, id: &str) -> Result<Notice, ApiError> {
    common::notices::load_many(&st.redis, &[id.to_owned()])
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("no notice {id}")))
}

fn info(n: &Notice, now: u64) -> NoticeInfo {
    let state = match (&n.withdrawn, n.publish_at > now) {
        (Some(_), _) => "withdrawn",
        (None, true) => "scheduled",
        (None, false) => "live",
    };
    NoticeInfo {
        id: n.id.clone(),
        title: n.title.clone(),
        text: n.text.clone(),
        target: n.target.kind().to_owned(),
        target_id: n.target.id(),
        publish_at: n.publish_at,
        created_at: n.created_at,
        created_by: n.created_by.clone(),
        state: state.to_owned(),
        withdrawn_at: n.withdrawn.as_ref().map(|w| w.0),
        withdrawn_by: n.withdrawn.as_ref().map(|w| w.1.clone()),
    }
}
