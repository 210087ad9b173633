//! One WebSocket connection: the handshake, a reader that checks and forwards frames, and a writer
//! fed by a bounded queue that batches whatever is ready into one flush.
//!
//! An idle connection costs connect ~5 KiB of resident memory (docs/benchmarks.md, "Idle
//! connections"); keep it small. Futures that live only for a moment (the handshake, the handling
//! of one frame with its Redis command: ~5 KiB each) are boxed, so they do not size every
//! connection's task for its whole life; the WebSocket read buffer starts small (it grows for a
//! larger frame); the outbound queue holds no buffer while empty.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::tls::TlsAcceptor;
use fred::prelude::*;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use protocol::body::ErrorBody;
use protocol::codec::{
    Origin, decode_client_frame, encode_frame, frame_to_json, parse_json_frame, splice_client_frame,
};
use protocol::{ClientHead, ErrorCode, ReplyHead, msg};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message, http};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async};

use common::tls::MaybeTls;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Node;
use crate::backlog::Admit;
use crate::per_addr::AddrSlot;
use crate::registry::{ConnHandle, ConnState, Outgoing};
use crate::send_queue::SendQueue;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection over the limit may take to send its request before it is dropped.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The body of the 503 answer to a connection over `connect.max_connections`.
const BUSY_BODY: &str =
    "matchday: this server holds as many connections as it may (connect.max_connections); try again later\n";
/// The body of the 503 answer to a connection over `connect.max_connections_per_addr`.
const PER_ADDR_BODY: &str = "matchday: too many connections from your address (connect.max_connections_per_addr); \
                             try again later\n";
/// The answer (code 6) to a frame while the group queue holds `connect.max_queue_depth`.
const QUEUE_FULL: &str = "server busy: too many requests waiting; retry shortly";
/// The close reason of a connection that did not log in within `connect.login_timeout_ms`.
const LOGIN_TIMEOUT: &str = "login timeout";
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_PROTOCOL: u16 = 1002;
const CLOSE_BAD_DATA: u16 = 1007;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
/// The WebSocket read buffer, allocated (and zeroed) per connection. Frames are ~100 bytes; a
/// larger one (up to connect.max_frame_bytes) grows the buffer as it arrives.
const READ_BUFFER_BYTES: usize = 1024;
/// Replies are written when this much is buffered, or when the writer's queue is empty. A
/// threshold, not an allocation.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

type Ws = WebSocketStream<MaybeTls>;

/// A connection's places in the node's and in its address group's counts, given back on drop.
pub struct Slots {
    /// One of `connect.max_connections`.
    pub _node: OwnedSemaphorePermit,
    /// One of `connect.max_connections_per_addr` (taken at accept; for a trusted proxy's
    /// connection, once the client's address is known).
    pub _addr: Option<AddrSlot>,
}

/// Why a connection is refused before its upgrade.
#[derive(Clone, Copy, Debug)]
pub enum Refusal {
    /// The node holds `connect.max_connections`.
    Limit,
    /// The client's address group holds `connect.max_connections_per_addr`.
    PerAddr,
}

/// Serves one accepted TCP connection until it closes; its `slots` are given back then.
///
/// From a trusted proxy (`connect.trusted_proxies`) the client's address is the one the proxy
/// gives — its PROXY header (`connect.proxy_protocol`), else the upgrade request's `Forwarded` /
/// `X-Forwarded-For` — and the connection is counted in that address's group (the accept loop
/// took no per-address slot for it): limits, logs and every frame's head see the client.
pub async fn serve(node: Arc<Node>, tcp: TcpStream, peer: SocketAddr, shutdown: CancellationToken, slots: Slots) {
    let _ = tcp.set_nodelay(true);
    let cfg = &node.cfg.connect;
    let ws_cfg = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(cfg.max_frame_bytes))
        .max_frame_size(Some(cfg.max_frame_bytes));
    let trusted = node.proxies.contains(peer.ip());
    // Boxed: it is over in a moment, and inline it would size every connection's task. The PROXY
    // header and the TLS handshake (wss://) are inside the same timeout.
    let handshake = Box::pin(async {
        let mut tcp = tcp;
        let mut client = peer;
        let mut told = false;
        if trusted
            && cfg.proxy_protocol
            && let Some(addr) = common::proxy::read_header(&mut tcp).await.map_err(tungstenite::Error::Io)?
        {
            (client, told) = (addr, true);
        }
        let stream = MaybeTls::accept(tcp, node.tls.as_ref()).await.map_err(tungstenite::Error::Io)?;
        let mut addr_slot = None;
        #[allow(clippy::result_large_err)] // the signature is tungstenite's Callback
        let upgrade = |req: &Request, resp: Response| {
            let resp = only_ws_path(req, resp)?;
            if !trusted {
                return Ok(resp);
            }
            if !told {
                let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
                let ip = node.proxies.client(peer.ip(), header("forwarded"), header("x-forwarded-for"));
                if ip != peer.ip() {
                    client = SocketAddr::new(ip, 0); // a forwarding header gives no port
                }
            }
            match node.per_addr.try_acquire(client.ip()) {
                Some(slot) => addr_slot = Some(slot),
                None => {
                    node.stats.refused_per_addr();
                    return Err(unavailable(PER_ADDR_BODY));
                }
            }
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, upgrade, Some(ws_cfg)).await?;
        Ok::<_, tungstenite::Error>((ws, client, addr_slot))
    });
    let (ws, addr, _slots) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok((ws, client, addr_slot))) => (ws, client, Slots { _addr: slots._addr.or(addr_slot), ..slots }),
        Ok(Err(e)) => return tracing::debug!(client.addr = %peer, error = %e, "handshake refused"),
        Err(_) => return tracing::debug!(client.addr = %peer, "handshake timed out"),
    };
    let id = node.registry.next_id();
    let span = tracing::info_span!("conn", conn.id = id, client.addr = %addr);
    let (conn, stream, writer) = span.in_scope(|| Conn::open(node, ws, id, addr, &shutdown));
    conn.run(stream, writer, shutdown).instrument(span).await
}

