//! The match lifecycle: approve, open, suspend, start, cancel, close, result, and odds. Every state
//! change is one row of `protocol::matches::TRANSITIONS`, applied by `match_transition.lua`.

use axum::extract::State;
use common::matches;
use common::store::match_odds;
use common::store::match_transition::{self, Outcome as Transitioned};
use protocol::matches::{Action, ODDS_EDITABLE, allowed_from, transition};
use serde::Serialize;

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Staff};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam};
use crate::model::*;
use crate::routes::matches::view;

pub(crate) type MatchReply = Result<axum::Json<GmMatch>, ApiError>;

/// What a lifecycle route acts on: a whole match (a match-wide action reaches its markets too), or
/// one market of a match (the match's own id names its default market).
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Match(u64),
    Market { match_id: u64, market_id: u64 },
}

impl Target {
    /// The record the action changes.
    pub fn id(self) -> u64 {
        match self {
            Target::Match(mid) => mid,
            Target::Market { market_id, .. } => market_id,
        }
    }

    /// The match whose view answers.
    fn match_id(self) -> u64 {
        match self {
            Target::Match(mid) | Target::Market { match_id: mid, .. } => mid,
        }
    }

    /// The audit's action prefix and target.
    pub fn audit(self, what: &str) -> (String, String) {
        match self {
            Target::Match(mid) => (format!("match.{what}"), format!("match:{mid}")),
            Target::Market { match_id, market_id } => {
                (format!("market.{what}"), format!("match:{match_id}:market:{market_id}"))
            }
        }
    }

    /// "match 5", "market 7 of match 5".
    pub fn describe(self) -> String {
        match self {
            Target::Match(mid) => format!("match {mid}"),
            Target::Market { match_id, market_id } => format!("market {market_id} of match {match_id}"),
        }
    }

    /// The record it changes, checked: a market must be one of the match's (or the match itself).
    pub async fn load(self, st: &AppState) -> Result<matches::MatchRecord, ApiError> {
        let m = matches::load(&st.redis, self.id()).await?;
        match (self, m) {
            (Target::Match(_), Some(m)) if m.parent.is_none() => Ok(m),
            (Target::Market { match_id, .. }, Some(m)) if m.match_id() == match_id => Ok(m),
            (Target::Match(mid), _) => Err(ApiError::NotFound(format!("no match {mid}"))),
            (Target::Market { match_id, market_id }, _) => {
                Err(ApiError::NotFound(format!("match {match_id} has no market {market_id}")))
            }
        }
    }
}

/// Applies `action` to `target`: 404 if there is no such match (or market), 409 naming the current
/// state and the allowed actions if the table does not allow it; otherwise the match as it is now.
pub async fn apply(
    st: &AppState,
    staff: &Staff,
    target: Target,
    action: Action,
    winner: Option<&str>,
    payload: &impl Serialize,
) -> MatchReply {
    let t = transition(action);
    let (what, on) = target.audit(t.name);
    target.load(st).await?;
    let audit = audit::record(staff, &what, &on, payload);
    let outcome = match target {
        Target::Match(mid) => matches::act(&st.redis, mid, action, winner, &audit).await?,
        Target::Market { market_id, .. } => {
            match_transition::transition(&st.redis, market_id, action, winner, &audit).await?
        }
    };
    match outcome {
        Transitioned::Done { .. } => {
            audit::log(staff, &what, &on);
            Ok(axum::Json(view(&st.redis, target.match_id()).await?))
        }
        Transitioned::Illegal { state, live } => {
            let allowed = allowed_from(state, live);
            let allowed = if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") };
            Err(ApiError::conflict(
                "illegal_transition",
                format!(
                    "cannot {} {}: it is {} ({}); allowed now: {allowed}",
                    t.name,
                    target.describe(),
                    state.name(),
                    state.code()
                ),
            ))
        }
        Transitioned::NotFound => Err(ApiError::NotFound(format!("no {}", target.describe()))),
    }
}

macro_rules! lifecycle_route {
    ($fn:ident, $action:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, operation_id = concat!(stringify!($fn), "_match"), tag = "lifecycle", params(("id" = u64, Path, description = "match id")),
            responses((status = 200, body = GmMatch), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
                      (status = 404, body = ErrorBody), (status = 409, description = "not allowed in the current state", body = ErrorBody)),
            security(("bearer" = [])))]
        pub async fn $fn(State(st): State<AppState>, Operator(staff): Operator, PathParam(mid): PathParam<u64>) -> MatchReply {
            apply(&st, &staff, Target::Match(mid), $action, None, &()).await
        }
    };
}

