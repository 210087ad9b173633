//! The delayed-event poller: every `pushsvr.poll_interval_ms`, moves the events of `sched` that are
//! due to `q:notify` with `sched_due.lua`. The move is atomic, so with several pushsvr processes
//! polling, each due event is moved exactly once; an event becomes due at its score and is moved
//! within one poll interval after it.

use std::sync::Arc;
use std::time::Duration;

use common::scripts::ScriptName;
use common::{Redis, Shutdown};

use crate::Stats;

/// Events moved per script call (a call stays short however many are due).
const LIMIT: u64 = 500;

pub async fn run(redis: Redis, stats: Arc<Stats>, interval: Duration, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        match move_due(&redis).await {
            Ok(0) => {}
            Ok(n) => {
                Stats::add(&stats.sched_moved, n);
                metrics::counter!("matchday_push_sched_moved_total").increment(n);
                tracing::debug!(events = n, "moved due events to q:notify");
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "cannot move due events; retrying next poll"),
        }
    }
}

/// Moves every event due now; returns how many.
pub async fn move_due(redis: &Redis) -> anyhow::Result<u64> {
    let keys = vec![redis.keys.sched(), redis.keys.notify()];
    let mut total = 0;
    loop {
        let now = common::time::now_ms();
        let moved: u64 = redis.scripts.call(&redis.pool, ScriptName::SchedDue, keys.clone(), vec![now, LIMIT]).await?;
        total += moved;
        if moved < LIMIT {
            return Ok(total);
        }
    }
}
