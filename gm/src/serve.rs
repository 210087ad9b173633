//! How gm serves: hyper's HTTP/1 with a timer, so a client that never finishes its request head is
//! cut after `gm.header_timeout_ms` (`axum::serve` sets no timer, so it has no such timeout), and
//! the limits every route shares: request timeout, concurrency limit without a queue, body size.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::Shutdown;
use common::config::GmConfig;
use common::proxy::{Peer, TrustedProxies};
use common::tls::MaybeTls;
use common::tls::TlsAcceptor;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower_http::add_extension::AddExtension;
use tower_http::limit::RequestBodyLimitLayer;

use crate::AppState;
use crate::error::ApiError;

/// How long the accept loop pauses after a failed accept (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

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

/// What stands between a client and gm's routes on a listener: TLS, and the proxies trusted to
/// name the client.
#[derive(Clone)]
pub struct Front {
    pub tls: Option<TlsAcceptor>,
    pub proxies: Arc<TrustedProxies>,
    /// Trusted proxies start each connection with a PROXY protocol header.
    pub proxy_protocol: bool,
}

impl Front {
    pub fn new(gm: &GmConfig) -> anyhow::Result<Front> {
        Ok(Front {
            tls: common::tls::acceptor("gm", &gm.tls_cert, &gm.tls_key)?,
            proxies: Arc::new(TrustedProxies::parse("gm.trusted_proxies", &gm.trusted_proxies)?),
            proxy_protocol: gm.proxy_protocol,
        })
    }
}

/// Serves `app` on `listener` until `shutdown` (over TLS with `front.tls`: HTTPS); then stops
/// accepting and waits for the requests in progress (idle keep-alive connections are closed).
/// Every request carries its connection's [`Peer`] (the access log names the client).
pub async fn serve(listener: TcpListener, front: Front, app: Router, header_timeout: Duration, shutdown: Shutdown) {
    // HTTP/1 only (what staff browsers, curl and payment providers speak); hyper's header-read
    // timeout needs its timer.
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "gm cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let (builder, app, front, watcher) = (builder.clone(), app.clone(), front.clone(), graceful.watcher());
        tokio::spawn(async move {
            // The PROXY header and the TLS handshake are bounded like the request head.
            let opened = tokio::time::timeout(header_timeout, open(stream, peer, &front)).await;
            let (stream, told) = match opened {
                Ok(Ok(opened)) => opened,
                Ok(Err(e)) => return tracing::debug!(client.addr = %peer, error = %e, "gm connection refused"),
                Err(_) => return tracing::debug!(client.addr = %peer, "gm connection sent no request head in time"),
            };
            let peer = Peer { addr: peer, told, proxies: front.proxies };
            let service = TowerToHyperService::new(AddExtension::new(app, peer));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            // A header timeout, a reset by the client…: the connection's end, nothing to act on.
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "gm connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection's PROXY header (from a trusted proxy, with `proxy_protocol`) and TLS.
async fn open(mut tcp: TcpStream, peer: SocketAddr, front: &Front) -> std::io::Result<(MaybeTls, Option<SocketAddr>)> {
    let told = if front.proxy_protocol && front.proxies.contains(peer.ip()) {
        common::proxy::read_header(&mut tcp).await?
    } else {
        None
    };
    Ok((MaybeTls::accept(tcp, front.tls.as_ref()).await?, told))
}