/// Answers a connection over `connect.max_connections` or `connect.max_connections_per_addr`: reads
/// its upgrade request and refuses it with HTTP 503 and a `Retry-After`, then closes. (The request
/// is read first, so that closing does not reset the connection before the client has read the
/// answer.)
pub async fn refuse_busy(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    addr: SocketAddr,
    why: Refusal,
    _permit: OwnedSemaphorePermit,
) {
    // Either callback refuses every request: the handshake ends in an error, or in the timeout.
    let refuse = async {
        let stream = MaybeTls::accept(tcp, tls.as_ref()).await.map_err(tungstenite::Error::Io)?;
        match why {
            Refusal::Limit => accept_hdr_async(stream, busy).await,
            Refusal::PerAddr => accept_hdr_async(stream, busy_addr).await,
        }
    };
    let answered = tokio::time::timeout(REFUSE_TIMEOUT, Box::pin(refuse)).await;
    match answered.map(|_| ()) {
        Ok(_) => tracing::debug!(client.addr = %addr, refusal = ?why, "connection refused"),
        Err(_) => tracing::debug!(client.addr = %addr, "connection over the limit sent no request in time"),
    }
}

#[allow(clippy::result_large_err)] // the signature is tungstenite's Callback
fn busy(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    Err(unavailable(BUSY_BODY))
}

#[allow(clippy::result_large_err)] // the signature is tungstenite's Callback
fn busy_addr(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    Err(unavailable(PER_ADDR_BODY))
}

/// HTTP 503 with `Retry-After: 1` and `body`.
fn unavailable(body: &'static str) -> ErrorResponse {
    let mut err = ErrorResponse::new(Some(body.into()));
    *err.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = err.headers_mut();
    headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    err
}

/// Accepts the upgrade on `/ws` only.
#[allow(clippy::result_large_err)] // the signature is tungstenite's Callback
fn only_ws_path(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    if req.uri().path() == "/ws" {
        return Ok(resp);
    }
    let mut err = ErrorResponse::new(Some("matchday: WebSocket endpoint is /ws\n".into()));
    *err.status_mut() = http::StatusCode::NOT_FOUND;
    Err(err)
}

struct Conn {
    node: Arc<Node>,
    id: u64,
    addr: String,
    state: Arc<ConnState>,
    handle: ConnHandle,
    limiter: DefaultDirectRateLimiter,
    bad_frames: u32,
}

impl Conn {
    /// Registers the connection and starts its writer; the reader is [`Conn::run`]. (Not async, so
    /// that what only the start needs is not kept in the connection's task.)
    fn open(
        node: Arc<Node>,
        ws: Ws,
        id: u64,
        addr: SocketAddr,
        shutdown: &CancellationToken,
    ) -> (Conn, SplitStream<Ws>, JoinHandle<()>) {
        let cfg = &node.cfg.connect;
        let (sink, stream) = ws.split();
        let send_queue = Arc::new(SendQueue::new(cfg.outbound_queue));
        let state = Arc::new(ConnState::default());
        let handle = ConnHandle { send_queue: send_queue.clone(), state: state.clone(), kick: shutdown.child_token() };
        let writer = tokio::spawn(write_loop(sink, send_queue, state.clone()).in_current_span());
        let quota = Quota::per_second(NonZeroU32::new(cfg.rate_per_sec).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(cfg.rate_burst).unwrap_or(NonZeroU32::MIN));
        node.registry.insert(id, handle.clone());
        node.stats.opened();
        tracing::debug!("connected");

        let limiter = RateLimiter::direct(quota);
        let conn = Conn { node, id, addr: addr.to_string(), state, handle, limiter, bad_frames: 0 };
        (conn, stream, writer)
    }

