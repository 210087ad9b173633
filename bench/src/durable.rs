//! `--verify`: after a run, what it left in Redis is checked against the durable record, as an
//! operator would after a busy evening: the run's change records are flushed by dbsvr into a scratch
//! MySQL database, `matchday verify` compares Redis with it, and `matchday restore` rebuilds the
//! state into a fresh prefix from it, which is verified too. The scratch database and the restored
//! keys are removed afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Config, Redis, Shutdown};
use serde::Serialize;
use sqlx::Connection;

/// What the check found.
#[derive(Debug, Clone, Serialize)]
pub struct DurableReport {
    /// Change records dbsvr wrote.
    pub records: u64,
    /// How long dbsvr took to write them.
    pub flush_secs: f64,
    /// Differences `verify` found between the run's Redis and MySQL (the first few in `examples`).
    pub verify_differences: usize,
    /// Differences between the state `restore` rebuilt from MySQL and MySQL.
    pub restored_differences: usize,
    pub examples: Vec<String>,
}

impl DurableReport {
    pub fn is_clean(&self) -> bool {
        self.verify_differences == 0 && self.restored_differences == 0
    }
}

impl std::fmt::Display for DurableReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "durable     {} records flushed by dbsvr in {:.2} s; verify: {} differences; restored and verified: {} differences",
            self.records, self.flush_secs, self.verify_differences, self.restored_differences
        )?;
        for e in &self.examples {
            write!(f, "\n              {e}")?;
        }
        Ok(())
    }
}

/// How long dbsvr may take to drain the run's outbox.
const DRAIN: Duration = Duration::from_secs(600);

/// Flushes the outbox of the run's prefix (`cfg.redis.prefix`) into a scratch database with an
/// in-process dbsvr, verifies, restores into a fresh prefix and verifies that.
/// It runs on a thread and runtime of its own, with its own Redis client: sqlx's migration,
/// verify and restore futures are not Send for every lifetime, so they cannot be awaited inside the
/// bets run's services closure, which is.
pub async fn check(cfg: &Config) -> anyhow::Result<DurableReport> {
    let cfg = cfg.clone();
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let redis = Redis::new(&cfg.redis)?;
            redis.ready().await?;
            let report = check_on(&cfg, &redis).await;
            redis.close().await;
            report
        })
    })
    .await?
}

async fn check_on(cfg: &Config, redis: &Redis) -> anyhow::Result<DurableReport> {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (_, server) = dbsvr::schema::split_url(&cfg.mysql.url)?;
    let name = format!("mdbench_{id}_v");
    let url = format!("{}/{name}", server.trim_end_matches('/'));
    let result = async {
        dbsvr::schema::migrate(&url).await?;
        let mut cfg = cfg.clone();
        cfg.mysql.url = url.clone();
        run(&cfg, redis).await
    }
    .await;
    if let Ok(mut c) = sqlx::MySqlConnection::connect(&server).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut c).await;
    }
    result
}

async fn run(cfg: &Config, redis: &Redis) -> anyhow::Result<DurableReport> {
    let shutdown = Shutdown::new();
    let stats = Arc::new(dbsvr::Stats::default());
    let service = tokio::spawn(dbsvr::run_with(cfg.clone(), shutdown.clone(), stats.clone()));
    let started = Instant::now();
    let drained = drained(redis, started).await;
    let flush_secs = started.elapsed().as_secs_f64();
    shutdown.shutdown(Duration::from_secs(10)).await;
    service.await??;
    drained?;

    let pool = common::mysql::pool(&cfg.mysql.url, 2)?;
    let result = async {
        let options = || dbsvr::verify::Options { sample: None, seed: None };
        let verified = dbsvr::verify::run(redis, &pool, options()).await?;
        let mut restored_cfg = cfg.redis.clone();
        restored_cfg.prefix = crate::fresh_prefix();
        let restored = Redis::new(&restored_cfg)?;
        restored.ready().await?;
        let again = async {
            dbsvr::restore::run(&restored, &pool).await?;
            dbsvr::verify::run(&restored, &pool, options()).await
        }
        .await;
        crate::cleanup(&restored).await;
        restored.close().await;
        let again = again?;
        let examples = verified.lines().into_iter().chain(again.lines()).take(5).collect();
        Ok(DurableReport {
            records: stats.flushed(),
            flush_secs,
            verify_differences: verified.differences.len(),
            restored_differences: again.differences.len(),
            examples,
        })
    }
    .await;
    pool.close().await;
    result
}

/// Waits until the outbox and dbsvr's inflight lists are empty.
async fn drained(redis: &Redis, started: Instant) -> anyhow::Result<()> {
    let lanes = redis.keys.outboxes();
    loop {
        let p = common::service::pending(redis, &lanes).await?;
        if p.waiting == 0 && p.inflight == 0 && p.consumers > 0 {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < DRAIN, "dbsvr did not drain the outbox in {DRAIN:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
