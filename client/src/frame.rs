//! What the server sends: a reply or a push, `[head, body]`, in the format it came in. A MessagePack
//! frame keeps its bytes (no copy) and decodes its body only when asked.

use bytes::Bytes;
use protocol::ReplyHead;
use protocol::codec::{decode_body, frame_to_json, split_frame};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ClientError;

/// The two frame formats of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// MessagePack binary messages (the normal case).
    #[default]
    MessagePack,
    /// JSON text messages (for debugging; the server answers in the format of the latest frame).
    Json,
}

/// A reply (seq of a request) or a push (seq 0, id 9xx).
#[derive(Debug, Clone)]
pub struct Frame {
    pub head: ReplyHead,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The whole MessagePack frame and where its body starts.
    MessagePack {
        frame: Bytes,
        at: usize,
    },
    Json(Value),
}

impl Frame {
    /// Reads a MessagePack binary message.
    pub fn from_msgpack(frame: Bytes) -> Result<Frame, ClientError> {
        let (head, body) = split_frame::<ReplyHead>(&frame)?;
        let at = frame.len() - body.len();
        Ok(Frame { head, body: Body::MessagePack { frame, at } })
    }

    /// Reads a JSON text message.
    pub fn from_json(text: &str) -> Result<Frame, ClientError> {
        let (head, body) =
            serde_json::from_str::<(ReplyHead, Value)>(text).map_err(|e| protocol::FrameError::Json(e.to_string()))?;
        Ok(Frame { head, body: Body::Json(body) })
    }

    pub fn code(&self) -> u16 {
        self.head.code
    }

    pub fn is_ok(&self) -> bool {
        self.head.code == 0
    }

    /// A server push (seq 0, id 9xx) rather than a reply.
    pub fn is_push(&self) -> bool {
        self.head.seq == 0 && self.head.id >= 900
    }

    /// The format the frame came in.
    pub fn format(&self) -> Format {
        match self.body {
            Body::MessagePack { .. } => Format::MessagePack,
            Body::Json(_) => Format::Json,
        }
    }

    /// The body's MessagePack bytes (None for a JSON frame).
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::MessagePack { frame, at } => Some(&frame[*at..]),
            Body::Json(_) => None,
        }
    }

    /// The body as its typed value (see `protocol::body`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        let decoded = match &self.body {
            Body::MessagePack { frame, at } => decode_body(&frame[*at..]),
            Body::Json(v) => T::deserialize(v).map_err(|e| e.to_string()),
        };
        decoded.map_err(|why| ClientError::Body { id: self.head.id, why })
    }

    /// The body as JSON, whatever its format.
    pub fn json(&self) -> Result<Value, ClientError> {
        match &self.body {
            Body::MessagePack { frame, at } => {
                let text = frame_to_json(&frame[*at..])?;
                serde_json::from_str(&text).map_err(|e| ClientError::Body { id: self.head.id, why: e.to_string() })
            }
            Body::Json(v) => Ok(v.clone()),
        }
    }

    /// The `msg` of an error body ("" when there is none).
    pub fn error_message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Msg {
            msg: String,
        }
        self.decode::<Msg>().map(|m| m.msg).unwrap_or_default()
    }

    /// Ok(self) for code 0, else [`ClientError::Refused`].
    pub fn ok(self) -> Result<Frame, ClientError> {
        if self.is_ok() { Ok(self) } else { Err(ClientError::Refused(Box::new(self))) }
    }
}
