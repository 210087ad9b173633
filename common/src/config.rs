//! Layered, typed configuration: compiled-in `config/default.toml`, then an optional file, then
//! `MATCHDAY__SECTION__KEY` environment variables. Loaded and validated before any port is bound.
//! Tests build a [`Config`] in code with [`Config::defaults`] and never touch the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The compiled-in defaults, with a comment on every setting.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Config {
    pub redis: RedisConfig,
    pub mysql: MysqlConfig,
    pub node: NodeConfig,
    pub connect: ConnectConfig,
    pub logic: LogicConfig,
    pub queue: QueueConfig,
    pub gm: GmConfig,
    pub matches: MatchesConfig,
    pub resultcenter: ResultcenterConfig,
    pub pushsvr: PushsvrConfig,
    pub dbsvr: DbsvrConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub up: UpConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
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
}

fn default_wait_timeout_ms() -> u64 {
    100
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MysqlConfig {
    pub url: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct NodeConfig {
    pub id: String,
    pub group: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ConnectConfig {
    pub listen: SocketAddr,
    pub max_connections: usize,
    pub max_frame_bytes: usize,
    pub outbound_queue: usize,
    pub ping_interval_ms: u64,
    pub idle_timeout_ms: u64,
    pub rate_burst: u32,
    pub rate_per_sec: u32,
    pub max_bad_frames: u32,
    pub reply_batch: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogicConfig {
    pub workers: usize,
    pub batch: usize,
    pub block_timeout_ms: u64,
    pub slow_handler_ms: u64,
    pub signup_grant: i64,
    pub session_ttl_s: u64,
    /// Failed logins an account may have in `login_failure_window_s` before its logins are refused.
    pub login_max_failures_per_user: u64,
    /// Failed logins one client address may have in the window before its logins are refused.
    pub login_max_failures_per_addr: u64,
    pub login_failure_window_s: u64,
    pub max_concurrent_hashes: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Folder of Lua handler modules (docs/lua.md); empty = none.
    #[serde(default)]
    pub lua_dir: String,
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
pub struct QueueConfig {
    pub heartbeat_interval_ms: u64,
    pub heartbeat_ttl_ms: u64,
    pub reap_interval_ms: u64,
    pub max_attempts: u32,
}

impl QueueConfig {
    /// How long a connect node's reply and push lists outlive their last element: 3 heartbeat TTLs.
    /// A live node drains its lists far sooner; a dead node's lists expire instead of piling up.
    pub fn node_list_ttl_ms(&self) -> u64 {
        self.heartbeat_ttl_ms * 3
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct GmConfig {
    pub listen: SocketAddr,
    #[serde(serialize_with = "no_secret")]
    pub payment_secret: SecretString,
    pub tokens: Vec<StaffToken>,
}

/// A staff member's bearer token and role.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

fn no_secret<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("***")
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MatchesConfig {
    pub types: Vec<String>,
    pub max_page: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ResultcenterConfig {
    pub workers: usize,
    pub batch: usize,
    pub split_above: u64,
    pub split_into: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PushsvrConfig {
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub reminder_before_ms: u64,
    pub inbox_cap: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DbsvrConfig {
    pub workers: usize,
    pub batch_max: usize,
    pub batch_wait_ms: u64,
    pub pool_size: u32,
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
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

impl Config {
    /// The compiled-in defaults only (what tests start from).
    pub fn defaults() -> Config {
        Self::from_figment(Figment::from(Toml::string(DEFAULT_TOML))).expect("config/default.toml is valid")
    }

    /// Defaults, then `file` if given, then `MATCHDAY__…` environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            fig = fig.merge(Toml::file(file));
        }
        fig = fig.merge(Env::prefixed("MATCHDAY__").split("__"));
        Self::from_figment(fig)
    }

    fn from_figment(fig: Figment) -> anyhow::Result<Config> {
        let cfg: Config = fig.extract().context("invalid configuration")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the values serde cannot: ranges and relations between settings.
    pub fn validate(&self) -> anyhow::Result<()> {
        let c = &self.connect;
        let checks: &[(bool, &str)] = &[
            (self.redis.pool_size >= 1, "redis.pool_size must be at least 1"),
            (self.redis.command_timeout_ms >= 1, "redis.command_timeout_ms must be at least 1"),
            (c.max_connections >= 1, "connect.max_connections must be at least 1"),
            (c.max_frame_bytes >= 256, "connect.max_frame_bytes must be at least 256"),
            (c.outbound_queue >= 1, "connect.outbound_queue must be at least 1"),
            (c.rate_burst >= 1 && c.rate_per_sec >= 1, "connect.rate_burst and rate_per_sec must be at least 1"),
            (c.idle_timeout_ms > c.ping_interval_ms, "connect.idle_timeout_ms must exceed ping_interval_ms"),
            (c.reply_batch >= 1, "connect.reply_batch must be at least 1"),
            (self.logic.workers >= 1 && self.logic.batch >= 1, "logic.workers and logic.batch must be at least 1"),
            (self.logic.signup_grant >= 0, "logic.signup_grant must not be negative"),
            (
                self.logic.login_max_failures_per_user >= 1
                    && self.logic.login_max_failures_per_addr >= 1
                    && self.logic.login_failure_window_s >= 1,
                "logic.login_max_failures_per_user, login_max_failures_per_addr and login_failure_window_s must be at least 1",
            ),
            (self.logic.max_concurrent_hashes >= 1, "logic.max_concurrent_hashes must be at least 1"),
            (
                self.logic.lua_cpu_ms >= 1 && self.logic.lua_cpu_ms <= 60_000,
                "logic.lua_cpu_ms must be between 1 and 60000",
            ),
            (self.logic.lua_memory_kib >= 1024, "logic.lua_memory_kib must be at least 1024"),
            (
                self.logic.argon2_memory_kib >= 8 && self.logic.argon2_iterations >= 1,
                "logic.argon2_memory_kib must be at least 8 and argon2_iterations at least 1",
            ),
            (
                self.queue.heartbeat_ttl_ms > self.queue.heartbeat_interval_ms,
                "queue.heartbeat_ttl_ms must exceed heartbeat_interval_ms",
            ),
            (self.queue.max_attempts >= 1, "queue.max_attempts must be at least 1"),
        ];
        for (ok, msg) in checks {
            if !ok {
                bail!("invalid configuration: {msg}");
            }
        }
        for t in &self.gm.tokens {
            if t.token.expose_secret().len() < 16 {
                bail!("invalid configuration: gm.tokens: the token of {:?} is shorter than 16 characters", t.name);
            }
        }
        let (r, p) = (&self.resultcenter, &self.pushsvr);
        if r.workers == 0
            || r.batch == 0
            || r.split_into == 0
            || p.workers == 0
            || p.poll_interval_ms == 0
            || p.inbox_cap == 0
        {
            bail!(
                "invalid configuration: resultcenter.workers/batch/split_into and pushsvr.workers/poll_interval_ms/inbox_cap must be at least 1"
            );
        }
        let d = &self.dbsvr;
        if d.workers == 0
            || d.batch_max == 0
            || d.pool_size == 0
            || d.retry_min_ms == 0
            || d.retry_max_ms < d.retry_min_ms
        {
            bail!(
                "invalid configuration: dbsvr.workers/batch_max/pool_size/retry_min_ms must be at least 1 and retry_max_ms at least retry_min_ms"
            );
        }
        if self.matches.types.is_empty() || self.matches.max_page == 0 {
            bail!("invalid configuration: matches.types must not be empty and matches.max_page must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let c = Config::defaults();
        assert_eq!(c.redis.prefix, "md:");
        assert_eq!(c.node.group, 1);
        assert_eq!(c.log.format, LogFormat::Human);
    }

    #[test]
    fn lua_settings_default_to_none_and_are_checked() {
        let mut c = Config::defaults();
        assert_eq!((c.logic.lua_dir.as_str(), c.logic.lua_override), ("", false));
        assert_eq!((c.logic.lua_cpu_ms, c.logic.lua_memory_kib), (50, 32768));
        c.logic.lua_cpu_ms = 0;
        assert!(c.validate().unwrap_err().to_string().contains("logic.lua_cpu_ms"));
        c.logic.lua_cpu_ms = 50;
        c.logic.lua_memory_kib = 10;
        assert!(c.validate().unwrap_err().to_string().contains("logic.lua_memory_kib"));
    }

    #[test]
    fn a_file_overrides_defaults_and_bad_values_are_refused() {
        let dir = std::env::temp_dir().join(format!("md-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(&good, "[redis]\nprefix = \"x:\"\n[node]\ngroup = 7\n").unwrap();
        let c = Config::load(Some(&good)).unwrap();
        assert_eq!((c.redis.prefix.as_str(), c.node.group), ("x:", 7));

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[logic]\nworkers = 0\n").unwrap();
        let err = Config::load(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("logic.workers"), "{err}");

        let typo = dir.join("typo.toml");
        std::fs::write(&typo, "[connect]\nlisten = \"not an address\"\n").unwrap();
        assert!(Config::load(Some(&typo)).is_err());
        assert!(Config::load(Some(&dir.join("missing.toml"))).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
