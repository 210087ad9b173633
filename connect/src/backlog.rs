//! The cap on the group queue `q:c2l:{group}` (`connect.max_queue_depth`), shared by every
//! connection of the node, at no Redis command of its own: the LPUSH that queues a frame (together
//! with the other frames waiting, `pusher.rs`) answers the list's length, and when that reaches the
//! cap the node marks the queue full. While it is marked, frames are answered
//! with code 6 without a command; at most every [`RECHECK`] one of them reads the length (LLEN) and
//! clears the mark once the queue is below the cap.
//!
//! Only that read clears the mark, never an LPUSH's answer: the answers of pushes from several
//! connections arrive in any order, and a push sent before the mark, answered after it with the
//! shorter length it saw, would otherwise clear a mark that a later push had set.
//!
//! The queue can pass the cap only by the frames already on their way when the mark is set: each
//! connection has at most one frame in flight (it reads its next frame only once the push that
//! carried this one has answered), so by at most the node's connections (times the group's nodes).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often, at most, a full queue's length is read again.
pub const RECHECK: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Backlog {
    /// 0: no cap.
    cap: u64,
    full: AtomicBool,
    /// When the length was last seen at the cap, in ms since `epoch`.
    checked_ms: AtomicU64,
    epoch: Instant,
}

/// What to do with a frame, as far as the queue's length goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Push it.
    Push,
    /// The queue is full: answer 6.
    Full,
    /// The queue was full a while ago: read its length ([`Backlog::checked`]) before pushing.
    Recheck,
}

impl Backlog {
    pub fn new(cap: u64) -> Backlog {
        Backlog { cap, full: AtomicBool::new(false), checked_ms: AtomicU64::new(0), epoch: Instant::now() }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether a frame may be pushed now. Of the frames that come while the queue is marked full,
    /// one per [`RECHECK`] gets `Recheck`; the others `Full`.
    pub fn admit(&self) -> Admit {
        if !self.full.load(Ordering::Relaxed) {
            return Admit::Push;
        }
        let (now, last) = (self.now_ms(), self.checked_ms.load(Ordering::Relaxed));
        let due = now.saturating_sub(last) >= RECHECK.as_millis() as u64;
        if due && self.checked_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            Admit::Recheck
        } else {
            Admit::Full
        }
    }

    /// Records the queue's length as the LPUSH that carried a frame answered it: at the cap, the queue is marked full. A
    /// shorter length leaves a mark as it is (it may be older than the push that set it).
    pub fn pushed(&self, len: u64) {
        if self.cap != 0 && len >= self.cap {
            self.mark_full(len);
        }
    }

    /// Records the queue's length as a recheck (LLEN) read it; true if it is below the cap (the
    /// mark is cleared), false if it is at the cap (the queue stays marked full).
    pub fn checked(&self, len: u64) -> bool {
        if self.cap == 0 || len < self.cap {
            if self.full.swap(false, Ordering::Relaxed) {
                tracing::info!(queue.depth = len, "the group queue is below connect.max_queue_depth again");
                metrics::gauge!("matchday_connect_queue_full").set(0.0);
            }
            return true;
        }
        self.mark_full(len);
        false
    }

    fn mark_full(&self, len: u64) {
        self.checked_ms.store(self.now_ms(), Ordering::Relaxed);
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(queue.depth = len, "the group queue is full (connect.max_queue_depth); answering code 6");
            metrics::gauge!("matchday_connect_queue_full").set(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_at_the_cap_then_one_recheck_per_interval_until_below() {
        let mut b = Backlog::new(3);
        // Started a while ago, so that "the last check was at 0" is longer ago than RECHECK.
        b.epoch = Instant::now().checked_sub(Duration::from_secs(10)).expect("a clock past 10 s");
        assert_eq!(b.admit(), Admit::Push);
        b.pushed(2);
        assert_eq!(b.admit(), Admit::Push);
        b.pushed(3);
        assert_eq!(b.admit(), Admit::Full, "at the cap: marked full, no recheck right after the mark");
        b.pushed(2);
        assert_eq!(b.admit(), Admit::Full, "a push answered late with a shorter length leaves the mark");
        // Pretend the mark is older than RECHECK: one frame rechecks, the others are refused.
        b.checked_ms.store(0, Ordering::Relaxed);
        assert_eq!(b.admit(), Admit::Recheck);
        assert_eq!(b.admit(), Admit::Full, "one recheck per interval");
        assert!(!b.checked(5), "still full");
        b.checked_ms.store(0, Ordering::Relaxed);
        assert_eq!(b.admit(), Admit::Recheck);
        assert!(b.checked(2), "below the cap: the mark is cleared");
        assert_eq!(b.admit(), Admit::Push);
    }

    #[test]
    fn no_cap_never_fills() {
        let b = Backlog::new(0);
        b.pushed(u64::MAX);
        assert!(b.checked(u64::MAX));
        assert_eq!(b.admit(), Admit::Push);
    }
}
