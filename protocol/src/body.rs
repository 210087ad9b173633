//! Typed bodies of the messages that exist so far. Requests ignore unknown fields (clients may be
//! newer than the server); missing or mistyped fields are a code 7.

use serde::{Deserialize, Serialize};

/// Body of every error reply, `{ "msg": "..." }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ErrorBody {
    pub msg: String,
}

/// An empty map `{}`: the body of ping, logout, profile and balance requests and of the logout reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Empty {}

/// 100 ping reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PingReply {
    pub ts: u64,
}

/// 101 register and 102 login request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// 101 register reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct RegisterReply {
    pub user_id: u64,
}

/// 103 resume request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ResumeRequest {
    pub token: String,
}

/// 102 login and 103 resume reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SessionReply {
    pub user_id: u64,
    pub token: String,
    pub balance: i64,
}

/// 201 profile reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ProfileReply {
    pub user_id: u64,
    pub username: String,
    pub created_at: u64,
}

/// 202 balance reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct BalanceReply {
    pub balance: i64,
}
