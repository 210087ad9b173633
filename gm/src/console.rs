//! The staff console: static assets from gm/console/, compiled into the binary (no web server or
//! network access beyond gm itself). `/` serves the page; it talks to `/api/...` like any client.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("../console/index.html");
const APP_JS: &str = include_str!("../console/app.js");
const APP_CSS: &str = include_str!("../console/app.css");

/// `/`, `/console/app.js`, `/console/app.css`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/console/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/console/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    // no-cache: a new binary's console is picked up on the next load.
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body)
}
