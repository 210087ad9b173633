//! The errors of the WebSocket client. Nothing here panics: every failure is one of these.

use std::time::Duration;

use protocol::{ErrorCode, FrameError, ReplyHead};

use crate::frame::Frame;

/// Why a WebSocket call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not a `ws://host:port/path` URL, or the host does not resolve.
    #[error("bad address {url}: {why}")]
    Address { url: String, why: String },
    /// Connecting or the WebSocket handshake failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// Reading or writing the WebSocket failed (the connection is gone).
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The server closed the connection: its close code and reason (None when it just ended).
    #[error("connection closed{}", match .code { Some(c) => format!(" with {c} {reason:?}"), None => String::new() })]
    Closed { code: Option<u16>, reason: String },
    /// Nothing arrived in time.
    #[error("no answer in {0:?}")]
    Timeout(Duration),
    /// A frame could not be encoded, or one from the server could not be read.
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// A reply's body is not what its message defines.
    #[error("body of {id}: {why}")]
    Body { id: u16, why: String },
    /// A reply that answers no request of ours (a seq never sent, or another message id), or the
    /// server's answer to a frame it could not read (id 0, seq 0).
    #[error("reply {head:?} matches no request in flight")]
    Unmatched { head: ReplyHead },
    /// The server answered with a non-zero code. The frame is kept: some error bodies carry more
    /// than `msg` (1005 odds changed carries the current odds).
    #[error("{} refused: code {} ({}): {}", .0.head.id, .0.code(), code_name(.0.code()), .0.error_message())]
    Refused(Box<Frame>),
    /// Reconnecting gave up: no node answered, or the session could not be restored.
    #[error("gave up: {0}")]
    GaveUp(String),
}

fn code_name(code: u16) -> &'static str {
    ErrorCode::from_code(code).map_or("unknown", ErrorCode::name)
}

/// The server's HTTP answer to a WebSocket upgrade it refused: connect answers 503 with
/// `Retry-After` and the limit's name when it is full (docs/protocol.md, "Limits and closing"), 404
/// for a path other than `/ws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    /// Header names in lower case, values as text.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Refusal {
    /// A header's value (`name` in lower case; "" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }
}

impl ClientError {
    /// The server's HTTP answer, when it refused the WebSocket upgrade (a [`ClientError::Connect`]
    /// that got an answer other than 101).
    pub fn refusal(&self) -> Option<Refusal> {
        let ClientError::Connect { source, .. } = self else { return None };
        let tokio_tungstenite::tungstenite::Error::Http(res) = source.as_ref() else { return None };
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = res.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
        Some(Refusal { status: res.status().as_u16(), headers, body })
    }

    /// The server's error code, when the server refused the request.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Refused(f) => Some(f.code()),
            _ => None,
        }
    }

    /// The connection is unusable after this error: connect again (and resume).
    pub fn is_disconnect(&self) -> bool {
        matches!(self, ClientError::WebSocket(_) | ClientError::Closed { .. } | ClientError::Connect { .. })
    }

    /// Worth retrying later, as is: the connection was lost, nothing came in time, or the server
    /// answered 1 (internal), 5 (rate limited) or 6 (busy / unavailable).
    pub fn is_transient(&self) -> bool {
        self.is_disconnect()
            || matches!(self, ClientError::Timeout(_))
            || matches!(self.code(), Some(c) if crate::RETRY_CODES.contains(&c))
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> ClientError {
        ClientError::WebSocket(Box::new(e))
    }
}
