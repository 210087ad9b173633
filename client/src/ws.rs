//! [`Client`]: one WebSocket connection to connect. Requests carry a seq the client picks (1, 2, …);
//! replies are matched to them by seq, so several requests may be in flight at once; pushes (seq 0)
//! are kept in a queue of their own. Every wait has a timeout; nothing panics.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::ClientHead;
use protocol::codec::encode_frame;
use serde::Serialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{ClientError, Format, Frame};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a [`Client`] connects and waits.
#[derive(Debug, Clone)]
pub struct Options {
    /// The format requests are sent in (replies are read in either).
    pub format: Format,
    /// How long a read may wait for the next frame before it fails with [`ClientError::Timeout`].
    pub reply_timeout: Duration,
    /// How long connecting (TCP and the handshake) may take.
    pub connect_timeout: Duration,
    /// Pushes kept while nobody reads them; past this the oldest is dropped (and counted). 0 keeps none.
    pub push_queue: usize,
    /// Connect from this local address (any of 127.0.0.0/8 on Linux, say).
    pub bind: Option<IpAddr>,
    /// The client version sent in every head (`ver`), logged by the server.
    pub version: Option<String>,
    /// WebSocket read buffer. The protocol's frames are small, and tungstenite zeroes a whole read
    /// buffer's worth on every read, so the default is 4 KiB rather than tungstenite's 128 KiB.
    pub read_buffer_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: Format::MessagePack,
            reply_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            push_queue: 1024,
            bind: None,
            version: None,
            read_buffer_bytes: 4096,
        }
    }
}

/// The session a login or resume opened: who, and the token that resumes it next (rotated by
/// every resume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: u64,
    pub token: String,
}

/// One WebSocket connection speaking the matchday protocol.
pub struct Client {
    ws: Ws,
    opts: Options,
    seq: u32,
    /// Replies that arrived while the client waited for another one, oldest first.
    replies: VecDeque<Frame>,
    /// Pushes not yet taken, oldest first.
    pushes: VecDeque<Frame>,
    pushes_dropped: u64,
    pub(crate) session: Option<Session>,
}

impl Client {
    /// Connects to `url` (e.g. `ws://127.0.0.1:7001/ws`) with the default [`Options`].
    pub async fn connect(url: &str) -> Result<Client, ClientError> {
        Client::connect_with(url, Options::default()).await
    }

    pub async fn connect_with(url: &str, opts: Options) -> Result<Client, ClientError> {
        let ws = tokio::time::timeout(opts.connect_timeout, open(url, &opts))
            .await
            .map_err(|_| ClientError::Timeout(opts.connect_timeout))??;
        Ok(Client {
            ws,
            opts,
            seq: 0,
            replies: VecDeque::new(),
            pushes: VecDeque::new(),
            pushes_dropped: 0,
            session: None,
        })
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Sends the following requests in `format`.
    pub fn set_format(&mut self, format: Format) {
        self.opts.format = format;
    }

    /// The session of the last login or resume on this connection (None after a logout).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The token that resumes the session next (a resume rotates it).
    pub fn token(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.token.as_str())
    }

    /// The seq of the last request sent.
    pub fn last_seq(&self) -> u32 {
        self.seq
    }

    /// Sends request `id` and waits for its reply, whatever its code (see [`Frame::ok`]). Pushes
    /// that arrive first are queued ([`Client::next_push`]); replies to other requests in flight
    /// are kept for [`Client::next_reply`] / [`Client::reply_to`].
    pub async fn call<B: Serialize + ?Sized>(&mut self, id: u16, body: &B) -> Result<Frame, ClientError> {
        let seq = self.send(id, body).await?;
        self.flush().await?;
        let reply = self.reply_to(seq).await?;
        if reply.head.id != id {
            return Err(ClientError::Unmatched { head: reply.head });
        }
        Ok(reply)
    }

