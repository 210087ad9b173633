//! A WebSocket test client: MessagePack binary frames by default, JSON text frames on request. A
//! thin wrapper of [`matchday_client::Client`] that panics, with context, where the SDK answers an
//! error, and shows bodies as JSON.

use std::net::SocketAddr;
use std::time::Duration;

use matchday_client::{Format, Options};
use protocol::{ReplyHead, msg};
use serde::Serialize;
use serde_json::{Value, json};

/// How long a test waits for one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Client {
    inner: matchday_client::Client,
    /// The token of the last login or resume through this wrapper.
    token: Option<String>,
}

/// A reply or push as the client sees it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub head: ReplyHead,
    pub body: Value,
}

impl Frame {
    pub fn code(&self) -> u16 {
        self.head.code
    }

    /// A server push (9xx, seq 0) rather than a reply.
    pub fn is_push(&self) -> bool {
        self.head.seq == 0 && self.head.id >= 900
    }
}

impl From<matchday_client::Frame> for Frame {
    fn from(f: matchday_client::Frame) -> Frame {
        let body = f.json().unwrap_or_else(|e| panic!("the body of {:?} is not readable: {e}", f.head));
        Frame { head: f.head, body }
    }
}

/// Keeps every push (tests read them all), waits [`REPLY_TIMEOUT`].
fn options() -> Options {
    Options {
        reply_timeout: REPLY_TIMEOUT,
        connect_timeout: REPLY_TIMEOUT,
        push_queue: usize::MAX,
        ..Options::default()
    }
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let inner = matchday_client::Client::connect_with(&format!("ws://{addr}/ws"), options())
            .await
            .unwrap_or_else(|e| panic!("websocket connect: {e}"));
        Client { inner, token: None }
    }

    /// Connects from the local address `from` (any of 127.0.0.0/8 on Linux), so that a test can
    /// be two clients on two addresses.
    pub async fn connect_from(addr: SocketAddr, from: std::net::IpAddr) -> Client {
        let opts = Options { bind: Some(from), ..options() };
        let inner = matchday_client::Client::connect_with(&format!("ws://{addr}/ws"), opts)
            .await
            .unwrap_or_else(|e| panic!("websocket connect from {from}: {e}"));
        Client { inner, token: None }
    }

    /// The SDK client underneath, for what this wrapper does not offer.
    pub fn sdk(&mut self) -> &mut matchday_client::Client {
        &mut self.inner
    }

    /// Sends a MessagePack request and waits for its reply (same seq). Pushes that arrive first are
    /// kept for [`Client::push`] / [`Client::pushes_so_far`].
    pub async fn call(&mut self, id: u16, body: impl Serialize) -> Frame {
        self.call_in(Format::MessagePack, id, &body).await
    }

    /// Sends a JSON text request and waits for its reply, checking the reply is JSON text too.
    pub async fn call_json(&mut self, id: u16, body: Value) -> Frame {
        self.call_in(Format::Json, id, &body).await
    }

    async fn call_in(&mut self, format: Format, id: u16, body: &impl Serialize) -> Frame {
        self.inner.set_format(format);
        let reply = self.inner.call(id, body).await.unwrap_or_else(|e| panic!("call {id} ({format:?}): {e}"));
        self.inner.set_format(Format::MessagePack);
        assert_eq!(reply.format(), format, "the reply to {id} is in another format: {reply:?}");
        reply.into()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.inner.send_binary(bytes).await.unwrap_or_else(|e| panic!("send: {e}"));
    }

    pub async fn send_text(&mut self, text: String) {
        self.inner.send_text(text).await.unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// The next frame from the server (binary or text), skipping pings.
    pub async fn recv(&mut self) -> Frame {
        self.inner.recv_frame().await.unwrap_or_else(|e| panic!("recv: {e}")).into()
    }

    /// The next server push: one kept by [`Client::call`], or the next frame (which must be a push).
    pub async fn push(&mut self) -> Frame {
        if let Some(f) = self.inner.take_push() {
            return f.into();
        }
        let f = self.recv().await;
        assert!(f.is_push(), "expected a push, got {f:?}");
        f
    }

    /// The pushes kept by [`Client::call`] so far (taken: the next call starts afresh).
    pub fn pushes_so_far(&mut self) -> Vec<Frame> {
        self.inner.drain_pushes().into_iter().map(Frame::from).collect()
    }

    /// Every push that arrived before the reply to a ping: what the server had sent by then.
    pub async fn pushes_until_ping(&mut self) -> Vec<Frame> {
        assert_eq!(self.call(msg::PING, json!({})).await.code(), 0);
        self.pushes_so_far()
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        self.closed_with_reason().await.map(|(code, _)| code)
    }

    /// Waits for the server to close the connection; returns the close code and reason (None when
    /// the connection ended without a close frame).
    pub async fn closed_with_reason(&mut self) -> Option<(u16, String)> {
        self.inner.wait_closed().await.unwrap_or_else(|e| panic!("no close in time: {e}"))
    }

    /// Registers and returns the user id, panicking on failure.
    pub async fn register(&mut self, username: &str, password: &str) -> u64 {
        let r = self.call(msg::REGISTER, json!({ "username": username, "password": password })).await;
        assert_eq!(r.code(), 0, "register {username}: {r:?}");
        r.body["user_id"].as_u64().expect("user_id")
    }

    /// Logs in and returns the reply body (user_id, token, balance), panicking on failure. The
    /// token is kept ([`Client::token`]).
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        let r = self.call(msg::LOGIN, json!({ "username": username, "password": password })).await;
        assert_eq!(r.code(), 0, "login {username}: {r:?}");
        self.token = r.body["token"].as_str().map(str::to_owned);
        r.body
    }

    /// Resumes the session of `token` on this connection, panicking on failure; returns the
    /// session's new token (a resume rotates it: `token` resumes no more), also kept.
    pub async fn resume(&mut self, token: &str) -> String {
        let r = self.call(msg::RESUME, json!({ "token": token })).await;
        assert_eq!(r.code(), 0, "resume: {r:?}");
        let next = r.body["token"].as_str().expect("token").to_owned();
        assert_ne!(next, token, "the token rotates");
        self.token = Some(next.clone());
        next
    }

    /// The token of the last [`Client::login`] or [`Client::resume`].
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in through this client")
    }
}
