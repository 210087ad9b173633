//! Creating, importing, listing and reading matches.

use axum::extract::State;
use axum::http::StatusCode;
use common::Redis;
use common::matches::{self, MatchRecord};
use common::store::match_create;
use fred::prelude::*;
use protocol::matches::{Index, MatchState};

use crate::AppState;
use crate::audit;
use crate::auth::{Operator, Staff, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam, QueryParams};
use crate::model::*;

/// Create a match (pending approval).
#[utoipa::path(post, path = "/api/matches", operation_id = "create_match", tag = "matches", request_body = CreateMatch,
    responses((status = 201, body = GmMatch), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Operator(staff): Operator,
    JsonBody(body): JsonBody<CreateMatch>,
) -> Result<(StatusCode, axum::Json<GmMatch>), ApiError> {
    validate(&body, &st.cfg.matches.types, "")?;
    let (mid, _) = insert(&st, &staff, &body, None).await?;
    for market in &body.markets {
        crate::routes::markets::insert(&st, &staff, mid, market).await?;
    }
    Ok((StatusCode::CREATED, axum::Json(view(&st.redis, mid).await?)))
}

/// Import matches from a data feed; idempotent by `external_id`.
#[utoipa::path(post, path = "/api/matches/import", operation_id = "import_matches", tag = "matches", request_body = ImportBody,
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    State(st): State<AppState>,
    Operator(staff): Operator,
    JsonBody(body): JsonBody<ImportBody>,
) -> Result<axum::Json<ImportResult>, ApiError> {
    if body.matches.is_empty() || body.matches.len() > 1000 {
        return Err(ApiError::invalid("matches", "1 to 1000 matches per import"));
    }
    for (i, item) in body.matches.iter().enumerate() {
        let ok = !item.external_id.is_empty()
            && item.external_id.len() <= 100
            && !item.external_id.contains(char::is_whitespace);
        if !ok {
            return Err(ApiError::invalid(format!("matches[{i}].external_id"), "1 to 100 characters, no spaces"));
        }
        if body.matches[..i].iter().any(|p| p.external_id == item.external_id) {
            return Err(ApiError::invalid(format!("matches[{i}].external_id"), "listed twice"));
        }
        validate(&item.spec, &st.cfg.matches.types, &format!("matches[{i}]."))?;
    }
    let mut items = Vec::with_capacity(body.matches.len());
    for item in &body.matches {
        let (match_id, created) = insert(&st, &staff, &item.spec, Some(&item.external_id)).await?;
        if created {
            for market in &item.spec.markets {
                crate::routes::markets::insert(&st, &staff, match_id, market).await?;
            }
        }
        items.push(ImportedItem { external_id: item.external_id.clone(), match_id, created });
    }
    Ok(axum::Json(ImportResult { items }))
}

/// Runs match_create.lua; returns the match id and whether it was created now.
async fn insert(
    st: &AppState,
    staff: &Staff,
    m: &CreateMatch,
    external_id: Option<&str>,
) -> Result<(u64, bool), ApiError> {
    let keys = &st.redis.keys;
    let ext = external_id.unwrap_or("");
    if !ext.is_empty() {
        // Spare the id and the audit record when the feed item is known (the script checks again).
        let known: Option<u64> = st.redis.pool.get(keys.match_ext(ext)).await?;
        if let Some(mid) = known {
            return Ok((mid, false));
        }
    }
    let mid: u64 = st.redis.pool.incr(keys.match_seq()).await?;
    let action = if ext.is_empty() { "match.create" } else { "match.import" };
    let audit = audit::record(staff, action, &format!("match:{mid}"), m);
    let fields = m.fields();
    let args = match_create::Args {
        mid,
        external_id,
        fields: &fields,
        start_at: m.start_at,
        now_ms: common::time::now_ms(),
        reminder_before_ms: st.cfg.pushsvr.reminder_before_ms,
        audit: &audit,
    };
    match match_create::call(&st.redis, &args).await? {
        match_create::Outcome::Created { mid } => {
            audit::log(staff, action, &format!("match:{mid}"));
            Ok((mid, true))
        }
        match_create::Outcome::AlreadyImported { mid } => Ok((mid, false)),
    }
}

/// List matches, by state and type, and text in the title or a team's name, paged.
#[utoipa::path(get, path = "/api/matches", operation_id = "list_matches", tag = "matches", params(ListQuery),
    responses((status = 200, body = MatchList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<axum::Json<MatchList>, ApiError> {
    let limit = q.limit.unwrap_or(20).min(st.cfg.matches.max_page);
    let state = match q.state {
        Some(code) => Some(
            MatchState::from_code(code as i64).ok_or_else(|| ApiError::invalid("state", format!("no state {code}")))?,
        ),
        None => None,
    };
    if let Some(kind) = &q.kind
        && !st.cfg.matches.types.contains(kind)
    {
        return Err(ApiError::invalid("type", format!("unknown type {kind:?}")));
    }
    if q.q.as_ref().is_some_and(|t| t.len() > 100) {
        return Err(ApiError::invalid("q", "at most 100 characters"));
    }
    let listing = matches::Listing {
        families: match state {
            Some(s) => matches::families_of(s),
            None => vec![Index::Pending, Index::List, Index::Doing, Index::Finished],
        },
        kind: q.kind,
        state,
        text: q.q.map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()),
        offset: q.offset,
        limit,
    };
    let found = matches::page(&st.redis, &listing).await?;
    Ok(axum::Json(MatchList { items: views(&st.redis, found).await? }))
}

/// One match, with pool totals and bet count.
#[utoipa::path(get, path = "/api/matches/{id}", operation_id = "get_match", tag = "matches", params(("id" = u64, Path, description = "match id")),
    responses((status = 200, body = GmMatch), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn detail(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    PathParam(mid): PathParam<u64>,
) -> Result<axum::Json<GmMatch>, ApiError> {
    Ok(axum::Json(view(&st.redis, mid).await?))
}

/// The staff view of match `mid`, or 404 (a market's id is no match).
pub async fn view(redis: &Redis, mid: u64) -> Result<GmMatch, ApiError> {
    let m = matches::load(redis, mid)
        .await?
        .filter(|m| m.parent.is_none())
        .ok_or_else(|| ApiError::NotFound(format!("no match {mid}")))?;
    Ok(views(redis, vec![m]).await?.remove(0))
}

/// Staff views of matches with their markets, with the pools and bet counts of each summed over
/// the shards in one round trip. A market's bet count is its open bets (each shard's work list
/// `match:{mid}:open`) plus those settled so far (each shard's copy counts them, as
/// settle_batch.lua takes bets off its open list).
async fn views(redis: &Redis, records: Vec<MatchRecord>) -> Result<Vec<GmMatch>, ApiError> {
    let markets = matches::markets_of(redis, &records).await?;
    let ids: Vec<u64> = records.iter().chain(markets.iter().flatten()).map(|m| m.id).collect();
    let mut totals = matches::shard_totals(redis, &ids).await?.into_iter();
    let mut staff_view = |mut m: MatchRecord| {
        let t = totals.next().unwrap_or_default();
        m.settled = t.settled;
        GmMatch::new(m, t.pool, t.open + t.settled)
    };
    let mut out: Vec<GmMatch> = records.into_iter().map(&mut staff_view).collect();
    for (view, markets) in out.iter_mut().zip(markets) {
        let default = GmMatch { markets: Vec::new(), ..view.clone() };
        view.markets = std::iter::once(default).chain(markets.into_iter().map(&mut staff_view)).collect();
    }
    Ok(out)
}
