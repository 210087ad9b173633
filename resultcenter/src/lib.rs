//! # matchday-resultcenter
//!
//! Settles matches. Consumes `q:settle:{g}` through the reliable queue; a job settles (or refunds) every
//! open bet of one match in batches through `settle_batch.lua`, and the batch that settles the last
//! bet finishes the match. Because each bet leaves the match's open list in the same atomic step that
//! pays it, a job run twice, a batch replayed after a crash, or two resultcenters on one match pay
//! nothing twice.
//!
//! - [`run`] / [`run_with`]: workers, heartbeat and reaper; returns on shutdown.
//! - `settle`: one job (split of big matches, the batch loop, progress).
//! - `worker`: the job handler the consumer runtime runs.

mod settle;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::consumer::{Options, Shape};
use common::service::{Consumers, run_consumers};
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
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let ctx = settle::Ctx { redis: redis.clone(), cfg: cfg.resultcenter.clone(), stats: stats.clone() };
    // One job at a time per consumer: a job is a whole match.
    let spec = Consumers {
        role: "resultcenter",
        queues: vec![redis.keys.settle()],
        workers: cfg.resultcenter.workers,
        batch: 1,
        block: Duration::from_secs(1),
        handled: Some(Arc::new(move || stats.handled())),
        control: common::control::Handlers::new(),
        on_depth: None,
    };
    let handler = Arc::new(worker::Jobs { ctx, shutdown: shutdown.clone() });
    let result = run_consumers(&cfg, &redis, spec, &shutdown, |consumer| {
        common::consumer::run(consumer, handler.clone(), Options::new(Shape::InOrder), shutdown.clone())
    })
    .await;
    redis.close().await;
    result
}
