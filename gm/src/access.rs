//! gm's access log and request metrics: one line per request (method, route, path, status,
//! latency) and, per route, `matchday_gm_requests_total{method,route,status}` and the histogram
//! `matchday_gm_request_seconds{method,route}`. The route is the matched pattern
//! (`/api/matches/{id}`), so the labels stay few; a request no route matched counts as
//! `unmatched`. Probes and scrapes (`/metrics`, `/healthz`, `/readyz`) are logged at debug only.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Paths polled by machines: counted, but not logged at info.
const QUIET: &[&str] = &["/metrics", "/healthz", "/readyz"];

/// The middleware (outermost: it sees the status the client gets, refusals of the limits included).
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = [("method", method.to_string()), ("route", route.clone())];
    metrics::histogram!("matchday_gm_request_seconds", &labels).record(elapsed.as_secs_f64());
    let mut counted = labels.to_vec();
    counted.push(("status", status.to_string()));
    metrics::counter!("matchday_gm_requests_total", &counted).increment(1);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if QUIET.contains(&route.as_str()) {
        tracing::debug!(%method, route, path, status, latency_ms, "gm request");
    } else {
        tracing::info!(%method, route, path, status, latency_ms, "gm request");
    }
    response
}
