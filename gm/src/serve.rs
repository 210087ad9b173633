//! The limits every gm route shares: request timeout, concurrency limit without a queue, body size;
//! and the front of its listeners. The serving loop itself is `common::http::serve` (hyper's
//! HTTP/1 with a header-read timer, TLS, the client behind a trusted proxy).

use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::config::GmConfig;
use common::http::Front;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::AppState;
use crate::error::ApiError;

/// Wraps every route of `router` (and its fallback) in gm's limits, outermost first:
/// - the access log and request metrics (`crate::access`);
/// - a 413 from the body limit is given the API's JSON error shape;
/// - a failure of the layers below becomes 503 `busy` (with Retry-After) or 503 `timeout`;
/// - load shedding: when `max_concurrent_requests` are in progress a request is refused at once
///   instead of waiting for a slot;
/// - the concurrency limit (one semaphore for every route of this router);
/// - the request timeout (reading the body included);
/// - the body limit: by Content-Length before anything is read, and on the bytes as they come.
pub fn guarded(router: Router<AppState>, gm: &GmConfig) -> Router<AppState> {
    let timeout_ms = gm.request_timeout_ms;
    router
        .layer(DefaultBodyLimit::max(gm.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(gm.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |e: tower::BoxError| async move { refused(e, timeout_ms) }))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(gm.max_concurrent_requests))
                .layer(TimeoutLayer::new(Duration::from_millis(timeout_ms))),
        )
        .layer(axum::middleware::map_response(json_413))
        .layer(axum::middleware::from_fn(crate::access::observe))
}

/// What the load-shedding and timeout layers' errors answer.
fn refused(e: tower::BoxError, timeout_ms: u64) -> ApiError {
    if e.is::<tower::load_shed::error::Overloaded>() {
        tracing::debug!("gm is at gm.max_concurrent_requests; a request was refused with 503");
        ApiError::Busy
    } else if e.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(timeout_ms, "a gm request was not answered within gm.request_timeout_ms; answered 503");
        ApiError::Timeout(timeout_ms)
    } else {
        tracing::error!(error = %e, "gm middleware failed");
        ApiError::Internal
    }
}

/// tower-http's body limit answers a plain-text 413; the API answers JSON.
async fn json_413(res: Response) -> Response {
    let json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !json { ApiError::TooLarge.into_response() } else { res }
}

/// The front of gm's listeners: TLS (`gm.tls_cert`, `gm.tls_key`) and the trusted proxies.
pub fn front(gm: &GmConfig) -> anyhow::Result<Front> {
    Front::new("gm", &gm.tls_cert, &gm.tls_key, &gm.trusted_proxies, gm.proxy_protocol)
}
