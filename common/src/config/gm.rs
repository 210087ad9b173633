//! The gm section: listeners, limits, the payment secret, and the staff tokens with their roles.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GmConfig {
    pub listen: SocketAddr,
    /// The payment provider's own listener (only the callback and /healthz); None = the callback is
    /// served on `listen` (development). Empty in TOML or the environment means None.
    #[serde(default, deserialize_with = "empty_or_addr", serialize_with = "addr_or_empty")]
    pub payments_listen: Option<SocketAddr>,
    #[serde(serialize_with = "no_secret")]
    pub payment_secret: SecretString,
    pub tokens: Vec<StaffToken>,
    /// Coins one staff member may grant per UTC day (positive grants summed; taking coins back
    /// is not counted); beyond, a grant is refused with 409 `daily_limit`. 0: no limit.
    #[serde(default = "default_grant_daily_limit")]
    pub grant_daily_limit: i64,
    /// A grant of more coins than this (either way) waits for a second admin's approval
    /// (maker–checker); 0: none waits.
    #[serde(default = "default_grant_approval_above")]
    pub grant_approval_above: i64,
    /// A staff console session ends after this long without a request (idle timeout)...
    #[serde(default = "default_staff_session_idle_s")]
    pub staff_session_idle_s: u64,
    /// ...and this long after its login, however busy.
    #[serde(default = "default_staff_session_max_s")]
    pub staff_session_max_s: u64,
    /// Failed staff logins allowed per account (and per account from one address) within
    /// `staff_login_window_s`; then logins are refused until the window ends (429).
    #[serde(default = "default_staff_login_max_failures")]
    pub staff_login_max_failures: u64,
    #[serde(default = "default_staff_login_window_s")]
    pub staff_login_window_s: u64,
    /// A connection that has not sent a whole request head (line and headers) by then is closed.
    #[serde(default = "default_gm_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// A request not answered by then (body read included) is answered 503 `timeout`.
    #[serde(default = "default_gm_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Requests served at once per listener; beyond it, 503 `busy` with Retry-After (no queue).
    #[serde(default = "default_gm_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Largest request body on any route; larger is answered 413 `payload_too_large`.
    #[serde(default = "default_gm_max_body_bytes")]
    pub max_body_bytes: usize,
    /// HTTPS: PEM files of the certificate chain and its key, for `listen` and `payments_listen`.
    /// Both empty = plain HTTP (TLS ended in front, on a private network).
    #[serde(default)]
    pub tls_cert: String,
    #[serde(default)]
    pub tls_key: String,
    /// Networks of the proxies in front (CIDRs): only their connections may name a client — by a
    /// PROXY header with `proxy_protocol`, else by `Forwarded` / `X-Forwarded-For` (access log).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Connections from `trusted_proxies` start with a PROXY protocol header (v1 or v2).
    #[serde(default)]
    pub proxy_protocol: bool,
}

fn default_gm_header_timeout_ms() -> u64 {
    10_000
}

fn default_gm_request_timeout_ms() -> u64 {
    30_000
}

fn default_gm_max_concurrent_requests() -> usize {
    256
}

fn default_gm_max_body_bytes() -> usize {
    2 * 1024 * 1024
}

fn empty_or_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(serde::de::Error::custom) }
}

fn addr_or_empty<S: serde::Serializer>(addr: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match addr {
        Some(a) => s.collect_str(a),
        None => s.serialize_str(""),
    }
}

/// A staff member's bearer token and role.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaffToken {
    pub name: String,
    #[serde(serialize_with = "no_secret")]
    pub token: SecretString,
    pub role: Role,
}

/// Staff roles, ordered: a higher role may do everything a lower one may.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    /// The role of a name (`viewer`, `operator`, `admin`).
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Viewer, Role::Operator, Role::Admin].into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

pub(super) fn no_secret<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("***")
}

fn default_grant_daily_limit() -> i64 {
    1_000_000
}

fn default_staff_session_idle_s() -> u64 {
    1800
}

fn default_staff_session_max_s() -> u64 {
    12 * 3600
}

fn default_staff_login_max_failures() -> u64 {
    5
}

fn default_staff_login_window_s() -> u64 {
    900
}

fn default_grant_approval_above() -> i64 {
    100_000
}
