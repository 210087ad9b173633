//! Node heartbeats: each process keeps `node:{role}:{id}` (a hash with a TTL) alive while it runs.
//! The reaper treats a consumer whose heartbeat key has expired as dead; gm lists live processes.
//!
//! Besides its identity, every beat writes `uptime_s` and whatever the process's [`LiveFields`]
//! provider returns at that moment (the consumer services: `handled`, `frames_per_s`, `inflight`;
//! see `service::load_fields`), so `GET /api/nodes` and `matchday status` show live load.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::prelude::*;

use crate::redis::Redis;
use crate::shutdown::Shutdown;
use crate::time::now_ms;

/// Fields that change while a process runs (load), read at every beat.
pub type LiveFields = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<(String, String)>> + Send>> + Send + Sync>;

/// Identity of a process in one role.
#[derive(Clone)]
pub struct NodeInfo {
    pub role: &'static str,
    pub id: String,
    pub group: u32,
    /// Free-form extra fields (listen address, worker count), written as they are.
    pub extra: Vec<(String, String)>,
    /// Live fields, asked for at every beat (none: only `uptime_s` changes).
    pub live: Option<LiveFields>,
}

impl std::fmt::Debug for NodeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeInfo")
            .field("role", &self.role)
            .field("id", &self.id)
            .field("group", &self.group)
            .field("extra", &self.extra)
            .field("live", &self.live.is_some())
            .finish()
    }
}

/// A running heartbeat; its key is deleted on shutdown.
#[derive(Debug)]
pub struct Heartbeat {
    pub key: String,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Writes the first beat and refreshes it every `interval` with TTL `ttl` until shutdown, when
    /// the key is deleted. A failed beat is logged and retried on the next tick.
    pub async fn start(
        redis: &Redis,
        info: NodeInfo,
        interval: Duration,
        ttl: Duration,
        shutdown: &Shutdown,
    ) -> Heartbeat {
        let key = redis.keys.node(info.role, &info.id);
        let mut fields: Vec<(String, String)> = vec![
            ("role".into(), info.role.into()),
            ("id".into(), info.id.clone()),
            ("group".into(), info.group.to_string()),
            ("host".into(), hostname()),
            ("pid".into(), std::process::id().to_string()),
            ("version".into(), env!("CARGO_PKG_VERSION").into()),
            ("started_at".into(), now_ms().to_string()),
        ];
        fields.extend(info.extra);
        if let Some(admin) = crate::telemetry::admin_addr() {
            // Where Prometheus scrapes this process: several processes on one host each have
            // their own (a taken port moves), and `matchday status` shows which.
            fields.push(("metrics".into(), admin.to_string()));
        }
        let started = Instant::now();
        let live = info.live;
        let current = move || {
            let live = live.clone();
            async move {
                let mut now = vec![("uptime_s".to_owned(), started.elapsed().as_secs().to_string())];
                if let Some(live) = live {
                    now.extend(live().await);
                }
                now
            }
        };
        let first = [fields.clone(), current().await].concat();
        if let Err(e) = beat(redis, &key, &first, ttl).await {
            tracing::warn!(heartbeat = %key, error = %e, "first heartbeat failed; retrying");
        }
        let (redis, k, token) = (redis.clone(), key.clone(), shutdown.token.clone());
        let task = shutdown.tracker.spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = [fields.clone(), current().await].concat();
                if let Err(e) = beat(&redis, &k, &now, ttl).await {
                    tracing::warn!(heartbeat = %k, error = %e, "heartbeat failed; retrying");
                }
            }
            let _: Result<i64, _> = redis.pool.del(&k).await;
        });
        Heartbeat { key, task }
    }

    /// Waits until the heartbeat has stopped (after shutdown) and its key is deleted; call it
    /// before closing the Redis connections.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

async fn beat(redis: &Redis, key: &str, fields: &[(String, String)], ttl: Duration) -> anyhow::Result<()> {
    let pipe = redis.pool.next().pipeline();
    let _: () = pipe.hset(key, fields.to_vec()).await?;
    let _: () = pipe.pexpire(key, ttl.as_millis() as i64, None).await?;
    let _: ((), ()) = pipe.all().await?;
    Ok(())
}

/// The host name, for heartbeats and generated node ids.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// A node id unique per process start: host-pid-random.
pub fn generate_node_id() -> String {
    format!("{}-{}-{:04x}", hostname(), std::process::id(), rand::random::<u16>())
}
