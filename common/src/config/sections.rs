//! The typed sections of [`Config`](super::Config) (all but gm's), with the defaults of settings
//! added after a deployment's config file may have been written.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: String,
    pub prefix: String,
    pub pool_size: usize,
    pub command_timeout_ms: u64,
    pub reconnect_min_ms: u32,
    pub reconnect_max_ms: u32,
    /// Replicas that must hold a change before its success is answered (WAIT); 0 = do not wait.
    #[serde(default)]
    pub wait_replicas: u32,
    /// How long to wait for them; when fewer acknowledged in time, the answer goes anyway (the
    /// change is made) and the shortfall is logged and counted.
    #[serde(default = "default_wait_timeout_ms")]
    pub wait_timeout_ms: u64,
    /// With a `rediss://` URL: a PEM file of the CA certificates to trust (e.g. a private CA);
    /// empty = the system's trust store.
    #[serde(default)]
    pub tls_ca: String,
}

fn default_wait_timeout_ms() -> u64 {
    100
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    pub url: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub id: String,
    pub group: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectConfig {
    pub listen: SocketAddr,
    /// TLS (wss://): PEM files of the certificate chain and its private key. Both empty = plain
    /// ws:// (e.g. behind a load balancer that ends TLS); both set = only wss://.
    #[serde(default)]
    pub tls_cert: String,
    #[serde(default)]
    pub tls_key: String,
    /// Networks of the proxies in front (CIDRs): only their connections may name a client — by a
    /// PROXY header with `proxy_protocol`, else by `Forwarded` / `X-Forwarded-For`.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Connections from `trusted_proxies` start with a PROXY protocol header (v1 or v2).
    #[serde(default)]
    pub proxy_protocol: bool,
    pub max_connections: usize,
    pub max_frame_bytes: usize,
    pub outbound_queue: usize,
    pub ping_interval_ms: u64,
    pub idle_timeout_ms: u64,
    pub rate_burst: u32,
    pub rate_per_sec: u32,
    pub max_bad_frames: u32,
    pub reply_batch: usize,
    /// Connections one address group (`common::net`: an IPv4 address, an IPv6 /64) may hold at once
    /// on one node, counted from accept; beyond it the upgrade is refused with HTTP 503.
    #[serde(default = "default_max_connections_per_addr")]
    pub max_connections_per_addr: u32,
    /// How long a connection may stay unbound to a user (no login or resume) after its handshake
    /// before it is closed with 1008 "login timeout".
    #[serde(default = "default_login_timeout_ms")]
    pub login_timeout_ms: u64,
    /// Frames `q:c2l:{group}` may hold before connect answers new frames with code 6; 0 = no cap.
    #[serde(default = "default_max_queue_depth")]
    pub max_queue_depth: u64,
}

fn default_max_connections_per_addr() -> u32 {
    1000
}

fn default_login_timeout_ms() -> u64 {
    30_000
}

fn default_max_queue_depth() -> u64 {
    100_000
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogicConfig {
    pub workers: usize,
    pub batch: usize,
    pub block_timeout_ms: u64,
    pub slow_handler_ms: u64,
    pub signup_grant: i64,
    pub session_ttl_s: u64,
    /// Sessions one user may hold; opening one more ends the one that expires soonest.
    pub session_max_per_user: u64,
    /// How long a session may live from its login, however often it is resumed.
    pub session_max_lifetime_s: u64,
    /// Failed logins of one account from one address group in the window before that pair is locked.
    pub login_max_failures_per_addr_user: u64,
    /// Failed logins one address group may have in the window (over all accounts).
    pub login_max_failures_per_addr: u64,
    /// Failed logins one account may have in the window (from every address).
    pub login_max_failures_per_user: u64,
    pub login_failure_window_s: u64,
    /// How long a successful login exempts that (address group, account) from the address and
    /// account limits.
    pub login_known_ttl_s: u64,
    /// Registrations and logins one address group may send per minute (checked before hashing).
    pub password_attempts_per_addr_per_min: u64,
    /// Password hashes (registrations and logins) per second for the whole deployment.
    pub password_hashes_per_sec: u64,
    /// Accounts one address group may create per `register_window_s`.
    pub register_max_per_addr: u64,
    pub register_window_s: u64,
    pub max_concurrent_hashes: usize,
    /// Hashes that may wait for one of `max_concurrent_hashes`; beyond, code 5 at once.
    pub max_queued_hashes: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Folder of Lua handler modules (docs/lua.md); empty = none.
    #[serde(default)]
    pub lua_dir: String,
    /// Where players' avatar pictures may be (205 `avatar_url` must start with one of these); empty:
    /// players cannot set an avatar URL.
    #[serde(default)]
    pub avatar_url_prefixes: Vec<String>,
    /// Uploaded avatars (206): the folder that keeps them (the local-disk object store)…
    pub avatar_dir: String,
    /// …the public URL it is served at (ends in "/"; empty: uploads refused)…
    pub avatar_public_url: String,
    /// …and the largest picture, bytes (below `connect.max_frame_bytes`).
    pub avatar_max_bytes: usize,
    /// Days a deleted account's username stays taken (210), then it is free; at least 1.
    pub deleted_name_hold_days: u64,
    /// May a Lua module serve a msg id that a built-in handler serves?
    #[serde(default)]
    pub lua_override: bool,
    /// CPU time one Lua handler call may use (time spent waiting on Redis does not count).
    #[serde(default = "default_lua_cpu_ms")]
    pub lua_cpu_ms: u64,
    /// Memory the Lua state of a handler set may hold, KiB.
    #[serde(default = "default_lua_memory_kib")]
    pub lua_memory_kib: u64,
}

fn default_lua_cpu_ms() -> u64 {
    50
}

fn default_lua_memory_kib() -> u64 {
    32768
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub heartbeat_interval_ms: u64,
    pub heartbeat_ttl_ms: u64,
    pub reap_interval_ms: u64,
    pub max_attempts: u32,
    /// Frames a dead list `q:dead:{queue}` keeps (newest first); older ones are dropped.
    pub dead_max: u64,
    /// Seconds a dead list lives after its last push (it holds frames with passwords and tokens).
    pub dead_ttl_s: u64,
}

impl QueueConfig {
    /// How long a connect node's reply and push lists outlive their last element: 3 heartbeat TTLs.
    /// A live node drains its lists far sooner; a dead node's lists expire instead of piling up.
    pub fn node_list_ttl_ms(&self) -> u64 {
        self.heartbeat_ttl_ms * 3
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchesConfig {
    pub types: Vec<String>,
    pub max_page: usize,
}

/// Deposit orders players create (212, 213; docs/protocol.md "Orders"), completed by the payment
/// provider's callback.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// The payment channels players may choose: name -> the address the app opens to pay, with
    /// `{order_id}`, `{amount}` and `{channel}` replaced. None: players cannot create orders.
    pub channels: std::collections::BTreeMap<String, String>,
    /// The currency orders are paid in (ISO 4217, three capital letters), recorded in each order;
    /// the payment callback must name the same.
    pub currency: String,
    /// The smallest and largest order, in coins.
    pub min_amount: i64,
    pub max_amount: i64,
    /// How long an order may be paid in; after, it reads as expired (a late callback still
    /// completes it: the player paid).
    pub pay_within_s: u64,
    /// How long Redis keeps an order's record, and how many a player's list holds (MySQL keeps all).
    pub keep_s: u64,
    pub list_max: u64,
    /// Orders one player may create per hour.
    pub per_user_per_hour: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResultcenterConfig {
    pub workers: usize,
    pub batch: usize,
    pub split_above: u64,
    pub split_into: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PushsvrConfig {
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub reminder_before_ms: u64,
    pub inbox_cap: usize,
    /// The push gateway that reaches players whose app is closed (906 for subscribed matches): an
    /// http(s) URL that takes signed JSON (docs/operations.md "Pushes to closed apps"); empty: none.
    pub webhook_url: String,
    /// The HMAC-SHA256 key of `X-Matchday-Signature` (at least 32 bytes when a URL is set).
    #[serde(serialize_with = "super::gm::no_secret")]
    pub webhook_secret: secrecy::SecretString,
    /// Each request waits at most this long, ms.
    pub webhook_timeout_ms: u64,
    /// Tries per push (the first and the retries, with jittered backoff from `webhook_backoff_ms`).
    pub webhook_attempts: u32,
    pub webhook_backoff_ms: u64,
    /// Pushes one player's closed app may get per hour; beyond, they are dropped (counted).
    pub offline_pushes_per_user_per_hour: u64,
}

/// web: the public read API (`matchday web`, docs/web.md).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub listen: std::net::SocketAddr,
    /// `Cache-Control: public, max-age` of every answer, s: how stale a cache may serve it.
    pub max_age_s: u64,
    /// The most items one page holds (`limit`), and the default.
    pub max_page: usize,
    pub default_page: usize,
    /// Requests served at once; beyond, 503 at once.
    pub max_concurrent_requests: usize,
    pub request_timeout_ms: u64,
    pub header_timeout_ms: u64,
}

/// datacenter: the match feeds it pulls, and the gm it applies them through.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterConfig {
    /// gm's base address (`http://127.0.0.1:7002`).
    pub gm_url: String,
    /// A staff token with the operator role (or admin): every change goes through gm's API, audited
    /// under this token's name. Needed when a feed is configured.
    #[serde(serialize_with = "super::gm::no_secret")]
    pub token: secrecy::SecretString,
    /// Every gm call waits at most this long, ms.
    pub gm_timeout_ms: u64,
    pub feeds: Vec<FeedConfig>,
}

/// One match feed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Names the feed in logs, metrics and the audit trail.
    pub name: String,
    /// An http(s) URL answering the feed document (docs/gm.md "Data feeds").
    pub url: String,
    /// How often it is pulled, ms (default 60000).
    #[serde(default = "feed_interval")]
    pub interval_ms: u64,
    /// How long one pull may take, ms (default 10000).
    #[serde(default = "feed_timeout")]
    pub timeout_ms: u64,
    /// Settle a match as soon as the feed reports its winner (default false: the result waits in
    /// the match's `feed_result` for staff to confirm with one click).
    #[serde(default)]
    pub auto_settle: bool,
}

fn feed_interval() -> u64 {
    60_000
}

fn feed_timeout() -> u64 {
    10_000
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DbsvrConfig {
    pub workers: usize,
    pub batch_max: usize,
    pub batch_wait_ms: u64,
    pub pool_size: u32,
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// HTTPS for `/metrics`, `/healthz`, `/readyz`: PEM files of the certificate chain and its key.
    #[serde(default)]
    pub tls_cert: String,
    #[serde(default)]
    pub tls_key: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpConfig {
    pub var_dir: PathBuf,
    /// The private Redis's AOF fsync policy: always, everysec or no.
    pub redis_appendfsync: AppendFsync,
}

/// Redis's `appendfsync` policies.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AppendFsync {
    Always,
    Everysec,
    No,
}

impl AppendFsync {
    pub fn as_str(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}
