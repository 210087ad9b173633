//! The routing part of an element on `q:l2c:{G}:{N}` and `q:push:{N}`: which connection gets the frame
//! and what connect must do with the connection (bind it to a user on login, unbind on logout,
//! close it when staff ban the user).

use serde::{Deserialize, Serialize};

/// Bind the connection to a user (after a successful login or resume).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    pub uid: u64,
    /// Session id (digest of the token), carried in later heads so logout can end the session.
    pub sid: String,
}

/// Close the connection with this WebSocket close code and reason (after sending the element's
/// frame, if it is not empty). The connection is unbound first, so nothing more is done as its user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Close {
    /// A WebSocket close code (RFC 6455 §7.4), e.g. [`Close::POLICY`].
    pub code: u16,
    /// Sent in the close frame; at most [`Close::MAX_REASON`] bytes are sent.
    pub reason: String,
}

impl Close {
    /// 1008, policy violation.
    pub const POLICY: u16 = 1008;
    /// The most a close frame's reason may hold (125 bytes of payload, 2 of them the code).
    pub const MAX_REASON: usize = 123;

    /// Why a banned user's connections are closed: 1008 "banned".
    pub fn banned() -> Close {
        Close { code: Close::POLICY, reason: "banned".into() }
    }

    /// Why a player's other connections are closed when they change their password or end their
    /// other sessions: 1008 "session ended" (a resume of its token answers 1008 session expired).
    pub fn session_ended() -> Close {
        Close { code: Close::POLICY, reason: "session ended".into() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The connection, or 0 with `all = true` for a broadcast to every connection of the node.
    pub conn: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<Bind>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbind: bool,
    /// Close the connection (a ban). Absent in every other element, and in elements written before
    /// it existed, which decode as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<Close>,
}

impl Route {
    /// A plain reply to one connection.
    pub fn to(conn: u64) -> Route {
        Route { conn, ..Route::default() }
    }

    /// Closes connection `conn` with `close` (and unbinds it).
    pub fn close(conn: u64, close: Close) -> Route {
        Route { conn, close: Some(close), ..Route::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_routed, encode_routed};

    #[test]
    fn a_close_round_trips_and_old_elements_still_decode() {
        let route = Route::close(u64::MAX, Close::banned());
        let el = encode_routed(&route, &[]).unwrap();
        let (back, frame) = decode_routed(&el).unwrap();
        assert_eq!(back, route);
        assert!(frame.is_empty());
        // An element as written before `close` existed: a map with conn and bind only.
        let old = Route { conn: 7, bind: Some(Bind { uid: 1, sid: "s".into() }), ..Route::default() };
        let el = encode_routed(&old, b"\x92\x80\x80").unwrap();
        assert_eq!(decode_routed(&el).unwrap().0.close, None);
    }
}
