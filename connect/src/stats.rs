//! Counters of a connect node, readable by tests and mirrored to Prometheus.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Stats {
    /// Replies and pushes for connections that had gone.
    pub replies_dropped: AtomicU64,
    /// Frames pushed to the group queue.
    pub frames_forwarded: AtomicU64,
    /// LPUSH commands that carried them (the pusher gathers the frames that wait into one).
    pub queue_pushes: AtomicU64,
    /// Frames answered by connect itself (codes 2, 4, 5, 6).
    pub frames_refused: AtomicU64,
    /// Open connections.
    pub connections: AtomicU64,
    /// Replies and pushes handed to connections' writers.
    pub frames_out: AtomicU64,
    /// Connections closed (1008) because their outbound queue was full: clients that do not read.
    pub slow_consumers: AtomicU64,
    /// Connections refused because the node held `connect.max_connections` (HTTP 503).
    pub refused_limit: AtomicU64,
    /// Connections refused because their address group held `connect.max_connections_per_addr`.
    pub refused_per_addr: AtomicU64,
    /// Connections closed (1008 "login timeout") for not logging in within `connect.login_timeout_ms`.
    pub login_timeouts: AtomicU64,
    /// Frames answered with code 6 because the group queue held `connect.max_queue_depth`.
    pub queue_full: AtomicU64,
}

impl Stats {
    pub fn dropped(&self) {
        self.replies_dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_replies_dropped_total").increment(1);
    }

    pub fn forwarded(&self) {
        self.frames_forwarded.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_frames_forwarded_total").increment(1);
    }

    pub fn queue_pushed(&self) {
        self.queue_pushes.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_queue_pushes_total").increment(1);
    }

    pub fn refused(&self, code: u16) {
        self.frames_refused.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_frames_refused_total", "code" => code.to_string()).increment(1);
    }

    pub fn sent(&self, frames: u64) {
        self.frames_out.fetch_add(frames, Ordering::Relaxed);
        metrics::counter!("matchday_connect_frames_out_total").increment(frames);
    }

    pub fn opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("matchday_connect_connections").increment(1.0);
    }

    pub fn closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("matchday_connect_connections").decrement(1.0);
    }

    pub fn slow_consumer(&self) {
        self.slow_consumers.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_slow_consumers_total").increment(1);
    }

    pub fn refused_at_limit(&self) {
        self.refused_limit.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_refused_total", "reason" => "limit").increment(1);
    }

    pub fn refused_per_addr(&self) {
        self.refused_per_addr.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_refused_total", "reason" => "per_addr").increment(1);
    }

    pub fn login_timeout(&self) {
        self.login_timeouts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_login_timeouts_total").increment(1);
    }

    /// A frame refused (code 6) because the group queue is full; counted in `refused` too.
    pub fn queue_full(&self) {
        self.queue_full.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("matchday_connect_frames_shed_total", "reason" => "queue_full").increment(1);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
