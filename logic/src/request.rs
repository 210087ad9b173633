//! A decoded frame as handlers see it, and the reply they build.

use bytes::Bytes;
use protocol::codec::{self, FrameError};
use protocol::{Bind, ErrorCode, InternalHead};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// One client request taken from the queue.
pub struct Request {
    pub head: InternalHead,
    body: Bytes,
}

impl Request {
    /// Decodes the queue element `[head, body]`; the body stays raw until a handler asks for it.
    pub fn decode(frame: &Bytes) -> Result<Request, FrameError> {
        let (head, body) = codec::split_frame::<InternalHead>(frame)?;
        let start = frame.len() - body.len();
        Ok(Request { head, body: frame.slice(start..) })
    }

    /// The typed body; a body of the wrong shape is a code 7.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, AppError> {
        codec::decode_body(&self.body).map_err(AppError::invalid_body)
    }

    /// The logged-in user; frames of a connection that is not logged in are refused with code 4.
    pub fn uid(&self) -> Result<u64, AppError> {
        self.head.uid.ok_or_else(|| AppError::code(ErrorCode::NotLoggedIn))
    }
}

/// A successful answer: the body (MessagePack) and what connect must do with the connection.
#[derive(Debug)]
pub struct Reply {
    pub body: Vec<u8>,
    pub bind: Option<Bind>,
    pub unbind: bool,
}

impl Reply {
    pub fn new<T: Serialize>(body: &T) -> Result<Reply, AppError> {
        let body = rmp_serde::to_vec_named(body).map_err(AppError::internal)?;
        Ok(Reply { body, bind: None, unbind: false })
    }

    /// Also bind the connection to a user (login, resume).
    pub fn binding(mut self, bind: Bind) -> Reply {
        self.bind = Some(bind);
        self
    }

    /// Also unbind the connection (logout).
    pub fn unbinding(mut self) -> Reply {
        self.unbind = true;
        self
    }
}
