//! A match's markets: adding one, and each market's own lifecycle (open, suspend, cancel — void,
//! every stake refunded —, close), result and odds. A match's own id names its default market
//! here, so its market alone can be acted on (`/api/matches/{id}/...` acts on the whole match).

use axum::extract::State;
use axum::http::StatusCode;
use common::store::market_create;
use protocol::matches::{Action, ODDS_EDITABLE};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Staff};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam};
use crate::model::*;
use crate::routes::lifecycle::{MatchReply, Target, apply, set_odds, set_result};
use crate::routes::matches::view;

/// Add a market to a match that is not finished: pending if the match is, else not open (open it).
#[utoipa::path(post, path = "/api/matches/{id}/markets", operation_id = "add_market", tag = "markets",
    params(("id" = u64, Path, description = "match id")), request_body = NewMarket,
    responses((status = 201, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "the match is finished", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(mid): PathParam<u64>,
    JsonBody(body): JsonBody<NewMarket>,
) -> Result<(StatusCode, axum::Json<GmMatch>), ApiError> {
    validate_market(&body, "")?;
    let m = Target::Match(mid).load(&st).await?;
    if m.markets.len() >= MAX_MARKETS {
        return Err(ApiError::invalid("markets", format!("match {mid} has {MAX_MARKETS} markets already")));
    }
    insert(&st, &staff, mid, &body).await?;
    Ok((StatusCode::CREATED, axum::Json(view(&st.redis, mid).await?)))
}

/// Runs market_create.lua for match `mid`; the new market's id.
pub async fn insert(st: &AppState, staff: &Staff, mid: u64, market: &NewMarket) -> Result<u64, ApiError> {
    let m = Target::Match(mid).load(st).await?;
    let id: u64 = fred::interfaces::KeysInterface::incr(&st.redis.pool, st.redis.keys.match_seq()).await?;
    let on = format!("match:{mid}:market:{id}");
    let audit = audit::record(staff, "market.create", &on, market);
    let fields = market.fields(m.min_stake, m.max_stake);
    let args = market_create::Args {
        id,
        parent: mid,
        editable: ODDS_EDITABLE,
        fields: &fields,
        now_ms: common::time::now_ms(),
        audit: &audit,
    };
    match market_create::call(&st.redis, &args).await? {
        market_create::Outcome::Created { id } => {
            audit::log(staff, "market.create", &on);
            Ok(id)
        }
        market_create::Outcome::NoMatch => Err(ApiError::NotFound(format!("no match {mid}"))),
        market_create::Outcome::NotEditable { state } => Err(ApiError::conflict(
            "illegal_transition",
            format!("match {mid} takes no new market: it is {}", state.name()),
        )),
    }
}

/// What staff can do to one market by name.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarketAction {
    /// Open betting (2).
    Open,
    /// Stop betting for a while (1).
    Suspend,
    /// Void the market (6): every stake refunded.
    Cancel,
    /// Archive a finished market (5).
    Close,
}

/// Open, suspend, void (cancel) or archive (close) one market of a match.
#[utoipa::path(post, path = "/api/matches/{id}/markets/{market_id}/{action}", operation_id = "market_action", tag = "markets",
    params(("id" = u64, Path, description = "match id"), ("market_id" = u64, Path, description = "market id (the match id: its default market)"),
           ("action" = inline(MarketAction), Path, description = "open, suspend, cancel or close")),
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "not allowed in the market's state", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam((match_id, market_id, action)): PathParam<(u64, u64, MarketAction)>,
) -> MatchReply {
    let action = match action {
        MarketAction::Open => Action::Open,
        MarketAction::Suspend => Action::Suspend,
        MarketAction::Cancel => Action::Cancel,
        MarketAction::Close => Action::Close,
    };
    apply(&st, &staff, Target::Market { match_id, market_id }, action, None, &()).await
}

/// Set one market's result: a winner key settles it; null refunds it (no result).
#[utoipa::path(post, path = "/api/matches/{id}/markets/{market_id}/result", operation_id = "set_market_result", tag = "markets",
    params(("id" = u64, Path, description = "match id"), ("market_id" = u64, Path, description = "market id")),
    request_body = SetResult,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn result(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam((match_id, market_id)): PathParam<(u64, u64)>,
    JsonBody(body): JsonBody<SetResult>,
) -> MatchReply {
    set_result(&st, &staff, Target::Market { match_id, market_id }, body).await
}

/// Change the odds of some options of one market; bumps its `odds_ver`.
#[utoipa::path(put, path = "/api/matches/{id}/markets/{market_id}/odds", operation_id = "set_market_odds", tag = "markets",
    params(("id" = u64, Path, description = "match id"), ("market_id" = u64, Path, description = "market id")),
    request_body = SetOdds,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn odds(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam((match_id, market_id)): PathParam<(u64, u64)>,
    JsonBody(body): JsonBody<SetOdds>,
) -> MatchReply {
    set_odds(&st, &staff, Target::Market { match_id, market_id }, body).await
}
