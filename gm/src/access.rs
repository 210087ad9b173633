//! gm's access log and request metrics: one line per request (client, method, route, path,
//! status, latency; the client as its connection's `Peer` resolves it behind a trusted proxy) and, per route, `matchday_gm_requests_total{method,route,status}` and the histogram
//! `matchday_gm_request_seconds{method,route}`. The route is the matched pattern
//! (`/api/matches/{id}`), so the labels stay few; a request no route matched counts as
//! `unmatched`. Probes and scrapes (`/metrics`, `/healthz`, `/readyz`) are logged at debug only.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use common::proxy::Peer;

/// Paths polled by machines: counted, but not logged at info.
const QUIET: &[&str] = &["/metrics", "/healthz", "/readyz"];

/// The middleware (outermost: it sees the status the client gets, refusals of the limits included).
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let path = req.uri().path().to_owned();
    let client = client_of(&req);
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = [("method", method.to_string()), ("route", route.clone())];
    metrics::histogram!("matchday_gm_request_seconds", &labels).record(elapsed.as_secs_f64());
    let mut counted = labels.to_vec();
    counted.push(("status", status.to_string()));
    metrics::counter!("matchday_gm_requests_total", &counted).increment(1);
    let latency_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0; // to the µs
    if QUIET.contains(&route.as_str()) {
        tracing::debug!(%client, %method, %route, %path, status, latency_ms, "gm request");
    } else {
        tracing::info!(%client, %method, %route, %path, status, latency_ms, "gm request");
    }
    response
}

/// The client as the request's connection resolves it (`-` outside gm's own listener: tests).
fn client_of(req: &Request) -> String {
    client(req.headers(), req.extensions().get::<Peer>())
}

/// The client of a request with these headers on the connection `peer` (behind a trusted proxy,
/// the address it names); `-` without a peer (outside gm's own listener: tests).
pub fn client(headers: &axum::http::HeaderMap, peer: Option<&Peer>) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    peer.map_or_else(|| "-".to_owned(), |p| p.client(header("forwarded"), header("x-forwarded-for")).to_string())
}
