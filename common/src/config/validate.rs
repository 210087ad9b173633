//! The checks serde cannot make: ranges, relations between settings, and secrets.

use anyhow::bail;
use secrecy::ExposeSecret;

use super::Config;

/// The shortest secret (staff token, payment secret) accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Whether `s` still holds a template placeholder.
fn is_placeholder(s: &str) -> bool {
    s.to_ascii_lowercase().contains("change-me")
}

impl Config {
    /// Refuses template placeholders (`CHANGE-ME`, any case) and short secrets, naming the setting:
    /// staff tokens and a set payment secret need [`MIN_SECRET_BYTES`]; an empty payment secret
    /// (callbacks refused) is allowed. Database URLs have no length rule (development runs without
    /// a password) but must not hold a placeholder.
    pub fn validate_secrets(&self) -> anyhow::Result<()> {
        for t in &self.gm.tokens {
            let token = t.token.expose_secret();
            let setting = format!("gm.tokens[{:?}].token", t.name);
            if is_placeholder(token) {
                bail!(
                    "invalid configuration: {setting} is still a CHANGE-ME placeholder; make one with `openssl rand -hex 32`"
                );
            }
            if token.len() < MIN_SECRET_BYTES {
                bail!(
                    "invalid configuration: {setting} is shorter than {MIN_SECRET_BYTES} bytes; make one with `openssl rand -hex 32`"
                );
            }
        }
        let secret = self.gm.payment_secret.expose_secret();
        let setting = "gm.payment_secret (MATCHDAY__GM__PAYMENT_SECRET)";
        if is_placeholder(secret) {
            bail!(
                "invalid configuration: {setting} is still a CHANGE-ME placeholder; set the provider's secret or leave it empty to refuse callbacks"
            );
        }
        if !secret.is_empty() && secret.len() < MIN_SECRET_BYTES {
            bail!(
                "invalid configuration: {setting} is shorter than {MIN_SECRET_BYTES} bytes (empty = callbacks refused)"
            );
        }
        let secret = self.pushsvr.webhook_secret.expose_secret();
        let setting = "pushsvr.webhook_secret (MATCHDAY__PUSHSVR__WEBHOOK_SECRET)";
        if is_placeholder(secret) {
            bail!(
                "invalid configuration: {setting} is still a CHANGE-ME placeholder; make one with `openssl rand -hex 32`"
            );
        }
        if !self.pushsvr.webhook_url.is_empty() && secret.len() < MIN_SECRET_BYTES {
            bail!(
                "invalid configuration: {setting} must be at least {MIN_SECRET_BYTES} bytes when pushsvr.webhook_url is set; make one with `openssl rand -hex 32`"
            );
        }
        let token = self.datacenter.token.expose_secret();
        if is_placeholder(token) {
            bail!("invalid configuration: datacenter.token is still a CHANGE-ME placeholder; give it a gm staff token");
        }
        for (url, setting) in [
            (&self.redis.url, "redis.url (MATCHDAY__REDIS__URL)"),
            (&self.mysql.url, "mysql.url (MATCHDAY__MYSQL__URL)"),
        ] {
            if is_placeholder(url) {
                bail!("invalid configuration: {setting} holds a CHANGE-ME placeholder password");
            }
        }
        Ok(())
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
            (c.max_connections_per_addr >= 1, "connect.max_connections_per_addr must be at least 1"),
            (c.login_timeout_ms >= 1, "connect.login_timeout_ms must be at least 1"),
            (self.logic.workers >= 1 && self.logic.batch >= 1, "logic.workers and logic.batch must be at least 1"),
            (self.logic.signup_grant >= 0, "logic.signup_grant must not be negative"),
            (
                (1..=1000).contains(&self.logic.session_max_per_user),
                "logic.session_max_per_user must be from 1 to 1000 (a ban names every session as a key)",
            ),
            (self.logic.session_max_lifetime_s >= 1, "logic.session_max_lifetime_s must be at least 1"),
            (
                self.logic.login_max_failures_per_addr_user >= 1
                    && self.logic.login_max_failures_per_user >= 1
                    && self.logic.login_max_failures_per_addr >= 1
                    && self.logic.login_failure_window_s >= 1
                    && self.logic.login_known_ttl_s >= 1,
                "logic.login_max_failures_per_addr_user, login_max_failures_per_user, login_max_failures_per_addr, login_failure_window_s and login_known_ttl_s must be at least 1",
            ),
            (
                self.logic.password_attempts_per_addr_per_min >= 1
                    && self.logic.password_hashes_per_sec >= 1
                    && self.logic.register_max_per_addr >= 1
                    && self.logic.register_window_s >= 1,
                "logic.password_attempts_per_addr_per_min, password_hashes_per_sec, register_max_per_addr and register_window_s must be at least 1",
            ),
            (self.logic.max_concurrent_hashes >= 1, "logic.max_concurrent_hashes must be at least 1"),
            (self.gm.grant_daily_limit >= 0, "gm.grant_daily_limit must be 0 (no limit) or more"),
            (self.gm.grant_approval_above >= 0, "gm.grant_approval_above must be 0 (no approvals) or more"),
            (
                self.gm.staff_session_idle_s >= 60 && self.gm.staff_session_max_s >= self.gm.staff_session_idle_s,
                "gm.staff_session_idle_s must be at least 60, and staff_session_max_s at least staff_session_idle_s",
            ),
            (
                self.gm.staff_login_max_failures >= 1 && self.gm.staff_login_window_s >= 1,
                "gm.staff_login_max_failures and staff_login_window_s must be at least 1",
            ),
            (
                self.web.default_page >= 1
                    && self.web.default_page <= self.web.max_page
                    && self.web.max_concurrent_requests >= 1
                    && self.web.request_timeout_ms >= 1
                    && self.web.header_timeout_ms >= 1,
                "web.default_page must be from 1 to web.max_page; web.max_concurrent_requests, request_timeout_ms and header_timeout_ms at least 1",
            ),
            (
                self.pushsvr.webhook_url.is_empty()
                    || self.pushsvr.webhook_url.starts_with("https://")
                    || self.pushsvr.webhook_url.starts_with("http://"),
                "pushsvr.webhook_url must be empty or an http(s) URL",
            ),
            (
                self.pushsvr.webhook_attempts >= 1 && self.pushsvr.webhook_timeout_ms >= 1,
                "pushsvr.webhook_attempts and webhook_timeout_ms must be at least 1",
            ),
            (
                self.logic.avatar_max_bytes >= 1024 && self.logic.avatar_max_bytes + 1024 <= c.max_frame_bytes,
                "logic.avatar_max_bytes must be at least 1024 and 1024 below connect.max_frame_bytes (the frame carries it)",
            ),
            (
                self.logic.avatar_public_url.is_empty()
                    || ((self.logic.avatar_public_url.starts_with("https://")
                        || self.logic.avatar_public_url.starts_with("http://"))
                        && self.logic.avatar_public_url.ends_with('/')),
                "logic.avatar_public_url must be empty or an http(s) URL ending in /",
            ),
            (
                (1..=3650).contains(&self.logic.deleted_name_hold_days),
                "logic.deleted_name_hold_days must be from 1 to 3650 (MySQL renames a deleted account's row meanwhile)",
            ),
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
            (
                self.queue.dead_max >= 1 && self.queue.dead_ttl_s >= 1,
                "queue.dead_max and dead_ttl_s must be at least 1",
            ),
            (
                self.orders.channels.keys().all(|c| {
                    !c.is_empty()
                        && c.len() <= protocol::fields::ORDER_CHANNEL_MAX
                        && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
                }),
                "orders.channels: every name must be 1 to 32 characters of a-z, A-Z, 0-9, '_', '-'",
            ),
            (
                self.orders.currency.len() == 3 && self.orders.currency.chars().all(|c| c.is_ascii_uppercase()),
                "orders.currency must be an ISO 4217 code: three capital letters, e.g. USD",
            ),
            (
                self.orders.min_amount >= 1
                    && self.orders.min_amount <= self.orders.max_amount
                    && self.orders.max_amount <= 1_000_000_000_000,
                "orders.min_amount must be at least 1 and at most orders.max_amount, which is at most 10^12",
            ),
            (
                self.orders.pay_within_s >= 1
                    && self.orders.keep_s >= self.orders.pay_within_s
                    && self.orders.list_max >= 1
                    && self.orders.per_user_per_hour >= 1,
                "orders.pay_within_s, list_max and per_user_per_hour must be at least 1, and keep_s at least pay_within_s",
            ),
            (
                self.gm.tokens.iter().all(|t| !t.name.is_empty() && t.name.len() <= protocol::fields::STAFF_NAME_MAX),
                "gm.tokens: every name must be 1 to 64 bytes (gm_audit.who holds 64 characters)",
            ),
        ];
        for (ok, msg) in checks {
            if !ok {
                bail!("invalid configuration: {msg}");
            }
        }
        self.validate_secrets()?;
        // The proxies' networks parse (each role that serves re-reads them; all refuse a typo).
        crate::proxy::TrustedProxies::parse("connect.trusted_proxies", &c.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e:#}"))?;
        crate::proxy::TrustedProxies::parse("gm.trusted_proxies", &self.gm.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e:#}"))?;
        let g = &self.gm;
        if g.header_timeout_ms == 0 || g.request_timeout_ms == 0 || g.max_concurrent_requests == 0 {
            bail!(
                "invalid configuration: gm.header_timeout_ms, request_timeout_ms and max_concurrent_requests must be at least 1"
            );
        }
        if g.max_body_bytes < 1024 {
            bail!("invalid configuration: gm.max_body_bytes must be at least 1024");
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
        let mut names = std::collections::HashSet::new();
        for f in &self.datacenter.feeds {
            if f.name.is_empty() || !names.insert(f.name.as_str()) {
                bail!("invalid configuration: datacenter.feeds need names, each once (found {:?})", f.name);
            }
            if !(f.url.starts_with("http://") || f.url.starts_with("https://")) {
                bail!("invalid configuration: datacenter.feeds[{:?}].url must be an http(s) URL", f.name);
            }
            if f.interval_ms < 1000 || f.timeout_ms == 0 {
                bail!(
                    "invalid configuration: datacenter.feeds[{:?}]: interval_ms at least 1000, timeout_ms at least 1",
                    f.name
                );
            }
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
    use crate::config::{Role, StaffToken};

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
    fn placeholder_and_short_secrets_are_refused_by_name() {
        let good = "0123456789abcdef0123456789abcdef";
        let mut c = Config::defaults();
        c.gm.tokens = vec![StaffToken { name: "ops-admin".into(), token: good.into(), role: Role::Admin }];
        c.gm.payment_secret = good.into();
        c.validate().expect("32-byte secrets pass");
        c.gm.payment_secret = "".into();
        c.validate().expect("an empty payment secret (callbacks refused) passes");

        let err = |c: &Config| c.validate().unwrap_err().to_string();
        c.gm.tokens[0].token = "change-me-0123456789abcdef0123456789".into();
        assert!(err(&c).contains(r#"gm.tokens["ops-admin"].token"#) && err(&c).contains("CHANGE-ME"), "{}", err(&c));
        c.gm.tokens[0].token = good[..31].into();
        assert!(err(&c).contains(r#"gm.tokens["ops-admin"].token is shorter than 32"#), "{}", err(&c));
        c.gm.tokens[0].token = good.into();

        c.gm.payment_secret = "CHANGE-ME".into();
        assert!(
            err(&c).contains("gm.payment_secret (MATCHDAY__GM__PAYMENT_SECRET) is still a CHANGE-ME"),
            "{}",
            err(&c)
        );
        c.gm.payment_secret = "short-secret".into();
        assert!(err(&c).contains("gm.payment_secret (MATCHDAY__GM__PAYMENT_SECRET) is shorter"), "{}", err(&c));
        c.gm.payment_secret = good.into();

        c.redis.url = "redis://:CHANGE-ME@10.0.0.5:6379/0".into();
        assert!(err(&c).contains("redis.url (MATCHDAY__REDIS__URL)"), "{}", err(&c));
        c.redis.url = "redis://127.0.0.1:6379/0".into();
        c.mysql.url = "mysql://matchday:Change-Me@db:3306/matchday".into();
        assert!(err(&c).contains("mysql.url (MATCHDAY__MYSQL__URL)"), "{}", err(&c));
    }
}