lifecycle_route!(
    approve,
    Action::Approve,
    "/api/matches/{id}/approve",
    "Approve a pending match: it becomes visible (0)."
);
lifecycle_route!(open, Action::Open, "/api/matches/{id}/open", "Open betting (2).");
lifecycle_route!(suspend, Action::Suspend, "/api/matches/{id}/suspend", "Stop betting for a while (1).");
lifecycle_route!(
    start,
    Action::Start,
    "/api/matches/{id}/start",
    "The match has begun: betting stops (1) and it moves to the live list."
);
lifecycle_route!(
    cancel,
    Action::Cancel,
    "/api/matches/{id}/cancel",
    "Call the match off (6); every stake is refunded by resultcenter."
);
lifecycle_route!(close, Action::Close, "/api/matches/{id}/close", "Archive a finished match (5).");

/// Set the result: a winner key settles the match's default market (3, then resultcenter pays);
/// null means the match ended with no result (7: the stakes of every market not yet resulted are
/// refunded).
#[utoipa::path(post, path = "/api/matches/{id}/result", operation_id = "set_result", tag = "lifecycle", params(("id" = u64, Path, description = "match id")),
    request_body = SetResult,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn result(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(mid): PathParam<u64>,
    JsonBody(body): JsonBody<SetResult>,
) -> MatchReply {
    set_result(&st, &staff, Target::Match(mid), body).await
}

/// The result of `target`: a winner settles it (its options checked first), null refunds it.
pub async fn set_result(st: &AppState, staff: &Staff, target: Target, body: SetResult) -> MatchReply {
    let winner =
        body.winner.ok_or_else(|| ApiError::invalid("winner", "required: an option key, or null for no result"))?;
    match winner {
        Some(key) => {
            let m = target.load(st).await?;
            if m.option(&key).is_none() {
                let keys: Vec<&str> = m.options.iter().map(|o| o.key.as_str()).collect();
                return Err(ApiError::invalid("winner", format!("no option {key:?}; options: {}", keys.join(", "))));
            }
            apply(st, staff, target, Action::Result, Some(&key), &serde_json::json!({ "winner": key })).await
        }
        None => apply(st, staff, target, Action::NoResult, None, &serde_json::json!({ "winner": null })).await,
    }
}

/// Change the odds of some options of the match's default market; bumps `odds_ver`, so bets on
/// the old odds are refused.
#[utoipa::path(put, path = "/api/matches/{id}/odds", operation_id = "set_odds", tag = "lifecycle", params(("id" = u64, Path, description = "match id")),
    request_body = SetOdds,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn odds(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(mid): PathParam<u64>,
    JsonBody(body): JsonBody<SetOdds>,
) -> MatchReply {
    set_odds(&st, &staff, Target::Match(mid), body).await
}

/// Changes the odds of `target`'s options.
pub async fn set_odds(st: &AppState, staff: &Staff, target: Target, body: SetOdds) -> MatchReply {
    if body.options.is_empty() {
        return Err(ApiError::invalid("options", "at least one { key, odds }"));
    }
    let mut seen = std::collections::HashSet::with_capacity(body.options.len());
    let mut changes: Vec<(&str, i64)> = Vec::with_capacity(body.options.len());
    for (i, o) in body.options.iter().enumerate() {
        if o.odds <= 1000 || o.odds > crate::model::MAX_ODDS {
            return Err(ApiError::invalid(format!("options[{i}].odds"), "from 1001 (1.001) to 1000000 (1000.0)"));
        }
        if !seen.insert(o.key.as_str()) {
            return Err(ApiError::invalid(format!("options[{i}].key"), format!("duplicate key {:?}", o.key)));
        }
        changes.push((&o.key, o.odds));
    }
    target.load(st).await?;
    let (what, on) = target.audit("odds");
    let audit = audit::record(staff, &what, &on, &body);
    let args = match_odds::Args {
        mid: target.id(),
        editable: ODDS_EDITABLE,
        changes: &changes,
        now_ms: common::time::now_ms(),
        audit: &audit,
    };
    match match_odds::call(&st.redis, &args).await? {
        match_odds::Outcome::Changed { .. } => {
            audit::log(staff, &what, &on);
            Ok(axum::Json(view(&st.redis, target.match_id()).await?))
        }
        match_odds::Outcome::NotEditable { state } => Err(ApiError::conflict(
            "illegal_transition",
            format!("odds of {} cannot change: it is {}", target.describe(), state.name()),
        )),
        match_odds::Outcome::NotFound => Err(ApiError::NotFound(format!("no {}", target.describe()))),
        match_odds::Outcome::NoOption { key } => {
            Err(ApiError::invalid("options", format!("{} has no option {key:?}", target.describe())))
        }
    }
}