    /// Queues request `id` (written at once, but the socket is flushed only by [`Client::flush`]);
    /// returns its seq. Pipelining: send several, flush once, then read their replies.
    pub async fn send<B: Serialize + ?Sized>(&mut self, id: u16, body: &B) -> Result<u32, ClientError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let head = ClientHead { id, seq: self.seq, ver: self.opts.version.clone() };
        let message = match self.opts.format {
            Format::MessagePack => Message::Binary(encode_frame(&head, body)?.into()),
            Format::Json => Message::Text(
                serde_json::to_string(&(&head, body)).map_err(|e| protocol::FrameError::Encode(e.to_string()))?.into(),
            ),
        };
        self.ws.feed(message).await?;
        Ok(self.seq)
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        Ok(self.ws.flush().await?)
    }

    /// Sends one binary message as is (no seq of ours: for tools that probe the server).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<(), ClientError> {
        Ok(self.ws.send(Message::Binary(bytes.into())).await?)
    }

    /// Sends one text message as is.
    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        Ok(self.ws.send(Message::Text(text.into())).await?)
    }

    /// Sends a WebSocket ping (not the protocol's 100 ping): a sign of life the server answers
    /// with a pong, which the reads skip.
    pub async fn send_ping(&mut self, payload: Vec<u8>) -> Result<(), ClientError> {
        Ok(self.ws.send(Message::Ping(payload.into())).await?)
    }

    /// The reply to request `seq` (kept earlier, or read now). Pushes are queued; replies to
    /// other requests are kept.
    pub async fn reply_to(&mut self, seq: u32) -> Result<Frame, ClientError> {
        if let Some(i) = self.replies.iter().position(|f| f.head.seq == seq) {
            return Ok(self.replies.remove(i).expect("index in range"));
        }
        loop {
            let f = self.recv_frame().await?;
            if f.is_push() {
                self.keep_push(f);
            } else if f.head.seq == seq {
                return Ok(f);
            } else if f.head.seq == 0 {
                return Err(ClientError::Unmatched { head: f.head });
            } else {
                self.replies.push_back(f);
            }
        }
    }

    /// The next reply, in arrival order, to any request (pushes are queued). The caller matches it
    /// to its request by `head.seq`.
    pub async fn next_reply(&mut self) -> Result<Frame, ClientError> {
        if let Some(f) = self.replies.pop_front() {
            return Ok(f);
        }
        loop {
            let f = self.recv_frame().await?;
            if !f.is_push() {
                return Ok(f);
            }
            self.keep_push(f);
        }
    }

    /// The next push: a queued one, or the next to arrive (replies meanwhile are kept).
    pub async fn next_push(&mut self) -> Result<Frame, ClientError> {
        if let Some(f) = self.pushes.pop_front() {
            return Ok(f);
        }
        loop {
            let f = self.recv_frame().await?;
            if f.is_push() {
                return Ok(f);
            }
            self.replies.push_back(f);
        }
    }

    /// A queued push, without waiting.
    pub fn take_push(&mut self) -> Option<Frame> {
        self.pushes.pop_front()
    }

    /// Every queued push, oldest first (the queue is emptied).
    pub fn drain_pushes(&mut self) -> Vec<Frame> {
        self.pushes.drain(..).collect()
    }

    /// Pushes dropped because the queue was full ([`Options::push_queue`]).
    pub fn pushes_dropped(&self) -> u64 {
        self.pushes_dropped
    }

    fn keep_push(&mut self, f: Frame) {
        if self.opts.push_queue == 0 {
            self.pushes_dropped += 1;
            return;
        }
        if self.pushes.len() == self.opts.push_queue {
            self.pushes.pop_front();
            self.pushes_dropped += 1;
        }
        self.pushes.push_back(f);
    }

    /// The next frame off the socket, reply or push, bypassing both queues (pings are answered
    /// and skipped). A close from the server is [`ClientError::Closed`].
    pub async fn recv_frame(&mut self) -> Result<Frame, ClientError> {
        loop {
            let next = tokio::time::timeout(self.opts.reply_timeout, self.ws.next())
                .await
                .map_err(|_| ClientError::Timeout(self.opts.reply_timeout))?;
            match next.ok_or(ClientError::Closed { code: None, reason: String::new() })?? {
                Message::Binary(b) => return Frame::from_msgpack(b),
                Message::Text(t) => return Frame::from_json(t.as_str()),
                Message::Close(c) => {
                    let (code, reason) =
                        c.map_or((None, String::new()), |c| (Some(c.code.into()), c.reason.to_string()));
                    return Err(ClientError::Closed { code, reason });
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    /// Waits (up to the reply timeout) for the server to close the connection, skipping any frame
    /// before it; its close code and reason, or None when it ended without a close frame.
    pub async fn wait_closed(&mut self) -> Result<Option<(u16, String)>, ClientError> {
        loop {
            let next = tokio::time::timeout(self.opts.reply_timeout, self.ws.next())
                .await
                .map_err(|_| ClientError::Timeout(self.opts.reply_timeout))?;
            match next {
                Some(Ok(Message::Close(frame))) => return Ok(frame.map(|f| (f.code.into(), f.reason.to_string()))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    /// Closes the connection (a close frame, then the socket).
    pub async fn close(mut self) -> Result<(), ClientError> {
        Ok(self.ws.close(None).await?)
    }
}

/// TCP (from `opts.bind` when set, without Nagle's delay) and the WebSocket handshake.
async fn open(url: &str, opts: &Options) -> Result<Ws, ClientError> {
    let bad = |why: &str| ClientError::Address { url: url.to_owned(), why: why.to_owned() };
    let cfg = WebSocketConfig::default().read_buffer_size(opts.read_buffer_bytes).write_buffer_size(0);
    let Some(from) = opts.bind else {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(cfg), true)
            .await
            .map_err(|e| ClientError::Connect { url: url.to_owned(), source: Box::new(e) })?;
        return Ok(ws);
    };
    let authority = url.strip_prefix("ws://").ok_or_else(|| bad("only ws:// can bind a local address"))?;
    let host_port = authority.split('/').next().unwrap_or(authority);
    let addr: SocketAddr = tokio::net::lookup_host(host_port)
        .await
        .map_err(|e| bad(&e.to_string()))?
        .find(|a| a.is_ipv4() == from.is_ipv4())
        .ok_or_else(|| bad("no address of the local address's family"))?;
    let socket = if from.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(io(url))?;
    // Many clients from one address (a load tool's): a local port in TIME_WAIT may be taken again.
    socket.set_reuseaddr(true).map_err(io(url))?;
    socket.bind(SocketAddr::new(from, 0)).map_err(io(url))?;
    let tcp = socket.connect(addr).await.map_err(io(url))?;
    tcp.set_nodelay(true).map_err(io(url))?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, MaybeTlsStream::Plain(tcp), Some(cfg))
        .await
        .map_err(|e| ClientError::Connect { url: url.to_owned(), source: Box::new(e) })?;
    Ok(ws)
}

fn io(url: &str) -> impl Fn(std::io::Error) -> ClientError + '_ {
    move |e| ClientError::Connect { url: url.to_owned(), source: Box::new(e.into()) }
}
