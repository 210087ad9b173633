//! # matchday-dbsvr
//!
//! Copies every durable change into MySQL. The Lua scripts append change records
//! (`{ts, table, key, ver, fields}`) to `q:outbox:{…}`; dbsvr takes them in batches through the reliable
//! queue, writes each batch in one transaction with idempotent multi-row statements, then acks.
//!
//! - [`run`] / [`run_with`]: schema check, workers, heartbeat, reaper; returns on shutdown.
//! - [`schema`]: the `sql/` migrations (`matchday migrate`) and the start-up check.
//! - `rows`: change records decoded into rows. `write`: the SQL. `flush`: the batch handler (one
//!   transaction), retries, the dead list, lag.

mod flush;
pub mod restore;
pub mod rows;
pub mod schema;
pub mod verify;
pub mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::mysql::pool;
use common::service::{Consumers, run_consumers};
use common::{Config, Redis, Shutdown};
use sqlx::MySqlPool;

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
    /// Records waiting in q:outbox:{…}, and the age of the oldest (ms), as last seen.
    pub backlog: AtomicU64,
    pub lag_ms: AtomicU64,
}

impl Stats {
    pub fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Relaxed)
    }
}

/// The readiness probe of MySQL (`/readyz` of dbsvr): `SELECT 1` on a one-connection pool of its
/// own, answered within [`MysqlProbe::TIMEOUT`].
#[derive(Clone, Debug)]
pub struct MysqlProbe(MySqlPool);

impl MysqlProbe {
    /// A probe needs an answer within this long (a MySQL that hangs is not ready).
    pub const TIMEOUT: Duration = Duration::from_secs(2);

    pub fn new(url: &str) -> anyhow::Result<MysqlProbe> {
        Ok(MysqlProbe(pool(url, 1)?))
    }

    /// Ok when MySQL answers; the reason otherwise.
    pub async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(Self::TIMEOUT, sqlx::query("SELECT 1").execute(&self.0)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", Self::TIMEOUT)),
        }
    }
}

/// Runs dbsvr until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`. Waits (logging) for MySQL at start, then refuses to run against
/// a schema it does not know.
pub async fn run_with(cfg: Config, shutdown: Shutdown, stats: Arc<Stats>) -> anyhow::Result<()> {
    anyhow::ensure!(!cfg.node.id.is_empty(), "node.id must be set before starting dbsvr");
    let d = cfg.dbsvr.clone();
    let pool = pool(&cfg.mysql.url, d.pool_size)?;
    let mut backoff = flush::retry_policy(&d);
    loop {
        match sqlx::query("SELECT 1").execute(&pool).await {
            Ok(_) => break,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, "MySQL is not answering yet; retrying");
                if common::retry::sleep(delay, &shutdown).await {
                    return Ok(());
                }
            }
        }
    }
    schema::check(&pool).await?;
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let ctx = flush::Ctx {
        redis: redis.clone(),
        pool: pool.clone(),
        cfg: d.clone(),
        stats: stats.clone(),
        dead: redis.keys.dead(&redis.keys.outbox(common::shards::Home::Global)),
        dead_list: common::queue::DeadList::new(&cfg.queue),
        max_attempts: cfg.queue.max_attempts,
    };
    let spec = Consumers {
        role: "dbsvr",
        queues: redis.keys.outboxes(),
        workers: d.workers,
        batch: d.batch_max,
        // The longest wait between two sweeps of the outbox lanes that find nothing.
        block: Duration::from_millis(250),
        handled: Some(Arc::new({
            let stats = stats.clone();
            move || stats.flushed()
        })),
        control: common::control::Handlers::new(),
        on_depth: Some(Arc::new(move |backlog, lag_ms| flush::report_lag(&stats, backlog, lag_ms))),
    };
    let handler = Arc::new(flush::Batches { ctx, shutdown: shutdown.clone() });
    let result = run_consumers(&cfg, &redis, spec, &shutdown, |consumer| {
        let (gather, backoff) = (flush::gather(&d), flush::retry_policy(&d));
        common::consumer::run_batches(consumer, handler.clone(), gather, backoff, shutdown.clone())
    })
    .await;
    redis.close().await;
    // sqlx's close waits for every connection to come back and close; one stuck on a MySQL that
    // went silent would hold the stop for ever.
    if tokio::time::timeout(POOL_CLOSE_WAIT, pool.close()).await.is_err() {
        tracing::warn!(
            wait_ms = POOL_CLOSE_WAIT.as_millis() as u64,
            "MySQL connections did not close in time; dropped"
        );
    }
    result
}

/// How long a stop waits for the MySQL pool to close.
const POOL_CLOSE_WAIT: Duration = Duration::from_secs(3);
