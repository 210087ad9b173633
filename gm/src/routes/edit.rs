//! Editing a match or one of its markets where that is safe (match_edit.lua): descriptive fields
//! in any state but closed, the start time and type before the start, betting terms before betting
//! ever opened. Every edit is audited, raises the version, is pushed to the match's watchers and
//! bettors (905), and reaches MySQL.

use axum::extract::State;
use common::matches::MatchRecord;
use common::store::match_edit::{self, Outcome, Refusal};

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Staff};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam};
use crate::model::*;
use crate::routes::lifecycle::{MatchReply, Target};
use crate::routes::matches::view;

/// Edit a match: only the fields given change (descriptive ones in any state but closed; the start
/// time and type before the start; the default market's betting terms before betting ever opened).
#[utoipa::path(patch, path = "/api/matches/{id}", operation_id = "edit_match", tag = "matches",
    params(("id" = u64, Path, description = "match id")), request_body = EditMatch,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "not editable in the match's state", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn edit_match(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam(mid): PathParam<u64>,
    JsonBody(body): JsonBody<EditMatch>,
) -> MatchReply {
    if body.is_empty() {
        return Err(ApiError::invalid("body", "nothing to change: give at least one field"));
    }
    let mut fields = body.descriptive_fields(&st.cfg.matches.types)?;
    let target = Target::Match(mid);
    let m = target.load(&st).await?;
    if let Some(winner) = &body.feed_result {
        if !winner.is_empty() && m.option(winner).is_none() {
            let keys: Vec<&str> = m.options.iter().map(|o| o.key.as_str()).collect();
            return Err(ApiError::invalid(
                "feed_result",
                format!("no option {winner:?}; options: {}", keys.join(", ")),
            ));
        }
        fields.extend(["feed_result".to_owned(), winner.clone()]);
    }
    let (terms, changes_terms) =
        edit_fields(&m, body.market.as_ref(), body.options.as_ref(), body.min_stake, body.max_stake)?;
    fields.extend(terms);
    let edit = Edit { fields: &fields, terms: changes_terms, start_at: body.start_at, kind: body.kind.as_deref() };
    apply(&st, &staff, target, &m, edit, &body).await
}

/// Edit one market of a match (the match's own id names its default market): its name in any state
/// but closed, its betting terms before betting on it ever opened.
#[utoipa::path(patch, path = "/api/matches/{id}/markets/{market_id}", operation_id = "edit_market", tag = "markets",
    params(("id" = u64, Path, description = "match id"), ("market_id" = u64, Path, description = "market id")),
    request_body = EditMarket,
    responses((status = 200, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "not editable in the market's state", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn edit_market(
    State(st): State<AppState>,
    Operator(staff): Operator,
    PathParam((match_id, market_id)): PathParam<(u64, u64)>,
    JsonBody(body): JsonBody<EditMarket>,
) -> MatchReply {
    let target = Target::Market { match_id, market_id };
    let m = target.load(&st).await?;
    let (fields, terms) = edit_fields(&m, body.name.as_ref(), body.options.as_ref(), body.min_stake, body.max_stake)?;
    if fields.is_empty() {
        return Err(ApiError::invalid("body", "nothing to change: give at least one field"));
    }
    apply(&st, &staff, target, &m, Edit { fields: &fields, terms, start_at: None, kind: None }, &body).await
}

/// What an edit writes.
struct Edit<'a> {
    fields: &'a [String],
    terms: bool,
    start_at: Option<u64>,
    kind: Option<&'a str>,
}

async fn apply(
    st: &AppState,
    staff: &Staff,
    target: Target,
    m: &MatchRecord,
    edit: Edit<'_>,
    payload: &impl serde::Serialize,
) -> MatchReply {
    let (what, on) = target.audit("edit");
    let audit = audit::record(staff, &what, &on, payload);
    let mut m = m.clone();
    let outcome = loop {
        let args = match_edit::Args {
            mid: m.id,
            kind: &m.kind,
            markets: &m.markets,
            start_at: edit.start_at,
            new_kind: edit.kind,
            terms: edit.terms,
            fields: edit.fields,
            reminder_before_ms: st.cfg.pushsvr.reminder_before_ms,
            now_ms: common::time::now_ms(),
            audit: &audit,
        };
        match match_edit::call(&st.redis, &args).await {
            // Another edit changed the type since it was read: read it again.
            Err(e) if e.refusal().is_some_and(|r| r.contains("type mismatch")) => m = target.load(st).await?,
            other => break other?,
        }
    };
    match outcome {
        Outcome::Edited { .. } => {
            audit::log(staff, &what, &on);
            Ok(axum::Json(view(&st.redis, m.match_id()).await?))
        }
        Outcome::NotEditable { state, why } => {
            let rule = match why {
                Refusal::Closed => "a closed match takes no edit",
                Refusal::Started => "the start time and type change only before the match starts",
                Refusal::Opened => "options and stake limits change only before betting first opens",
            };
            let name = target.describe();
            let state = format!("{} ({})", state.name(), state.code());
            Err(ApiError::conflict("illegal_transition", format!("cannot edit {name}: it is {state}; {rule}")))
        }
        Outcome::NotFound => Err(ApiError::NotFound(format!("no {}", target.describe()))),
    }
}
