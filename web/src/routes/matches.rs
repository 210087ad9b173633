//! Matches: the schedule (upcoming and live by start time, or those in one state, by game type)
//! and one match with its markets and current odds — what 301 and 302 answer, without login.

use axum::extract::State;
use common::matches::{self, Listing};
use protocol::matches::{Index, MatchState};
use serde::Deserialize;

use super::{Items, Paging};
use crate::AppState;
use crate::error::{ErrorBody, PathParam, QueryParams, WebError};

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// A state code (docs/protocol.md: 0 not started, 1 stopped, 2 open for bets, 3 settling, 4
    /// settled, 5 closed, 6 cancelled, 7 no result, 8 refunded, 9 credited). Default: upcoming and live.
    pub state: Option<i64>,
    /// A game type (`matches.types`).
    pub game: Option<String>,
    #[serde(default)]
    pub offset: usize,
    pub limit: Option<usize>,
}

/// Matches, each with its markets: by default upcoming and live ones by start time; with `state`
/// those in it (finished ones newest first); with `game` of that type.
#[utoipa::path(get, path = "/api/matches", operation_id = "list_matches", tag = "matches", params(MatchQuery),
    responses((status = 200, body = Items, description = "matches (302's `match`)"), (status = 304, description = "not modified"),
              (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    State(st): State<AppState>,
    QueryParams(q): QueryParams<MatchQuery>,
) -> Result<axum::Json<Items>, WebError> {
    let (offset, limit) = Paging { offset: q.offset, limit: q.limit }.bounds(&st)?;
    let state = q
        .state
        .map(|code| match MatchState::from_code(code) {
            Some(MatchState::Pending) | None => Err(WebError::BadRequest(format!("state: no state {code}"))),
            Some(s) => Ok(s),
        })
        .transpose()?;
    let kind = game(&st, q.game)?;
    let families = match state {
        Some(s) => matches::families_of(s),
        None => vec![Index::List, Index::Doing],
    };
    let listing = Listing { families, kind, state, text: None, offset, limit };
    let found = matches::page(&st.redis, &listing).await?;
    Ok(axum::Json(Items::page(&matches::views(&st.redis, &found).await?, offset, limit)?))
}

/// One match with its markets and their current odds (404 for none, a match pending approval, or a
/// market's own id).
#[utoipa::path(get, path = "/api/matches/{id}", operation_id = "get_match", tag = "matches", params(("id" = u64, Path, description = "match id")),
    responses((status = 200, body = Object, description = "302's `match`"), (status = 304, description = "not modified"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn detail(
    State(st): State<AppState>,
    PathParam(id): PathParam<u64>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    match matches::load(&st.redis, id).await? {
        Some(m) if m.is_for_clients() => {
            let markets = matches::markets_of(&st.redis, std::slice::from_ref(&m)).await?;
            Ok(axum::Json(serde_json::to_value(m.view(&markets[0])).map_err(|_| WebError::Internal)?))
        }
        _ => Err(WebError::NotFound(format!("no match {id}"))),
    }
}

/// A known game type, or none.
pub fn game(st: &AppState, game: Option<String>) -> Result<Option<String>, WebError> {
    match game.filter(|g| !g.is_empty()) {
        Some(g) if !st.cfg.matches.types.contains(&g) => {
            Err(WebError::BadRequest(format!("game: one of {}", st.cfg.matches.types.join(", "))))
        }
        g => Ok(g),
    }
}
