//! A WebSocket test client: MessagePack binary frames by default, JSON text frames on request.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::codec::{encode_frame, frame_to_json};
use protocol::{ClientHead, ReplyHead, msg};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u32,
    /// Server pushes that arrived while [`Client::call`] waited for a reply, oldest first.
    pushes: VecDeque<Frame>,
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

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("websocket connect");
        Client { ws, seq: 0, pushes: VecDeque::new() }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Sends a MessagePack request and waits for its reply (same seq). Pushes that arrive first are
    /// kept for [`Client::push`] / [`Client::pushes_so_far`].
    pub async fn call(&mut self, id: u16, body: impl Serialize) -> Frame {
        let seq = self.next_seq();
        let frame = encode_frame(&ClientHead { id, seq, ver: None }, &body).expect("encode");
        self.send_binary(frame).await;
        let reply = loop {
            let f = self.recv().await;
            if !f.is_push() {
                break f;
            }
            self.pushes.push_back(f);
        };
        assert_eq!((reply.head.id, reply.head.seq), (id, seq), "reply does not match the request: {reply:?}");
        reply
    }

    /// Sends a JSON text request and waits for its reply, checking the reply is JSON text too.
    pub async fn call_json(&mut self, id: u16, body: Value) -> Frame {
        let seq = self.next_seq();
        self.send_text(json!([{ "id": id, "seq": seq }, body]).to_string()).await;
        let reply = self.recv().await;
        assert!(reply.body.is_object(), "{reply:?}");
        reply
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(bytes.into())).await.expect("send");
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.expect("send");
    }

    /// The next frame from the server (binary or text), skipping pings.
    pub async fn recv(&mut self) -> Frame {
        loop {
            let msg = tokio::time::timeout(REPLY_TIMEOUT, self.ws.next())
                .await
                .expect("no reply in time")
                .expect("connection closed")
                .expect("read failed");
            let (head, body) = match msg {
                Message::Binary(b) => {
                    let text = frame_to_json(&b).expect("a valid MessagePack frame");
                    serde_json::from_str::<(ReplyHead, Value)>(&text).expect("[head, body]")
                }
                Message::Text(t) => serde_json::from_str::<(ReplyHead, Value)>(t.as_str()).expect("[head, body]"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            };
            return Frame { head, body };
        }
    }

    /// The next server push: one kept by [`Client::call`], or the next frame (which must be a push).
    pub async fn push(&mut self) -> Frame {
        if let Some(f) = self.pushes.pop_front() {
            return f;
        }
        let f = self.recv().await;
        assert!(f.is_push(), "expected a push, got {f:?}");
        f
    }

    /// The pushes kept by [`Client::call`] so far (taken: the next call starts afresh).
    pub fn pushes_so_far(&mut self) -> Vec<Frame> {
        self.pushes.drain(..).collect()
    }

    /// Every push that arrived before the reply to a ping: what the server had sent by then.
    pub async fn pushes_until_ping(&mut self) -> Vec<Frame> {
        assert_eq!(self.call(msg::PING, serde_json::json!({})).await.code(), 0);
        self.pushes_so_far()
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(REPLY_TIMEOUT, self.ws.next()).await.expect("no close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Waits for the server to close the connection; returns the close code and reason (None when
    /// the connection ended without a close frame).
    pub async fn closed_with_reason(&mut self) -> Option<(u16, String)> {
        loop {
            match tokio::time::timeout(REPLY_TIMEOUT, self.ws.next()).await.expect("no close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| (f.code.into(), f.reason.as_str().to_owned())),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Registers and returns the user id, panicking on failure.
    pub async fn register(&mut self, username: &str, password: &str) -> u64 {
        let r = self.call(msg::REGISTER, json!({ "username": username, "password": password })).await;
        assert_eq!(r.code(), 0, "register {username}: {r:?}");
        r.body["user_id"].as_u64().expect("user_id")
    }

    /// Logs in and returns the reply body (user_id, token, balance), panicking on failure.
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        let r = self.call(msg::LOGIN, json!({ "username": username, "password": password })).await;
        assert_eq!(r.code(), 0, "login {username}: {r:?}");
        r.body
    }
}
