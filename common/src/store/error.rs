//! [`StoreError`]: what can go wrong talking to Redis, split into what a retry can cure
//! (transient: the connection, a timeout, a Redis that is loading, read-only, busy or moving slots)
//! and what it cannot (a script refusing its input, a reply of the wrong shape, a bug).
//!
//! Callers map them once: a WebSocket handler answers transient with code 6 (busy, retry) and
//! permanent with code 1; a gm route answers 503 with `Retry-After` and 500.

use fred::error::{Error as RedisError, ErrorKind};

/// A failed store operation.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis could not be reached or could not serve the command now; the same call may succeed
    /// later (nothing was written, or the script's idempotency makes the retry safe).
    #[error("Redis unavailable: {0}")]
    Unavailable(RedisError),
    /// Redis answered with an error no retry cures (a script refusing its input, wrong type).
    #[error("Redis refused: {0}")]
    Refused(RedisError),
    /// A script answered something its header does not list.
    #[error("{script} answered {reply}")]
    UnexpectedReply { script: &'static str, reply: String },
}

/// The error prefixes Redis answers while it cannot serve a command now but will later: a
/// restart loading its data, a replica or a failover in progress, a long script, cluster slots
/// moving or a cluster that is not yet whole.
const TRANSIENT_PREFIXES: &[&str] =
    &["LOADING", "READONLY", "BUSY", "MASTERDOWN", "NOREPLICAS", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"];

impl StoreError {
    /// True if retrying later may succeed (answer "busy, retry", not "internal").
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// The Redis error, if any.
    pub fn redis(&self) -> Option<&RedisError> {
        match self {
            StoreError::Unavailable(e) | StoreError::Refused(e) => Some(e),
            StoreError::UnexpectedReply { .. } => None,
        }
    }

    /// The error text Redis answered (e.g. "ERR bad stake" from a script's `redis.error_reply`),
    /// for callers that map a script's documented errors.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            StoreError::Refused(e) => Some(e.details()),
            _ => None,
        }
    }
}

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> StoreError {
        if is_transient(&e) { StoreError::Unavailable(e) } else { StoreError::Refused(e) }
    }
}

/// Classifies a fred error: connection, timeout, cancel, backpressure, routing and cluster
/// errors, and the server errors in [`TRANSIENT_PREFIXES`], are transient.
pub fn is_transient(e: &RedisError) -> bool {
    match e.kind() {
        ErrorKind::IO
        | ErrorKind::Timeout
        | ErrorKind::Canceled
        | ErrorKind::Backpressure
        | ErrorKind::Routing
        | ErrorKind::Cluster => true,
        _ => {
            let details = e.details().trim_start();
            TRANSIENT_PREFIXES
                .iter()
                .any(|p| details.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':'])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_server_side_pauses_are_transient_refusals_are_not() {
        for (kind, details) in [
            (ErrorKind::IO, "connection reset"),
            (ErrorKind::Timeout, "Request timed out."),
            (ErrorKind::Canceled, "Canceled."),
            (ErrorKind::Unknown, "LOADING Redis is loading the dataset in memory"),
            (ErrorKind::Unknown, "READONLY You can't write against a read only replica."),
            (ErrorKind::Unknown, "BUSY Redis is busy running a script."),
            (ErrorKind::Unknown, "TRYAGAIN Multiple keys request during rehashing of slot"),
            (ErrorKind::Unknown, "CLUSTERDOWN The cluster is down"),
            (ErrorKind::Unknown, "MOVED 3999 127.0.0.1:6381"),
        ] {
            let e = StoreError::from(RedisError::new(kind.clone(), details));
            assert!(e.is_transient(), "{kind:?} {details}");
        }
        for (kind, details) in [
            (ErrorKind::Unknown, "ERR bad stake"),
            (ErrorKind::Unknown, "WRONGTYPE Operation against a key holding the wrong kind of value"),
            (ErrorKind::Unknown, "BUSYKEY Target key name already exists."),
            (ErrorKind::Parse, "Could not convert to integer."),
            (ErrorKind::Auth, "WRONGPASS invalid username-password pair"),
        ] {
            let e = StoreError::from(RedisError::new(kind.clone(), details));
            assert!(!e.is_transient(), "{kind:?} {details}");
        }
        assert_eq!(
            StoreError::from(RedisError::new(ErrorKind::Unknown, "ERR bad stake")).refusal(),
            Some("ERR bad stake")
        );
    }
}
