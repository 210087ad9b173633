//! # matchday-pushsvr
//!
//! Turns events into pushes (DESIGN.md §7 Notifications). Workers consume `q:notify:{…}` through the
//! reliable queue; each event becomes client frames `[{id, seq: 0, code: 0}, body]`:
//!
//! | event | push | to |
//! |---|---|---|
//! | `bet_settled` | 901, and 904 when coins moved | the bettor: online, or kept in the inbox |
//! | `balance` | 904 | the user: online, or kept in the inbox |
//! | `match_state` | 902; for `open`, `start` and `result` of a match also 906 | the match's bettors who are online (nothing is kept); 906 to its subscribers (305): online, or their closed app through the push gateway (`offline`), once each |
//! | `notice` | 903 with `notice_id` | its audience online: every connection, the user's, or the match's bettors' (unless withdrawn; the board keeps it for the others) |
//! | `announcement` | 903 | every connection of every live connect node (events from before notices) |
//! | `reminder` | 903 with `match_id` | the match's bettors: online, or kept in the inbox |
//! | `auto_start` | — | applies the `start` transition at the match's start time |
//!
//! A user's pushes go to every connection of theirs on a live connect node (`online:{uid}` →
//! `q:push:{node}`); when there is none they are kept in `inbox:{uid}` (capped), which connect hands
//! over right after the next login or resume reply. The choice is atomic (`push_user.lua`).
//! A sched poller moves due delayed events from `sched` to `q:notify:{…}` (`sched_due.lua`).
//!
//! - [`run`] / [`run_with`]: start the workers, the reaper, the sched poller and the heartbeat;
//!   return on shutdown.
//! - `worker`: the event handler the consumer runtime runs (decode, span per event, dead list,
//!   retries).
//! - `handlers/`: one file per event kind.
//! - `deliver`: frames to a user, to a match's bettors, to every node.
//! - `sched`: the delayed-event poller.

mod deliver;
mod handlers;
mod offline;
mod sched;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::consumer::{Options, Shape};
use common::service::{Consumers, run_consumers};
use common::{Config, Redis, Shutdown};
use protocol::MsgId;
use protocol::msg::{
    PUSH_ANNOUNCEMENT, PUSH_BALANCE, PUSH_BET_SETTLED, PUSH_MATCH_EVENT, PUSH_MATCH_STATE, PUSH_MATCH_UPDATED,
};

/// The pushes this service sends (docs/protocol.md marks exactly these push ids live).
pub const PUSHES: &[MsgId] =
    &[PUSH_BET_SETTLED, PUSH_MATCH_STATE, PUSH_ANNOUNCEMENT, PUSH_BALANCE, PUSH_MATCH_UPDATED, PUSH_MATCH_EVENT];

/// Events a worker takes from the queue at once; it finishes them before it checks for shutdown.
const BATCH: usize = 16;
/// The longest wait between two sweeps of the event lanes that find nothing: the most an event
/// after a quiet spell waits before a worker sees it (`Consumer::start_lanes`).
const IDLE_SWEEP_MAX: Duration = Duration::from_millis(50);

/// Counters of a pushsvr process, readable by tests and mirrored to Prometheus.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events handled and acked.
    pub handled: AtomicU64,
    /// Announcements (903) broadcast, one per event.
    pub broadcasts: AtomicU64,
    /// Elements pushed to connect nodes' lists (one per connection and frame, one per node for a broadcast).
    pub pushed: AtomicU64,
    /// Frames kept in an inbox for a user with no live connection.
    pub inboxed: AtomicU64,
    /// Online entries removed because their connect node had died.
    pub stale_removed: AtomicU64,
    /// Events moved to the dead list (undecodable, or failing every attempt).
    pub dead: AtomicU64,
    /// Delayed events moved from `sched` to `q:notify:{…}` by this process.
    pub sched_moved: AtomicU64,
}

impl Stats {
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What every worker shares.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub redis: Redis,
    pub cfg: common::config::PushsvrConfig,
    pub stats: Arc<Stats>,
    /// TTL of a node's push list after a push, ms.
    pub push_ttl_ms: u64,
    pub max_attempts: u32,
    /// The push gateway for closed apps.
    pub offline: offline::Sender,
}

/// Runs pushsvr as node `cfg.node.id` until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`. Each worker finishes the events it holds before it stops.
pub async fn run_with(cfg: Config, shutdown: Shutdown, stats: Arc<Stats>) -> anyhow::Result<()> {
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let q = &cfg.queue;
    let ctx = Ctx {
        redis: redis.clone(),
        cfg: cfg.pushsvr.clone(),
        stats: stats.clone(),
        push_ttl_ms: q.node_list_ttl_ms(),
        max_attempts: q.max_attempts,
        offline: offline::Sender::from_config(&cfg.pushsvr)?,
    };
    let counted = stats.clone();
    let poll = Duration::from_millis(cfg.pushsvr.poll_interval_ms);
    let sched = shutdown.tracker.spawn(sched::run(redis.clone(), stats, poll, shutdown.clone()));
    let spec = Consumers {
        role: "pushsvr",
        queues: redis.keys.notifies(),
        workers: cfg.pushsvr.workers,
        batch: BATCH,
        block: IDLE_SWEEP_MAX,
        handled: Some(Arc::new(move || counted.handled())),
        control: common::control::Handlers::new(),
        on_depth: None,
    };
    let result = run_consumers(&cfg, &redis, spec, &shutdown, |consumer| {
        let handler = Arc::new(worker::Events::new(ctx.clone()));
        common::consumer::run(consumer, handler, Options::new(Shape::InOrder), shutdown.clone())
    })
    .await;
    if result.is_ok() {
        let _ = sched.await;
    } else {
        sched.abort(); // it would wait for a shutdown that is not coming
    }
    redis.close().await;
    result
}
