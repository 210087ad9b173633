//! # matchday-logic
//!
//! Logic workers: consumers of `q:c2l:{group}` that decode each frame, dispatch it by msg id to a
//! handler, change state through Lua scripts, and push the reply to the connect node that holds the
//! client — acked and replied in one atomic step.
//!
//! - [`run`] / [`run_with`]: start the workers, the heartbeat and the reaper of a group; return on shutdown.
//! - `handlers/`: one file per message, and the dispatch table (`handlers::TABLE`).
//! - `worker`: the frame handler the consumer runtime runs (panics, slow-handler warnings, metrics).
//! - `request`, `error`, `context`, `password`, `session`: what handlers work with.
//! - `lua/`: handler modules written in Lua, loaded from `logic.lua_dir` (docs/lua.md).
//! - `control`: the control commands logic handles besides `drain` (`reload`).

mod avatars;
mod context;
mod control;
mod error;
mod handlers;
pub mod lua;
mod password;
mod request;
mod session;
mod throttle;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::consumer::{Options, Shape};
use common::service::{Consumers, run_consumers};
use common::{Config, Redis, Shutdown};

pub use context::{BET_ID_BLOCK, Ctx};
pub use error::AppError;
pub use handlers::{Dispatch, Handler, TABLE as HANDLERS};
pub use request::{Reply, Request};

/// Counters of a logic process, readable by tests and mirrored to Prometheus.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames handled (answered), by every worker of the process.
    pub frames_handled: AtomicU64,
    /// Password hashes computed (registrations, logins, the decoy).
    pub password_hashes: AtomicU64,
    /// The most registrations and logins that held a place in the hashing queue at once (running or
    /// waiting); never more than `logic.max_concurrent_hashes + max_queued_hashes`.
    pub password_queue_peak: AtomicU64,
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
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let stats = extras.stats.clone();
    let ctx = Ctx::new(redis.clone(), &cfg, extras.stats, extras.dispatch)?;
    match ctx.lua.reload(&redis, &ctx.dispatch).await {
        Ok(summary) if ctx.lua.limits().dir.is_some() => tracing::info!("Lua handlers loaded: {summary}"),
        Ok(_) => {}
        Err(e) => anyhow::bail!("cannot load the Lua handlers of logic.lua_dir: {e}"),
    }
    let spec = Consumers {
        role: "logic",
        queues: vec![redis.keys.c2l(cfg.node.group)],
        workers: cfg.logic.workers,
        batch: cfg.logic.batch,
        block: Duration::from_millis(cfg.logic.block_timeout_ms),
        handled: Some(Arc::new(move || stats.handled())),
        // Control commands besides `drain` (which every service handles): `reload`.
        control: control::handlers(ctx.clone()),
        on_depth: None,
    };
    let handler = Arc::new(worker::Frames(ctx.clone()));
    let options =
        || Options { reply_ttl: Some(ctx.reply_ttl), ..Options::new(Shape::Concurrent { in_hand: ctx.cfg.batch }) };
    let result = run_consumers(&cfg, &redis, spec, &shutdown, |consumer| {
        common::consumer::run(consumer, handler.clone(), options(), shutdown.clone())
    })
    .await;
    redis.close().await;
    result
}
