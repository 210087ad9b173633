//! Leaderboards: net winnings (`net`) or correct picks (`picks`) of a day, a week or all time, as
//! settlement keeps them (`common::leaderboard`): 404's reply without a player's own place.

use axum::extract::State;
use common::leaderboard;
use serde::Deserialize;

use super::Paging;
use crate::AppState;
use crate::error::{ErrorBody, PathParam, QueryParams, WebError};

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// The day (YYYY-MM-DD) or a day of the week (UTC) for `day` and `week`; default today.
    pub date: Option<String>,
    #[serde(default)]
    pub offset: usize,
    pub limit: Option<usize>,
}

/// One board, best first.
#[utoipa::path(get, path = "/api/leaderboards/{board}/{period}", operation_id = "get_leaderboard", tag = "leaderboards",
    params(("board" = String, Path, description = "net or picks"), ("period" = String, Path, description = "day, week or all"), BoardQuery),
    responses((status = 200, body = Object, description = "404's reply: { board, period, items: [{ rank, user_id, name, score }] }"),
              (status = 304, description = "not modified"), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn board(
    State(st): State<AppState>,
    PathParam((board, period)): PathParam<(String, String)>,
    QueryParams(q): QueryParams<BoardQuery>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    let (offset, limit) = Paging { offset: q.offset, limit: q.limit }.bounds(&st)?;
    let (board, period) = leaderboard::choose(Some(&board), Some(&period), q.date.as_deref(), common::time::now_ms())
        .map_err(WebError::BadRequest)?;
    let view = leaderboard::view(&st.redis, board, period, offset, limit, None).await?;
    Ok(axum::Json(serde_json::to_value(view).map_err(|_| WebError::Internal)?))
}
