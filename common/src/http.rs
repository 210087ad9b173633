//! One HTTP server loop, for gm's listeners and every process's admin server (`/metrics`,
//! `/healthz`, `/readyz`): hyper's HTTP/1 with a header-read timer, TLS when the listener has a
//! certificate, the client's address behind a trusted proxy ([`Peer`]), graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower_http::add_extension::AddExtension;

use crate::Shutdown;
use crate::proxy::{Peer, TrustedProxies};
use crate::tls::{MaybeTls, TlsAcceptor};

/// How long the accept loop pauses after a failed accept (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What stands between a client and a listener's routes: TLS, and the proxies trusted to name the
/// client.
#[derive(Clone)]
pub struct Front {
    pub tls: Option<TlsAcceptor>,
    pub proxies: Arc<TrustedProxies>,
    /// Trusted proxies start each connection with a PROXY protocol header.
    pub proxy_protocol: bool,
}

impl Front {
    /// From the settings of `section` (its `tls_cert`, `tls_key`, `trusted_proxies`), naming them
    /// in an error.
    pub fn new(
        section: &str,
        tls_cert: &str,
        tls_key: &str,
        trusted_proxies: &[String],
        proxy_protocol: bool,
    ) -> anyhow::Result<Front> {
        let proxies = TrustedProxies::parse(&format!("{section}.trusted_proxies"), trusted_proxies)?;
        Ok(Front { tls: crate::tls::acceptor(section, tls_cert, tls_key)?, proxies: Arc::new(proxies), proxy_protocol })
    }

    /// "https" with TLS, else "http".
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// Serves `app` on `listener` until `shutdown` (over TLS with `front.tls`: HTTPS); then stops
/// accepting and waits for the requests in progress (idle keep-alive connections are closed). A
/// connection that has not sent a whole request head within `header_timeout` is cut (hyper's
/// timer: `axum::serve` sets none). Every request carries its connection's [`Peer`] (gm's access
/// log names the client).
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
                    tracing::warn!(error = %e, listen = ?listener.local_addr().ok(), "cannot accept a connection");
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
                Ok(Err(e)) => return tracing::debug!(client.addr = %peer, error = %e, "connection refused"),
                Err(_) => return tracing::debug!(client.addr = %peer, "connection sent no request head in time"),
            };
            let peer = Peer { addr: peer, told, proxies: front.proxies };
            let service = TowerToHyperService::new(AddExtension::new(app, peer));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            // A header timeout, a reset by the client…: the connection's end, nothing to act on.
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection's PROXY header (from a trusted proxy, with `proxy_protocol`) and TLS.
async fn open(mut tcp: TcpStream, peer: SocketAddr, front: &Front) -> std::io::Result<(MaybeTls, Option<SocketAddr>)> {
    let told = if front.proxy_protocol && front.proxies.contains(peer.ip()) {
        crate::proxy::read_header(&mut tcp).await?
    } else {
        None
    };
    Ok((MaybeTls::accept(tcp, front.tls.as_ref()).await?, told))
}
