//! # matchday-dbsvr
//!
//! Copies every durable change into MySQL. The Lua scripts append change records
//! (`{ts, table, key, ver, fields}`) to `q:outbox`; dbsvr takes them in batches through the reliable
//! queue, writes each batch in one transaction with idempotent multi-row statements, then acks.
//!
//! - [`run`] / [`run_with`]: schema check, workers, heartbeat, reaper; returns on shutdown.
//! - [`schema`]: the `sql/` migrations (`matchday migrate`) and the start-up check.
//! - `rows`: change records decoded into rows. `write`: the SQL. `flush`: the batch loop, retries,
//!   the dead list, lag.

mod flush;
pub mod restore;
pub mod rows;
pub mod schema;
pub mod verify;
pub mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use common::heartbeat::{Heartbeat, NodeInfo};
use common::queue::{Consumer, QueueKeys, Reaper};
use common::{Config, Redis, Shutdown};
use sqlx::MySqlPool;
use sqlx::mysql::MySqlPoolOptions;

/// Counters of a dbsvr process, readable by tests and mirrored to Prometheus.
#[derive(Debug, Default)]
pub struct Stats {
    /// Records written (or found already written).
    pub flushed: AtomicU64,
    pub batches: AtomicU64,
    /// Records moved to the dead list.
    pub dead: AtomicU64,
    /// Write attempts that found MySQL unavailable.
    pub retries: AtomicU64,
    /// Records waiting in q:outbox, and the age of the oldest (ms), as last seen.
    pub backlog: AtomicU64,
    pub lag_ms: AtomicU64,
}

impl Stats {
    pub fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Relaxed)
    }
}

/// Connects a pool to `url`; does not fail while MySQL is down (connections are made on use).
pub fn pool(url: &str, size: u32) -> anyhow::Result<MySqlPool> {
    MySqlPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(url)
        .context("mysql.url is not a valid MySQL URL")
}

/// Runs dbsvr until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`. Waits (logging) for MySQL at start, then refuses to run against
/// a schema it does not know.
pub async fn run_with(cfg: Config, shutdown: Shutdown, stats: Arc<Stats>) -> anyhow::Result<()> {
    let node = cfg.node.id.clone();
    anyhow::ensure!(!node.is_empty(), "node.id must be set before starting dbsvr");
    let d = cfg.dbsvr.clone();
    let pool = pool(&cfg.mysql.url, d.pool_size)?;
    let mut backoff = Duration::from_millis(d.retry_min_ms);
    loop {
        match sqlx::query("SELECT 1").execute(&pool).await {
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = backoff.as_millis() as u64, "MySQL is not answering yet; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_millis(d.retry_max_ms));
            }
        }
    }
    schema::check(&pool).await?;
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let q = cfg.queue.clone();
    let info = NodeInfo {
        role: "dbsvr",
        id: node.clone(),
        group: cfg.node.group,
        extra: vec![("workers".into(), d.workers.to_string())],
    };
    let every = Duration::from_millis(q.heartbeat_interval_ms);
    let heartbeat = Heartbeat::start(&redis, info, every, Duration::from_millis(q.heartbeat_ttl_ms), &shutdown).await;
    let queue = QueueKeys::new(&redis.keys, redis.keys.outbox());
    let mut workers = Vec::new();
    for k in 0..d.workers {
        let worker = format!("{node}.{k}");
        let consumer =
            Consumer::start(&redis, queue.clone(), &worker, &heartbeat.key, d.batch_max, Duration::from_secs(1), every)
                .await?;
        let ctx = flush::Ctx {
            redis: redis.clone(),
            pool: pool.clone(),
            cfg: d.clone(),
            stats: stats.clone(),
            dead: queue.dead.clone(),
            max_attempts: q.max_attempts,
        };
        let span = tracing::info_span!("worker", worker = %worker);
        workers.push(
            shutdown.tracker.spawn(tracing::Instrument::instrument(flush::run(ctx, consumer, shutdown.clone()), span)),
        );
    }
    let reaper = Reaper::new(&redis, queue.clone(), &node, q.max_attempts, Duration::from_millis(q.reap_interval_ms));
    shutdown.tracker.spawn(reaper.run(Duration::from_millis(q.reap_interval_ms), shutdown.clone()));
    tracing::info!(node = %node, workers = d.workers, batch_max = d.batch_max, "dbsvr running");
    shutdown.cancelled().await;
    for w in workers {
        let _ = w.await;
    }
    heartbeat.stopped().await;
    redis.close().await;
    pool.close().await;
    tracing::info!(node = %node, "dbsvr stopped");
    Ok(())
}
