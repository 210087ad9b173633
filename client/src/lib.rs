//! # matchday-client
//!
//! The Rust SDK of matchday, for bots, tools, the bench and the tests (docs/clients.md). It speaks
//! the wire protocol of docs/protocol.md and the staff API of docs/gm.md, depends on `protocol`
//! only, and never panics: every failure is a [`ClientError`] or a [`GmError`].
//!
//! - [`ws`]: [`Client`], one WebSocket connection: `call` with seq matching, pipelining
//!   (`send` … `flush` … `next_reply`), a queue of pushes, MessagePack or JSON frames.
//! - [`calls`]: typed calls of [`Client`] (login and resume keep the rotating token, bets, reads).
//! - [`frame`]: [`Frame`], a reply or push as it arrived, decoded on demand.
//! - [`resilient`]: [`Resilient`], a client that reconnects, resumes and resends until answered.
//! - [`gm`]: [`Gm`], the staff HTTP API with a bearer token and typed errors.
//! - [`error`]: [`ClientError`], what can go wrong on a connection.

pub mod calls;
pub mod error;
pub mod frame;
pub mod gm;
pub mod resilient;
pub mod ws;

pub use error::{ClientError, Refusal};
pub use frame::{Format, Frame};
pub use gm::{Gm, GmError};
pub use resilient::{Policy, RETRY_CODES, Resilient, Trouble};
pub use ws::{Client, Options, Session};

/// The protocol crate, re-exported so that a bot needs one dependency.
pub use protocol;
