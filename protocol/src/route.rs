//! The routing part of an element on `q:l2c:{N}` and `q:push:{N}`: which connection gets the frame
//! and what connect must do with the connection (bind it to a user on login, unbind on logout).

use serde::{Deserialize, Serialize};

/// Bind the connection to a user (after a successful login or resume).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bind {
    pub uid: u64,
    /// Session id (digest of the token), carried in later heads so logout can end the session.
    pub sid: String,
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
}

impl Route {
    /// A plain reply to one connection.
    pub fn to(conn: u64) -> Route {
        Route { conn, ..Route::default() }
    }
}
