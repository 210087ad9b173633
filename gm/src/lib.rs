//! # matchday-gm
//!
//! The staff HTTP API (axum): match lifecycle, odds, results, users, grants and bans, payment callbacks,
//! announcements, stats, nodes and queues; `GET /openapi.json` describes every route.
//!
//! - [`run`]: serve on a listener (and the payment provider's, [`Listeners`]) until shutdown.
//!   [`router`] / [`payments_router`]: the apps, with their limits.
//! - `serve`: the front of its listeners (TLS, trusted proxies) and the limits every route shares (request timeout,
//!   concurrency without a queue, body size).
//! - `routes/`: one file per area; each handler carries its OpenAPI description.
//! - `auth`: bearer tokens and roles. `error`: the one error shape. `audit`: who did what.
//! - `model`: request/response bodies and validation.
//! - `console`: the staff web console (gm/console/, embedded), served at `/`.

mod access;
mod audit;
mod auth;
mod console;
mod error;
mod model;
mod routes;
mod serve;
mod staff;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::heartbeat::{Heartbeat, NodeInfo};
use common::{Config, Redis, Shutdown};
use tokio::net::TcpListener;

pub use auth::authenticate;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub redis: Redis,
    pub cfg: Arc<Config>,
    /// The MySQL record (reports, the audit log, user and bet lists); connected on first use, so gm
    /// runs without MySQL and those routes answer 503 `unavailable` meanwhile.
    pub mysql: sqlx::MySqlPool,
}

/// Connections gm keeps to MySQL (reads by staff only).
const MYSQL_POOL: u32 = 4;

/// gm's listeners: the staff API's, and optionally the payment provider's (`gm.payments_listen`).
pub struct Listeners {
    pub api: TcpListener,
    /// When given, the payment callback is served here only (with `/healthz`), not on `api`.
    pub payments: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    /// One listener for everything, the callback included (development).
    fn from(api: TcpListener) -> Listeners {
        Listeners { api, payments: None }
    }
}

/// The whole app on one listener: the API with the payment callback, `/openapi.json`, `/metrics`,
/// `/healthz`, `/readyz`, the console, and JSON 404s; with gm's limits.
pub fn router(state: AppState) -> Router {
    app(state, true)
}

/// The staff listener's app when the payment callback has a listener of its own: as [`router`]
/// without the callback (404 here).
pub fn staff_router(state: AppState) -> Router {
    app(state, false)
}

/// The payment provider's listener: `POST /api/payments/callback` and `/healthz`, nothing else.
pub fn payments_router(state: AppState) -> Router {
    let (api, _) = routes::payments().split_for_parts();
    let api = api
        .route("/healthz", get(|| async { "ok" }))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), replicated));
    serve::guarded(api, &state.cfg.gm).with_state(state)
}

fn app(state: AppState, with_payments: bool) -> Router {
    let api = if with_payments { routes::api().merge(routes::payments()) } else { routes::api() };
    let (api, _) = api.split_for_parts();
    let doc = Arc::new(routes::document());
    let api = api
        .route("/openapi.json", get(move || std::future::ready(axum::Json(doc.as_ref().clone()))))
        .merge(common::telemetry::probes(common::telemetry::redis_ready(state.redis.clone())))
        .merge(console::routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), replicated));
    serve::guarded(api, &state.cfg.gm).with_state(state)
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
    let (res, written) = common::written::tracking(next.run(req)).await;
    if changes
        && res.status().is_success()
        && let Err(e) = st.redis.replicated(&written).await
    {
        tracing::warn!(error = %e, "cannot wait for the Redis replicas; answering 503");
        return error::ApiError::Unavailable.into_response();
    }
    res
}

/// The OpenAPI document (also served at `/openapi.json`), the payment callback included.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::document()
}

/// Serves gm until shutdown: the staff API on `listeners.api`, and the payment callback on
/// `listeners.payments` when given (else on `api`). Refuses to start when `gm.payments_listen` is
/// set but no payments listener was given, so the callback never lands on the staff listener by
/// mistake.
pub async fn run(cfg: Config, listeners: impl Into<Listeners>, shutdown: Shutdown) -> anyhow::Result<()> {
    let Listeners { api: listener, payments } = listeners.into();
    if let (Some(want), None) = (cfg.gm.payments_listen, &payments) {
        anyhow::bail!("gm.payments_listen is {want} but gm was given no listener for it");
    }
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    if cfg.gm.tokens.is_empty() {
        tracing::info!("no gm.tokens configured: staff sign in with personal accounts only (POST /api/staff/login)");
    } else {
        let names: Vec<&str> = cfg.gm.tokens.iter().map(|t| t.name.as_str()).collect();
        tracing::warn!(
            tokens = ?names,
            "gm.tokens are shared credentials: the audit log names the token, not a person; give each person \
             a personal account (POST /api/staff) and keep config tokens for bootstrap and automation"
        );
    }
    let addr = listener.local_addr()?;
    let payments_addr = payments.as_ref().map(TcpListener::local_addr).transpose()?;
    let mut extra = vec![("listen".into(), addr.to_string())];
    if let Some(p) = payments_addr {
        extra.push(("payments_listen".into(), p.to_string()));
    }
    let info = NodeInfo { role: "gm", id: cfg.node.id.clone(), group: cfg.node.group, extra, live: None };
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
    let header_timeout = Duration::from_millis(cfg.gm.header_timeout_ms);
    let front = serve::front(&cfg.gm)?;
    let scheme = front.scheme();
    let mysql = common::mysql::pool(&cfg.mysql.url, MYSQL_POOL)?;
    let state = AppState { redis: redis.clone(), cfg: Arc::new(cfg), mysql: mysql.clone() };
    tracing::info!(listen = %addr, "gm listening on {scheme}://{addr}");
    match (payments, payments_addr) {
        (Some(payments), Some(paddr)) => {
            tracing::info!(listen = %paddr, "gm payment callbacks on http://{paddr}/api/payments/callback only");
            tokio::join!(
                common::http::serve(
                    listener,
                    front.clone(),
                    staff_router(state.clone()),
                    header_timeout,
                    shutdown.clone()
                ),
                common::http::serve(payments, front, payments_router(state), header_timeout, shutdown.clone()),
            );
        }
        _ => common::http::serve(listener, front, router(state), header_timeout, shutdown.clone()).await,
    }
    heartbeat.stopped().await;
    mysql.close().await;
    redis.close().await;
    Ok(())
}
