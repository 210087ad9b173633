//! # matchday-resultcenter
//!
//! Settles matches. Consumes `q:settle` through the reliable queue; a job settles (or refunds) every
//! open bet of one match in batches through `settle_batch.lua`, and the batch that settles the last
//! bet finishes the match. Because each bet leaves the match's open list in the same atomic step that
//! pays it, a job run twice, a batch replayed after a crash, or two resultcenters on one match pay
//! nothing twice.
//!
//! - [`run`] / [`run_with`]: workers, heartbeat and reaper; returns on shutdown.
//! - `settle`: one job (split of big matches, the batch loop, progress).
//! - `worker`: the consumer loop.

mod settle;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::heartbeat::{Heartbeat, NodeInfo};
use common::queue::{Consumer, QueueKeys, Reaper};
use common::{Config, Redis, Shutdown};

/// Counters of a resultcenter process, readable by tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Jobs finished (acked).
    pub handled: AtomicU64,
    /// Bets settled or refunded by this process.
    pub bets: AtomicU64,
}

impl Stats {
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    pub fn bets(&self) -> u64 {
        self.bets.load(Ordering::Relaxed)
    }
}

/// Runs resultcenter until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`. Each consumer finishes its current batch before it stops; a job
/// interrupted between batches is returned to the queue and resumed where it stopped.
pub async fn run_with(cfg: Config, shutdown: Shutdown, stats: Arc<Stats>) -> anyhow::Result<()> {
    let node = cfg.node.id.clone();
    anyhow::ensure!(!node.is_empty(), "node.id must be set before starting resultcenter");
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let q = cfg.queue.clone();
    let rc = cfg.resultcenter.clone();
    let info = NodeInfo {
        role: "resultcenter",
        id: node.clone(),
        group: cfg.node.group,
        extra: vec![("workers".into(), rc.workers.to_string())],
    };
    let every = Duration::from_millis(q.heartbeat_interval_ms);
    let heartbeat = Heartbeat::start(&redis, info, every, Duration::from_millis(q.heartbeat_ttl_ms), &shutdown).await;
    let queue = QueueKeys::new(&redis.keys, redis.keys.settle());
    let mut workers = Vec::new();
    for k in 0..rc.workers {
        let worker = format!("{node}.{k}");
        // One job at a time per consumer: a job is a whole match.
        let consumer =
            Consumer::start(&redis, queue.clone(), &worker, &heartbeat.key, 1, Duration::from_secs(1), every).await?;
        let ctx = settle::Ctx { redis: redis.clone(), cfg: rc.clone(), stats: stats.clone() };
        let span = tracing::info_span!("worker", worker = %worker);
        workers.push(
            shutdown.tracker.spawn(tracing::Instrument::instrument(worker::run(ctx, consumer, shutdown.clone()), span)),
        );
    }
    let reaper = Reaper::new(&redis, queue.clone(), &node, q.max_attempts, Duration::from_millis(q.reap_interval_ms));
    shutdown.tracker.spawn(reaper.run(Duration::from_millis(q.reap_interval_ms), shutdown.clone()));
    tracing::info!(node = %node, workers = rc.workers, batch = rc.batch, "resultcenter running");
    shutdown.cancelled().await;
    for w in workers {
        let _ = w.await;
    }
    heartbeat.stopped().await;
    redis.close().await;
    tracing::info!(node = %node, "resultcenter stopped");
    Ok(())
}
