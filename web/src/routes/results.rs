//! Results: finished matches (settled, refunded, closed), newest first, each with every market's
//! result.

use axum::extract::State;
use common::matches::{self, Listing};
use protocol::matches::Index;
use serde::Deserialize;

use super::{Items, Paging};
use crate::AppState;
use crate::error::{ErrorBody, QueryParams, WebError};

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultQuery {
    /// A game type (`matches.types`).
    pub game: Option<String>,
    #[serde(default)]
    pub offset: usize,
    pub limit: Option<usize>,
}

/// Finished matches, newest first, with their markets' results.
#[utoipa::path(get, path = "/api/results", operation_id = "list_results", tag = "matches", params(ResultQuery),
    responses((status = 200, body = Items, description = "finished matches (302's `match`, with `result`)"),
              (status = 304, description = "not modified"), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<ResultQuery>,
) -> Result<axum::Json<Items>, WebError> {
    let (offset, limit) = Paging { offset: q.offset, limit: q.limit }.bounds(&st)?;
    let kind = super::matches::game(&st, q.game)?;
    let listing = Listing { families: vec![Index::Finished], kind, state: None, text: None, offset, limit };
    let found = matches::page(&st.redis, &listing).await?;
    Ok(axum::Json(Items::page(&matches::views(&st.redis, &found).await?, offset, limit)?))
}
