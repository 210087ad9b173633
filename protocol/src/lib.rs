//! # matchday-protocol
//!
//! The wire contract between mobile clients, `connect` and `logic` (DESIGN.md §4 and §13). Pure data
//! and codecs: no tokio, no I/O, so client SDKs, the fuzzer and the bench can depend on it.
//!
//! - [`msg`]: message ids and their catalogue.
//! - [`error_code`]: the error code catalogue.
//! - [`fields`]: the longest value of each text field that MySQL stores (its column's limit).
//! - [`matches`]: match states and the transition table.
//! - [`head`]: the client head, the reply head and the enriched head that connect hands to logic.
//! - [`route`]: the routing part of a reply or push element (which connection, bind/unbind, close).
//! - [`body`]: typed request and reply bodies.
//! - [`codec`]: MessagePack framing (with body splicing) and the JSON text-frame variant.
//! - `schema` (feature `schema`): the machine-readable description of all of it,
//!   `docs/schema/protocol.json`.

pub mod body;
pub mod codec;
pub mod error_code;
pub mod fields;
pub mod head;
pub mod matches;
pub mod msg;
pub mod route;
#[cfg(feature = "schema")]
pub mod schema;

pub use codec::FrameError;
pub use error_code::ErrorCode;
pub use head::{ClientHead, InternalHead, ReplyHead};
pub use msg::MsgId;
pub use route::{Bind, Close, Route};
