//! # matchday-logic
//!
//! Logic workers: consumers of `q:c2l:{group}` that decode each frame, dispatch it by msg id to a
//! handler, change state through Lua scripts, and push the reply to the connect node that holds the
//! client — acked and replied in one atomic step.
//!
//! - [`run`] / [`run_with`]: start the workers, the heartbeat and the reaper of a group; return on shutdown.
//! - `handlers/`: one file per message, and the dispatch table (`handlers::TABLE`).
//! - `worker`: the consumer loop (batching, panics, slow-handler warnings, metrics).
//! - `request`, `error`, `context`, `password`, `session`: what handlers work with.

mod context;
mod error;
mod handlers;
mod password;
mod request;
mod session;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::heartbeat::{Heartbeat, NodeInfo};
use common::queue::{Consumer, QueueKeys, Reaper};
use common::{Config, Redis, Shutdown};

pub use context::Ctx;
pub use error::AppError;
pub use handlers::{Dispatch, Handler, TABLE as HANDLERS};
pub use request::{Reply, Request};

/// Counters of a logic process, readable by tests and mirrored to Prometheus.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames handled (answered), by every worker of the process.
    pub frames_handled: AtomicU64,
}

impl Stats {
    pub fn handled(&self) -> u64 {
        self.frames_handled.load(Ordering::Relaxed)
    }
}

/// What an embedder (a test, a future plugin host) can hand to [`run_with`].
#[derive(Clone, Default)]
pub struct Extras {
    /// Counters to fill.
    pub stats: Arc<Stats>,
    /// The dispatch table (default: [`HANDLERS`]).
    pub dispatch: Dispatch,
}

/// Runs `cfg.logic.workers` consumers of group `cfg.node.group` as node `cfg.node.id` until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Extras::default()).await
}

/// [`run`] with counters and a dispatch table of the caller's. Each consumer finishes the batch it
/// holds before it stops.
pub async fn run_with(cfg: Config, shutdown: Shutdown, extras: Extras) -> anyhow::Result<()> {
    let (node, group) = (cfg.node.id.clone(), cfg.node.group);
    anyhow::ensure!(!node.is_empty(), "node.id must be set before starting logic");
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let q = cfg.queue.clone();
    let info = NodeInfo {
        role: "logic",
        id: node.clone(),
        group,
        extra: vec![("workers".into(), cfg.logic.workers.to_string())],
    };
    let heartbeat_every = Duration::from_millis(q.heartbeat_interval_ms);
    let heartbeat =
        Heartbeat::start(&redis, info, heartbeat_every, Duration::from_millis(q.heartbeat_ttl_ms), &shutdown).await;
    let queue = QueueKeys::new(&redis.keys, redis.keys.c2l(group));
    let ctx = Ctx::new(redis.clone(), &cfg, extras.stats, extras.dispatch)?;

    let mut workers = Vec::new();
    for k in 0..cfg.logic.workers {
        let worker = format!("{node}.{k}");
        let consumer = Consumer::start(
            &redis,
            queue.clone(),
            &worker,
            &heartbeat.key,
            cfg.logic.batch,
            Duration::from_millis(cfg.logic.block_timeout_ms),
            heartbeat_every,
        )
        .await?;
        let span = tracing::info_span!("worker", worker = %worker, group);
        workers.push(
            shutdown
                .tracker
                .spawn(tracing::Instrument::instrument(worker::run(ctx.clone(), consumer, shutdown.clone()), span)),
        );
    }
    let reaper = Reaper::new(&redis, queue.clone(), &node, q.max_attempts, Duration::from_millis(q.reap_interval_ms));
    shutdown.tracker.spawn(reaper.run(Duration::from_millis(q.reap_interval_ms), shutdown.clone()));
    tracing::info!(node = %node, group, workers = cfg.logic.workers, queue = %queue.queue, "logic running");

    shutdown.cancelled().await;
    for w in workers {
        let _ = w.await;
    }
    heartbeat.stopped().await;
    redis.close().await;
    tracing::info!(node = %node, "logic stopped");
    Ok(())
}
