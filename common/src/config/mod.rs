//! Layered, typed configuration: compiled-in `config/default.toml`, then an optional file, then
//! `MATCHDAY__SECTION__KEY` environment variables. Loaded and validated before any port is bound.
//! Tests build a [`Config`] in code with [`Config::defaults`] and never touch the environment.
//!
//! [`Config`] and its loading are here; sections.rs holds the section types, gm.rs the gm section
//! (staff tokens and roles), validate.rs the checks serde cannot make.

mod gm;
mod sections;
mod validate;

use std::path::Path;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

pub use self::gm::{GmConfig, Role, StaffToken};
pub use self::sections::{
    AppendFsync, ConnectConfig, DatacenterConfig, DbsvrConfig, FeedConfig, LogConfig, LogFormat, LogicConfig,
    MatchesConfig, MetricsConfig, MysqlConfig, NodeConfig, OrdersConfig, PushsvrConfig, QueueConfig, RedisConfig,
    ResultcenterConfig, UpConfig, WebConfig,
};
pub use self::validate::MIN_SECRET_BYTES;

/// The compiled-in defaults, with a comment on every setting.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub redis: RedisConfig,
    pub mysql: MysqlConfig,
    pub node: NodeConfig,
    pub connect: ConnectConfig,
    pub logic: LogicConfig,
    pub queue: QueueConfig,
    pub gm: GmConfig,
    pub matches: MatchesConfig,
    pub orders: OrdersConfig,
    pub resultcenter: ResultcenterConfig,
    pub pushsvr: PushsvrConfig,
    pub web: WebConfig,
    pub dbsvr: DbsvrConfig,
    pub datacenter: DatacenterConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub up: UpConfig,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_an_unknown_key_is_refused_naming_the_key_and_the_file() {
        let path = std::env::temp_dir().join(format!("md-config-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, "[connect]\nmax_conections = 5\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&path)).unwrap_err());
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("max_conections"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        // A section of its own that nothing reads is refused too.
        let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string("[conect]\nlisten = \"0.0.0.0:1\"\n"));
        let err = format!("{:#}", Config::from_figment(fig).unwrap_err());
        assert!(err.contains("conect"), "{err}");
    }

    #[test]
    fn defaults_load_and_validate() {
        let c = Config::defaults();
        assert_eq!(c.redis.prefix, "md:");
        assert_eq!(c.node.group, 1);
        assert_eq!(c.log.format, LogFormat::Human);
    }

    #[test]
    fn gm_limits_default_and_the_payments_listener_may_be_empty() {
        let c = Config::defaults();
        assert_eq!(c.gm.payments_listen, None);
        assert_eq!((c.gm.header_timeout_ms, c.gm.request_timeout_ms), (10_000, 30_000));
        assert_eq!((c.gm.max_concurrent_requests, c.gm.max_body_bytes), (256, 2 * 1024 * 1024));
        let fig = Figment::from(Toml::string(DEFAULT_TOML))
            .merge(Toml::string("[gm]\npayments_listen = \"10.0.0.7:7003\"\nmax_body_bytes = 10\n"));
        let err = Config::from_figment(fig).unwrap_err().to_string();
        assert!(err.contains("gm.max_body_bytes"), "{err}");
        let fig = Figment::from(Toml::string(DEFAULT_TOML))
            .merge(Toml::string("[gm]\npayments_listen = \"10.0.0.7:7003\"\n"));
        let c = Config::from_figment(fig).unwrap();
        assert_eq!(c.gm.payments_listen, Some("10.0.0.7:7003".parse().unwrap()));
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
