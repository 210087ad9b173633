//! The public notice board: the notices staff published for everyone (not those for one player or
//! a match's bettors), newest first; withdrawn and scheduled ones are not shown.

use axum::extract::State;

use super::{Items, Paging};
use crate::AppState;
use crate::error::{ErrorBody, QueryParams, WebError};

/// Notices for everyone, newest first: `{ notice_id, title?, text, published_at }`.
#[utoipa::path(get, path = "/api/notices", operation_id = "list_notices", tag = "notices", params(Paging),
    responses((status = 200, body = Items, description = "notices (214's items without `read`)"),
              (status = 304, description = "not modified"), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<Paging>,
) -> Result<axum::Json<Items>, WebError> {
    let (offset, limit) = q.bounds(&st)?;
    let notices = common::notices::public(&st.redis, common::time::now_ms(), offset, limit).await?;
    let items: Vec<serde_json::Value> = notices
        .iter()
        .filter(|n| n.withdrawn.is_none())
        .map(|n| {
            let mut v = serde_json::to_value(n.view(false)).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("read");
            }
            v
        })
        .collect();
    let next = (notices.len() == limit).then_some(offset + limit);
    Ok(axum::Json(Items { items, next }))
}
