//! The one retry policy: jittered exponential backoff, for every loop that retries Redis or MySQL;
//! and [`Every`], the clock of loops that simply try again at their next round.
//!
//! A [`Backoff`] waits between half of and the whole of a delay that doubles from its `min` up to
//! its `max` ("equal jitter"): it never waits longer than `max`, and processes that lost Redis at
//! the same moment do not all come back at the same moment. The delays come from `backon`'s
//! exponential backoff (with its jitter, which adds up to the delay again, over half the range).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::Shutdown;

/// Delays between retries of one loop; [`Backoff::reset`] after a success.
#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
}

impl Backoff {
    /// Delays doubling from `min` to `max` (`max` is raised to `min` if below it), each jittered
    /// down by up to a half.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let max = max.max(min);
        let builder = ExponentialBuilder::new()
            .with_min_delay(min / 2)
            .with_max_delay(max / 2)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Backoff { builder, delays: builder.build() }
    }

    /// The policy for Redis errors in consumers and readers: 100 ms doubling to 2 s.
    pub fn redis() -> Backoff {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
    }

    /// The next delay (and moves on to a longer one).
    pub fn next_delay(&mut self) -> Duration {
        // Without a max number of times the iterator never ends; the fallback is for form.
        self.delays.next().unwrap_or(self.builder.build().next().unwrap_or_default())
    }

    /// Starts again from the shortest delay (after a success).
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }

    /// Sleeps for the next delay unless shutdown comes first; true if it did.
    pub async fn pause(&mut self, shutdown: &Shutdown) -> bool {
        sleep(self.next_delay(), shutdown).await
    }
}

/// Sleeps for `delay` unless shutdown comes first; true if it did.
pub async fn sleep(delay: Duration, shutdown: &Shutdown) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(delay) => false,
    }
}

/// The clock of a periodic loop (the reaper, a poller): ticks every `interval`, the first at once;
/// a pass that overruns delays the next tick rather than bunching ticks up. A failed pass is simply
/// tried again at the next tick.
#[derive(Debug)]
pub struct Every {
    tick: tokio::time::Interval,
}

impl Every {
    pub fn new(interval: Duration) -> Every {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Every { tick }
    }

    /// Waits for the next tick; false once shutdown has come.
    pub async fn tick(&mut self, shutdown: &Shutdown) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = self.tick.tick() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_min_to_max_jittered_down_by_up_to_half() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut b = Backoff::new(min, max);
        let mut base = min;
        for _ in 0..12 {
            let d = b.next_delay();
            assert!(d >= base / 2 && d <= base, "{d:?} not within [{:?}, {base:?}]", base / 2);
            base = (base * 2).min(max);
        }
        b.reset();
        let d = b.next_delay();
        assert!(d >= min / 2 && d <= min, "after a reset: {d:?}");
    }

    #[test]
    fn delays_are_jittered() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: std::collections::HashSet<Duration> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.len() > 1, "twenty equal delays: {delays:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_ends_early_on_shutdown() {
        let shutdown = Shutdown::new();
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        assert!(!b.pause(&shutdown).await, "no shutdown: the whole delay");
        assert!(started.elapsed() >= Duration::from_secs(30));
        shutdown.token.cancel();
        assert!(b.pause(&shutdown).await, "shutdown: at once");
    }
}
