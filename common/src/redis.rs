//! Redis clients. Every process gets one multiplexed [`Pool`] for ordinary commands and one
//! dedicated [`Client`] per blocking loop (BLMOVE/BLMPOP park a connection; see notes/redis.md §3.3).
//! Both reconnect forever with exponential backoff: fred reconnects only when told to.

use std::time::Duration;

use anyhow::Context;
use fred::prelude::*;
use fred::types::config::UnresponsiveConfig;

use crate::config::RedisConfig;
use crate::keys::Keys;
use crate::store::scripts::Scripts;

/// What a process needs to talk to Redis: the pool, the key builder and the loaded scripts.
#[derive(Clone)]
pub struct Redis {
    pub pool: Pool,
    pub keys: Keys,
    pub scripts: Scripts,
    builder: Builder,
    command_timeout: Duration,
    /// `redis.wait_replicas` and `redis.wait_timeout_ms`, when replicas are waited for.
    wait: Option<(u32, Duration)>,
}

impl Redis {
    /// Builds the pool and starts connecting. Returns at once: if Redis is down, the pool keeps
    /// retrying in the background (and logs), and commands fail fast where callers ask them to.
    pub fn new(cfg: &RedisConfig) -> anyhow::Result<Redis> {
        let mut config = Config::from_url(&cfg.url).context("redis.url is not a valid Redis URL")?;
        config.fail_fast = false; // retry the first connection too, with the policy below
        if !cfg.tls_ca.is_empty() {
            anyhow::ensure!(config.tls.is_some(), "redis.tls_ca is set but redis.url is not a rediss:// URL");
            let client = crate::tls::client_config(std::path::Path::new(&cfg.tls_ca))?;
            config.tls = Some(fred::types::config::TlsConnector::from(client).into());
        }
        let command_timeout = Duration::from_millis(cfg.command_timeout_ms);
        let mut builder = Builder::from_config(config);
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, cfg.reconnect_min_ms, cfg.reconnect_max_ms, 2))
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
                c.tcp = TcpConfig { nodelay: Some(true), ..Default::default() };
                c.unresponsive =
                    UnresponsiveConfig { max_timeout: Some(command_timeout * 2), interval: Duration::from_millis(500) };
            })
            .with_performance_config(|p| p.default_command_timeout = command_timeout);
        let pool = builder.build_pool(cfg.pool_size).context("cannot build the Redis pool")?;
        for client in pool.clients() {
            log_connection_events(client, "pool");
        }
        pool.connect();
        let wait = (cfg.wait_replicas > 0).then(|| (cfg.wait_replicas, Duration::from_millis(cfg.wait_timeout_ms)));
        Ok(Redis { pool, keys: Keys::new(cfg.prefix.clone()), scripts: Scripts::new(), builder, command_timeout, wait })
    }

    /// Waits until the pool is connected and the scripts are loaded, logging while Redis is away.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let mut warned = false;
        loop {
            match tokio::time::timeout(Duration::from_secs(2), self.pool.wait_for_connect()).await {
                Ok(Ok(())) => break,
                Ok(Err(e)) => return Err(e).context("cannot connect to Redis"),
                Err(_) if !warned => {
                    tracing::warn!("Redis is not answering yet; retrying until it does");
                    warned = true;
                }
                Err(_) => {}
            }
        }
        self.scripts.load_all(&self.pool).await.context("cannot load the Lua scripts")?;
        Ok(())
    }

    /// A dedicated connection for a blocking loop: no client-side command timeout (the blocking
    /// command carries its own, short, server-side one).
    pub async fn blocking_client(&self, name: &str) -> anyhow::Result<Client> {
        let mut b = self.builder.clone();
        b.with_performance_config(|p| p.default_command_timeout = Duration::ZERO);
        b.with_connection_config(|c| {
            c.unresponsive = UnresponsiveConfig::default();
            // Named (CLIENT SETNAME, the client's id, on every connection and reconnection): a
            // consumer registers its name, and the reaper takes a consumer whose named connection
            // is gone for dead at once (`queue::Reaper`).
            c.auto_client_setname = true;
        });
        let client = b.build().context("cannot build a Redis client")?;
        log_connection_events(&client, name);
        client.connect();
        client.wait_for_connect().await.context("cannot connect to Redis")?;
        Ok(client)
    }

    /// Every key matching `pattern` (a glob after the prefix, e.g. "q:*"), by SCAN: it does not
    /// block Redis, but costs a pass over the keyspace, so it is for admin views and tests only.
    pub async fn scan(&self, pattern: &str) -> Result<Vec<String>, fred::error::Error> {
        let mut found = Vec::new();
        self.scan_until(pattern, |keys| {
            found.extend(keys);
            false
        })
        .await?;
        Ok(found)
    }

    /// Deletes every key under this client's prefix (a test's or a bench run's scratch prefix);
    /// returns how many. One UNLINK per key in pipelines of 1,000, so on a cluster each goes to the
    /// node of its slot (a many-key DEL across slots is refused there).
    pub async fn delete_prefix(&self) -> Result<u64, fred::error::Error> {
        let keys = self.scan("*").await?;
        let mut deleted = 0;
        for chunk in keys.chunks(1000) {
            let pipe = self.pool.next().pipeline();
            for key in chunk {
                let _: () = pipe.unlink(key.as_str()).await?;
            }
            deleted += Redis::each::<u64>(pipe).await?.into_iter().sum::<u64>();
        }
        Ok(deleted)
    }

    /// The first key matching `pattern` that SCAN finds, if any (stops there).
    pub async fn any_key(&self, pattern: &str) -> Result<Option<String>, fred::error::Error> {
        let mut first = None;
        self.scan_until(pattern, |keys| {
            first = keys.into_iter().next();
            first.is_some()
        })
        .await?;
        Ok(first)
    }

    /// The one SCAN loop: hands each page of keys matching `pattern` to `page` until it answers
    /// true (stop) or the pass is over. On a cluster the pass covers every primary in turn (each
    /// holds a part of the keyspace), on one Redis its one keyspace; every page is a command with
    /// the usual timeout, so a Redis that is away fails the pass instead of hanging it.
    /// Each primary's address and a route to it (a slot it holds) for a command that is about the
    /// server rather than a key (SCAN, INFO); on one Redis, that Redis.
    pub fn primaries(&self) -> Vec<(String, fred::types::ClusterHash)> {
        use fred::types::ClusterHash;
        let client = self.pool.next();
        match client.cached_cluster_state() {
            Some(state) if client.is_clustered() => {
                let mut out: Vec<(String, ClusterHash)> = Vec::new();
                for range in state.slots() {
                    let name = range.primary.to_string();
                    if !out.iter().any(|(n, _)| *n == name) {
                        out.push((name, ClusterHash::Custom(range.start)));
                    }
                }
                out
            }
            _ => vec![("redis".to_owned(), ClusterHash::Random)],
        }
    }

    async fn scan_until(
        &self,
        pattern: &str,
        mut page: impl FnMut(Vec<String>) -> bool,
    ) -> Result<(), fred::error::Error> {
        let client = self.pool.next();
        let pattern = format!("{}{pattern}", self.keys.prefix());
        for (_, primary) in self.primaries() {
            let scan = fred::types::CustomCommand::new_static("SCAN", primary, false);
            let mut cursor = "0".to_owned();
            loop {
                let (next, keys): (String, Vec<String>) = client
                    .custom(scan.clone(), vec![cursor, "MATCH".into(), pattern.clone(), "COUNT".into(), "1000".into()])
                    .await?;
                if page(keys) {
                    return Ok(());
                }
                if next == "0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(())
    }

    /// Sends the commands queued on `pipe` and converts each reply on its own (fred folds a
    /// one-command pipeline's reply otherwise).
    pub async fn each<T: FromValue>(pipe: fred::clients::Pipeline<Client>) -> Result<Vec<T>, fred::error::Error> {
        let replies: Vec<Result<fred::types::Value, fred::error::Error>> = pipe.try_all().await;
        replies.into_iter().map(|r| r.and_then(|v| v.convert())).collect()
    }

    /// With `redis.wait_replicas` > 0, waits (at most `redis.wait_timeout_ms`) until that many
    /// replicas hold every write this process has seen answered so far on the primaries of the
    /// `written` slots (noted by [`crate::written::tracking`]; none noted: on every primary); call
    /// it after a change and before answering its success. WAIT covers the writes of its own
    /// connection, so on each primary it is sent right after a marker write in one of the slots, on
    /// the same connection: replicas acknowledge offsets in the one replication stream, and the
    /// marker comes after every write already answered there, on any connection. The primaries are
    /// waited on at once. Returns the fewest replicas that acknowledged on any of them (None when
    /// not configured). Fewer than asked is logged and counted, not an error: the change is made
    /// and cannot be taken back.
    pub async fn replicated(&self, written: &[u16]) -> Result<Option<u32>, fred::error::Error> {
        let Some((want, timeout)) = self.wait else { return Ok(None) };
        let client = self.pool.next();
        let slots = match written {
            [] => self.primaries().into_iter().map(|(_, route)| route_slot(&route)).collect(),
            some => self.one_slot_per_primary(client, some),
        };
        let waits = slots.into_iter().map(|slot| self.wait_on(client, slot, want, timeout));
        let acked = futures_util::future::try_join_all(waits).await?.into_iter().min().unwrap_or(want);
        if acked < want {
            metrics::counter!("matchday_redis_wait_short_total").increment(1);
            tracing::warn!(
                replicas.wanted = want,
                replicas.acked = acked,
                timeout_ms = timeout.as_millis() as u64,
                "fewer replicas than redis.wait_replicas hold the change; answering anyway"
            );
        }
        Ok(Some(acked))
    }

    /// Of `slots`, one per primary (on one Redis, the first).
    fn one_slot_per_primary(&self, client: &Client, slots: &[u16]) -> Vec<u16> {
        let state = if client.is_clustered() { client.cached_cluster_state() } else { None };
        let Some(state) = state else { return slots[..1].to_vec() };
        let mut seen: Vec<Option<&fred::types::config::Server>> = Vec::with_capacity(slots.len());
        let mut out = Vec::with_capacity(slots.len());
        for &slot in slots {
            let server = state.get_server(slot);
            if server.is_none() || !seen.contains(&server) {
                seen.push(server);
                out.push(slot);
            }
        }
        out
    }

    /// The marker write in `slot` and a WAIT after it, on `client`'s connection to that slot's primary.
    async fn wait_on(
        &self,
        client: &Client,
        slot: u16,
        want: u32,
        timeout: Duration,
    ) -> Result<u32, fred::error::Error> {
        let _: i64 = client.incr(self.keys.replication_marker(slot)).await?;
        let wait = fred::types::CustomCommand::new_static("WAIT", fred::types::ClusterHash::Custom(slot), true);
        let opts = Options { timeout: Some(timeout + self.command_timeout), ..Default::default() };
        let acked: i64 = client.with_options(&opts).custom(wait, vec![want as i64, timeout.as_millis() as i64]).await?;
        Ok(acked.max(0) as u32)
    }

    /// Closes the pool's connections (at shutdown, so nothing keeps reconnecting after it).
    pub async fn close(&self) {
        if let Err(e) = self.pool.quit().await {
            tracing::debug!(error = %e, "closing the Redis pool");
        }
    }

    /// Options for a command that must not be replayed after a disconnect and must fail at once
    /// while Redis is unreachable (so a client gets code 6 instead of waiting).
    pub fn fail_fast(&self) -> Options {
        Options { max_attempts: Some(1), timeout: Some(self.command_timeout), fail_fast: true, ..Default::default() }
    }
}

fn log_connection_events(client: &Client, name: &str) {
    let (n1, n2) = (name.to_owned(), name.to_owned());
    client.on_reconnect(move |server| {
        tracing::debug!(redis.client = %n1, redis.server = %server, "connected to Redis");
        async { Ok(()) }
    });
    client.on_error(move |(error, server)| {
        let server = server.map(|s| s.to_string()).unwrap_or_default();
        tracing::warn!(redis.client = %n2, redis.server = %server, error = %error, "Redis connection error; reconnecting");
        async { Ok(()) }
    });
}

/// The slot a route names (a primary's first slot, from [`Redis::primaries`]); 0 on one Redis.
fn route_slot(route: &fred::types::ClusterHash) -> u16 {
    match route {
        fred::types::ClusterHash::Custom(slot) => *slot,
        _ => 0,
    }
}
