//! Every route, registered with its OpenAPI description (utoipa), so the document cannot miss one.
//! The bodies are the client protocol's (docs/protocol.md; JSON Schema in docs/schema/protocol.json):
//! a match is 302's `match`, a leaderboard 404's reply, a notice 214's item without `read`.

pub mod leaderboards;
pub mod matches;
pub mod notices;
pub mod results;

use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::WebError;

#[derive(OpenApi)]
#[openapi(
    info(title = "matchday web", description = "The public read API: matches, results, leaderboards and the notice board, \
        no login. Every answer has an ETag and Cache-Control: public, max-age (web.max_age_s); a repeat with If-None-Match \
        is a 304. Pages: `offset` and `limit`; `next` is the offset of the next page when there may be one."),
    tags((name = "matches"), (name = "leaderboards"), (name = "notices"))
)]
struct ApiDoc;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(matches::list))
        .routes(routes!(matches::detail))
        .routes(routes!(results::list))
        .routes(routes!(leaderboards::board))
        .routes(routes!(notices::list))
}

pub fn document() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// A page of items (JSON objects of the client protocol) and where the next one starts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    /// The `offset` of the next page, when this one is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<usize>,
}

impl Items {
    pub fn page<T: Serialize>(items: &[T], offset: usize, limit: usize) -> Result<Items, WebError> {
        let items =
            items.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>().map_err(|_| WebError::Internal)?;
        let next = (items.len() == limit).then_some(offset + limit);
        Ok(Items { items, next })
    }
}

/// `offset` and `limit` of a page.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items to skip (default 0).
    #[serde(default)]
    pub offset: usize,
    /// Items per page: 1 to web.max_page (default web.default_page).
    pub limit: Option<usize>,
}

impl Paging {
    /// (offset, limit), the limit checked against the config.
    pub fn bounds(&self, st: &AppState) -> Result<(usize, usize), WebError> {
        let web = &st.cfg.web;
        match self.limit.unwrap_or(web.default_page) {
            n if (1..=web.max_page).contains(&n) => Ok((self.offset, n)),
            _ => Err(WebError::BadRequest(format!("limit: 1 to {}", web.max_page))),
        }
    }
}
