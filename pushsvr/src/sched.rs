//! The delayed-event poller: every `pushsvr.poll_interval_ms`, moves the events of `sched` that are
//! due to `q:notify:{…}` with `sched_due.lua`. The move is atomic, so with several pushsvr processes
//! polling, each due event is moved exactly once; an event becomes due at its score and is moved
//! within one poll interval after it.

use std::sync::Arc;
use std::time::Duration;

use common::retry::Every;
use common::store::sched_due;
use common::{Redis, Shutdown};

use crate::Stats;

/// Events moved per script call (a call stays short however many are due).
const LIMIT: u64 = 500;

pub async fn run(redis: Redis, stats: Arc<Stats>, interval: Duration, shutdown: Shutdown) {
    let mut every = Every::new(interval);
    while every.tick(&shutdown).await {
        match move_due(&redis).await {
            Ok(0) => {}
            Ok(n) => {
                Stats::add(&stats.sched_moved, n);
                metrics::counter!("matchday_push_sched_moved_total").increment(n);
                tracing::debug!(events = n, "moved due events to q:{{notify}}");
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "cannot move due events; retrying next poll"),
        }
    }
}

/// Moves every event due now; returns how many.
pub async fn move_due(redis: &Redis) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let args = sched_due::Args { now_ms: common::time::now_ms(), limit: LIMIT };
        let sched_due::Outcome::Moved { moved } = sched_due::call(redis, &args).await?;
        total += moved;
        if moved < LIMIT {
            return Ok(total);
        }
    }
}