    /// Reads until the connection ends, then closes it and lets its writer finish.
    async fn run(mut self, stream: SplitStream<Ws>, writer: JoinHandle<()>, shutdown: CancellationToken) {
        let close = self.read_loop(stream, &shutdown).await;
        if let Some((code, reason)) = close {
            tracing::debug!(close.code = code, close.reason = %reason, "closing");
            let _ = self.handle.send_queue.push_over_capacity(Outgoing::Close(code, reason));
        }
        self.node.registry.remove(self.id);
        self.handle.send_queue.close();
        let mut writer = writer;
        if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
            // A client that does not read: its socket and buffers go now, not when TCP gives up.
            writer.abort();
        }
        if let Some((uid, _)) = self.state.set_session(None) {
            Box::pin(self.node.set_online(uid, self.id, false)).await; // ~5 KiB: boxed (module doc)
        }
        self.node.stats.closed();
        tracing::debug!("disconnected");
    }

    /// Reads until the client goes, the connection must close (returned: code and reason), or shutdown.
    async fn read_loop(
        &mut self,
        mut stream: SplitStream<Ws>,
        shutdown: &CancellationToken,
    ) -> Option<(u16, Cow<'static, str>)> {
        let cfg = &self.node.cfg.connect;
        let idle = Duration::from_millis(cfg.idle_timeout_ms);
        let mut ping = tokio::time::interval(Duration::from_millis(cfg.ping_interval_ms));
        ping.tick().await;
        let mut last_seen = Instant::now();
        let kick = self.handle.kick.clone();
        // Fixed at the handshake: nothing the client sends moves it. At the deadline a connection
        // that has been bound (logged in or resumed) passes and drops the timer, so it keeps none
        // after that (boxed: module doc on memory); one that has not is closed.
        let mut login_deadline = Some(Box::pin(tokio::time::sleep(Duration::from_millis(cfg.login_timeout_ms))));
        loop {
            tokio::select! {
                () = until(&mut login_deadline) => {
                    login_deadline = None;
                    if !self.state.was_bound() {
                        self.node.stats.login_timeout();
                        return Some((CLOSE_POLICY, LOGIN_TIMEOUT.into()));
                    }
                }
                _ = kick.cancelled() => {
                    if shutdown.is_cancelled() {
                        return Some((CLOSE_GOING_AWAY, "server shutting down".into()));
                    }
                    if let Some(close) = self.state.take_close() {
                        return Some(close); // asked for by the server (a ban)
                    }
                    self.node.stats.slow_consumer();
                    return Some((CLOSE_POLICY, "not reading fast enough".into()));
                }
                _ = ping.tick() => {
                    if last_seen.elapsed() >= idle {
                        return Some((CLOSE_NORMAL, "idle timeout".into()));
                    }
                    let _ = self.handle.send_queue.push(Outgoing::Ping);
                }
                next = stream.next() => {
                    let message = match next {
                        None => return None,
                        Some(Err(tungstenite::Error::Capacity(e))) => {
                            tracing::debug!(error = %e, "frame too large");
                            return Some((CLOSE_TOO_BIG, "frame too large".into()));
                        }
                        Some(Err(tungstenite::Error::Utf8(e))) => {
                            tracing::debug!(error = %e, "text frame is not UTF-8");
                            return Some((CLOSE_BAD_DATA, "text frame is not UTF-8".into()));
                        }
                        Some(Err(tungstenite::Error::Protocol(e))) => {
                            tracing::debug!(error = %e, "WebSocket protocol violation");
                            return Some((CLOSE_PROTOCOL, "WebSocket protocol violation".into()));
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "read failed");
                            return None;
                        }
                        Some(Ok(m)) => m,
                    };
                    last_seen = Instant::now();
                    let frame = match message {
                        Message::Binary(b) => {
                            self.state.json.store(false, Ordering::Relaxed);
                            decode_client_frame(&b).map(|(h, body)| (h, b.slice_ref(body)))
                        }
                        Message::Text(t) => {
                            self.state.json.store(true, Ordering::Relaxed);
                            parse_json_frame(t.as_str()).map(|(h, body)| (h, Bytes::from(body)))
                        }
                        Message::Close(_) => return None,
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                    };
                    // Boxed, one allocation per frame: with fred's command future inside it is ~5 KiB,
                    // and inline it would size every connection's task, idle or not.
                    let close = Box::pin(self.on_frame(frame)).await;
                    if close.is_some() {
                        return close;
                    }
                }
            }
        }
    }

    /// Checks one decoded frame and forwards it, or answers it here. Some(close) ends the connection.
    async fn on_frame(
        &mut self,
        frame: Result<(ClientHead, Bytes), protocol::FrameError>,
    ) -> Option<(u16, Cow<'static, str>)> {
        let (head, body) = match frame {
            Ok(f) => f,
            Err(e) => {
                self.bad_frames += 1;
                self.answer(0, 0, ErrorCode::BadFrame, &format!("bad frame: {e}"));
                if self.bad_frames > self.node.cfg.connect.max_bad_frames {
                    return Some((CLOSE_POLICY, "too many bad frames".into()));
                }
                return None;
            }
        };
        if self.limiter.check().is_err() {
            self.answer(head.id, head.seq, ErrorCode::RateLimited, ErrorCode::RateLimited.message());
            return None;
        }
        let session = self.state.session();
        if session.is_none() && !msg::is_session(head.id) {
            // Before login only session messages pass; the rest is answered here, without Redis:
            // an id the protocol does not know is 3, any other is 4.
            let code = if msg::info(head.id).is_some() { ErrorCode::NotLoggedIn } else { ErrorCode::UnknownMsg };
            self.answer(head.id, head.seq, code, code.message());
            return None;
        }
        if !self.room_in_queue().await {
            self.node.stats.queue_full();
            self.answer(head.id, head.seq, ErrorCode::Unavailable, QUEUE_FULL);
            return None;
        }
        let (uid, sid) = session.map_or((None, None), |(u, s)| (Some(u), Some(s)));
        let origin = Origin {
            node: self.node.node_id.clone(),
            conn: self.id,
            uid,
            sid,
            group: self.node.group,
            addr: self.addr.clone(),
            ts: common::time::now_ms(),
            trace: uuid::Uuid::new_v4().simple().to_string(),
        };
        let (id, seq) = (head.id, head.seq);
        let element = match splice_client_frame(head, origin, &body) {
            Ok(e) => e,
            Err(e) => {
                self.answer(id, seq, ErrorCode::Internal, &e.to_string());
                return None;
            }
        };
        // With the frames of other connections that are waiting: one LPUSH for them all (pusher.rs).
        match self.node.pusher.push(element).await {
            Ok(len) => {
                self.node.stats.forwarded();
                self.node.backlog.pushed(len);
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot queue a frame; answered with code 6");
                self.answer(id, seq, ErrorCode::Unavailable, ErrorCode::Unavailable.message());
            }
        }
        None
    }

    /// Whether the group queue has room for a frame (`connect.max_queue_depth`): mostly without a
    /// command (the last LPUSH's answer decides); while it is full, one frame per
    /// `backlog::RECHECK` reads its length. When Redis does not answer, the push will tell.
    async fn room_in_queue(&self) -> bool {
        match self.node.backlog.admit() {
            Admit::Push => true,
            Admit::Full => false,
            Admit::Recheck => {
                let redis = &self.node.redis;
                let len: Result<i64, _> = redis.pool.with_options(&redis.fail_fast()).llen(&self.node.c2l).await;
                match len {
                    Ok(len) => self.node.backlog.checked(len.max(0) as u64),
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot read the group queue's length");
                        true
                    }
                }
            }
        }
    }

    /// Answers a frame from connect itself.
    fn answer(&self, id: u16, seq: u32, code: ErrorCode, msg: &str) {
        self.node.stats.refused(code.code());
        let head = ReplyHead { id, seq, code: code.code() };
        if let Ok(frame) = encode_frame(&head, &ErrorBody { msg: msg.to_owned() }) {
            self.handle.send(Bytes::from(frame));
        }
    }
}

/// Waits for `deadline`, or forever when there is none.
async fn until(deadline: &mut Option<Pin<Box<Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// Writes what the queue holds, batching every ready item into one flush.
async fn write_loop(mut sink: SplitSink<Ws, Message>, send_queue: Arc<SendQueue>, state: Arc<ConnState>) {
    while let Some(first) = send_queue.recv().await {
        let mut item = Some(first);
        while let Some(out) = item {
            let message = match out {
                Outgoing::Frame(frame) if state.json.load(Ordering::Relaxed) => match frame_to_json(&frame) {
                    Ok(text) => Some(Message::Text(text.into())),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot convert a frame to JSON; dropped");
                        None
                    }
                },
                Outgoing::Frame(frame) => Some(Message::Binary(frame)),
                Outgoing::Ping => Some(Message::Ping(Bytes::new())),
                Outgoing::Close(code, reason) => {
                    let close = CloseFrame { code: code.into(), reason: reason.into_owned().into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    let _ = sink.close().await;
                    return;
                }
            };
            if let Some(m) = message
                && sink.feed(m).await.is_err()
            {
                return;
            }
            item = send_queue.try_recv();
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}
