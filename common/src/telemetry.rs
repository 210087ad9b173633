//! Logs (tracing, human or JSON, level from RUST_LOG) and metrics (Prometheus), plus the small
//! admin HTTP server every process runs: `/metrics`, `/healthz`, `/readyz`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::shutdown::Shutdown;

/// Installs the global tracing subscriber. A second call is a no-op (tests call it freely).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: piped to a file, journald or a collector, a line is plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The buckets of every histogram (all are durations, in seconds): from 100 µs (a read handler, an
/// Redis round trip) to 10 s (a dbsvr batch held while MySQL is slow), about 2.5× apart — the range
/// docs/benchmarks.md measures. Histograms, not summaries: they add up across processes.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide Prometheus recorder (installed on first use).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::debug!("a metrics recorder was already installed");
            }
            // What runs: 1, labelled with the version and the build profile (a dashboard's join key).
            let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
            metrics::gauge!("matchday_build_info", "version" => env!("CARGO_PKG_VERSION"), "profile" => profile)
                .set(1.0);
            handle
        })
        .clone()
}

/// A readiness probe: Ok when the process can do its work.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The address this process's admin server listens on ([`set_admin_addr`]).
static ADMIN_ADDR: OnceLock<SocketAddr> = OnceLock::new();

/// Records where this process's admin server listens, before anything advertises it (the
/// heartbeat); the first address recorded stays.
pub fn set_admin_addr(addr: SocketAddr) {
    let _ = ADMIN_ADDR.set(addr);
}

/// The address of this process's `/metrics`, `/healthz`, `/readyz` server (the one actually
/// bound, which may differ from `metrics.listen` when that port was taken), or None when the
/// process serves none (services run inside a test or a bench). Heartbeats advertise it.
pub fn admin_addr() -> Option<SocketAddr> {
    ADMIN_ADDR.get().copied()
}

/// The probe routes every HTTP server of a process has (the admin server, gm's and web's
/// listeners): `/metrics` (Prometheus), `/healthz` (alive: "ok"), `/readyz` (200 "ready" while
/// `ready` passes, else 503 with why).
pub fn probes<S: Clone + Send + Sync + 'static>(ready: ReadyCheck) -> Router<S> {
    let handle = prometheus();
    Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    match ready().await {
                        Ok(()) => (StatusCode::OK, "ready".to_owned()),
                        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                    }
                }
            }),
        )
}

/// A readiness check that passes while Redis answers a PING (gm's and web's listeners).
pub fn redis_ready(redis: crate::Redis) -> ReadyCheck {
    Arc::new(move || {
        let redis = redis.clone();
        Box::pin(async move {
            use fred::prelude::ClientLike;
            redis.pool.ping::<String>(None).await.map(drop).map_err(|e| format!("Redis: {e}"))
        })
    })
}

/// A client that has not sent a whole request head to the admin server by then is cut.
const ADMIN_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `/metrics`, `/healthz` (alive) and `/readyz` (the check passes) until shutdown, over
/// TLS when `front` has a certificate (`metrics.tls_cert`, `metrics.tls_key`).
pub async fn serve_admin(listener: TcpListener, front: crate::http::Front, ready: ReadyCheck, shutdown: Shutdown) {
    let app = probes(ready);
    crate::http::serve(listener, front, app, ADMIN_HEADER_TIMEOUT, shutdown).await;
}
