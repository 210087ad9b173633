//! # matchday-web
//!
//! The public read API (docs/web.md): what the app's web pages and anyone may read without logging
//! in — matches by state and game type, one match with its markets and current odds, results,
//! leaderboards, the notice board, and uploaded avatars. JSON over HTTP, read-only, served from the
//! Redis indexes the other services keep (no write, no script: the bet path does not notice it),
//! and cacheable: every answer has an `ETag` and `Cache-Control: public, max-age=web.max_age_s`,
//! and a repeat with `If-None-Match` is a `304` without a body. `GET /openapi.json` describes it.
//!
//! - [`run`]: serve on a listener until shutdown. [`router`]: the app with its limits.
//! - `routes/`: one file per area, each handler with its OpenAPI description.
//! - `cache`: the ETag / conditional GET layer. `error`: the one error shape.

mod cache;
mod error;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::routing::get;
use common::heartbeat::{Heartbeat, NodeInfo};
use common::{Config, Redis, Shutdown};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub redis: Redis,
    pub cfg: Arc<Config>,
}

/// The whole app: the API (cached), `/avatars/`, `/openapi.json`, `/metrics`, `/healthz`,
/// `/readyz`, and JSON 404s; with the limits every request shares.
pub fn router(state: AppState) -> Router {
    let (api, _) = routes::api().split_for_parts();
    let doc = Arc::new(routes::document());
    let web = &state.cfg.web;
    let timeout_ms = web.request_timeout_ms;
    let api = api
        .layer(axum::middleware::from_fn_with_state(state.clone(), cache::conditional))
        .nest_service(
            "/avatars",
            tower_http::services::ServeDir::new(&state.cfg.logic.avatar_dir).append_index_html_on_directories(false),
        )
        .route("/openapi.json", get(move || std::future::ready(axum::Json(doc.as_ref().clone()))))
        .merge(common::telemetry::probes(common::telemetry::redis_ready(state.redis.clone())))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |e: tower::BoxError| async move { error::refused(e, timeout_ms) }))
                .layer(tower::load_shed::LoadShedLayer::new())
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(web.max_concurrent_requests))
                .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(timeout_ms))),
        );
    api.with_state(state)
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::document()
}

/// Serves the public API on `listener` until shutdown.
pub async fn run(cfg: Config, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let addr = listener.local_addr()?;
    let info = NodeInfo {
        role: "web",
        id: cfg.node.id.clone(),
        group: cfg.node.group,
        extra: vec![("listen".into(), addr.to_string())],
        live: None,
    };
    let heartbeat = Heartbeat::start(
        &redis,
        info,
        Duration::from_millis(cfg.queue.heartbeat_interval_ms),
        Duration::from_millis(cfg.queue.heartbeat_ttl_ms),
        &shutdown,
    )
    .await;
    common::control::serve(&redis, "web", &cfg.node.id, &shutdown, common::control::Handlers::new()).await?;
    let header_timeout = Duration::from_millis(cfg.web.header_timeout_ms);
    let front = common::http::Front::new("web", "", "", &[], false)?;
    let state = AppState { redis: redis.clone(), cfg: Arc::new(cfg) };
    tracing::info!(listen = %addr, "web listening on http://{addr}");
    common::http::serve(listener, front, router(state), header_timeout, shutdown.clone()).await;
    heartbeat.stopped().await;
    redis.close().await;
    Ok(())
}
