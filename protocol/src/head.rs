//! Frame heads. A frame is the MessagePack (or JSON) array `[head, body]`.

use serde::{Deserialize, Serialize};

use crate::MsgId;

/// What the client puts in front of every request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClientHead {
    pub id: MsgId,
    pub seq: u32,
    /// Optional client version string, passed through to logic for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
}

/// The head of every reply and push the client receives. Pushes have `seq = 0`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReplyHead {
    pub id: MsgId,
    pub seq: u32,
    pub code: u16,
}

/// The head connect writes in front of the client's body bytes on `q:c2l:{G}`.
/// Everything except `id`, `seq` and `ver` is set by connect, never taken from the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalHead {
    pub id: MsgId,
    pub seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// The connect node that holds the connection; the reply goes to `q:l2c:{group}:{node}`.
    pub node: String,
    /// Connection id, unique across nodes.
    pub conn: u64,
    /// The user the connection is bound to (after login/resume), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u64>,
    /// The session id (digest of the token) the connection logged in with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub group: u32,
    /// Client address as connect saw it.
    pub addr: String,
    /// When connect received the frame, Unix ms.
    pub ts: u64,
    /// Trace id: unique per accepted frame, carried across processes; also the frame's identity
    /// for idempotency when a frame is delivered twice.
    pub trace: String,
}

impl InternalHead {
    /// The client-visible head of the reply to this request.
    pub fn reply(&self, code: u16) -> ReplyHead {
        ReplyHead { id: self.id, seq: self.seq, code }
    }
}
