//! # matchday-gm
//!
//! The staff HTTP API (axum): match lifecycle, odds, results, users, grants and bans, payment callbacks,
//! announcements, stats, nodes and queues; `GET /openapi.json` describes every route.
//!
//! - [`run`]: serve on a listener until shutdown. [`router`]: the app, for tests.
//! - `routes/`: one file per area; each handler carries its OpenAPI description.
//! - `auth`: bearer tokens and roles. `error`: the one error shape. `audit`: who did what.
//! - `model`: request/response bodies and validation.
//! - `console`: the staff web console (gm/console/, embedded), served at `/`.

mod audit;
mod auth;
mod console;
mod error;
mod model;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::heartbeat::{Heartbeat, NodeInfo};
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use tokio::net::TcpListener;

pub use auth::authenticate;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub redis: Redis,
    pub cfg: Arc<Config>,
}

/// The whole app: the API, `/openapi.json`, `/metrics`, `/healthz`, `/readyz`, and JSON 404s.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes::api().split_for_parts();
    let doc = Arc::new(doc);
    let metrics = common::telemetry::prometheus();
    let ready = state.clone();
    api.route("/openapi.json", get(move || std::future::ready(axum::Json(doc.as_ref().clone()))))
        .route("/metrics", get(move || std::future::ready(metrics.render())))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let st = ready.clone();
                async move {
                    let pong: Result<String, _> = st.redis.pool.ping(None).await;
                    match pong {
                        Ok(_) => (StatusCode::OK, "ready".to_owned()),
                        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("Redis: {e}")),
                    }
                }
            }),
        )
        .merge(console::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), replicated))
        .with_state(state)
}

/// With `redis.wait_replicas`, the success of a change (a 2xx to anything but GET/HEAD) is answered
/// only once the replicas hold it. If Redis cannot be asked, the answer is 503: the change may be
/// made, and a retry with the same request id or order id does it at most once.
async fn replicated(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let changes = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    let res = next.run(req).await;
    if changes
        && res.status().is_success()
        && let Err(e) = st.redis.replicated().await
    {
        tracing::warn!(error = %e, "cannot wait for the Redis replicas; answering 503");
        return error::ApiError::Unavailable.into_response();
    }
    res
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api().split_for_parts().1
}

/// Serves gm on `listener` until shutdown.
pub async fn run(cfg: Config, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    if cfg.gm.tokens.is_empty() {
        tracing::warn!("no gm.tokens configured: every API call will be refused with 401");
    }
    let addr = listener.local_addr()?;
    let info = NodeInfo {
        role: "gm",
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
    // `drain` stops gm as SIGTERM does (requests in progress are finished).
    common::control::serve(&redis, "gm", &cfg.node.id, &shutdown, common::control::Handlers::new()).await?;
    let app = router(AppState { redis: redis.clone(), cfg: Arc::new(cfg) });
    tracing::info!(listen = %addr, "gm listening on http://{addr}");
    let s = shutdown.clone();
    axum::serve(listener, app).with_graceful_shutdown(async move { s.cancelled().await }).await?;
    heartbeat.stopped().await;
    redis.close().await;
    Ok(())
}
