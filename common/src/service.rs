//! The shape every queue-consuming service shares (logic, resultcenter, pushsvr, dbsvr): a
//! heartbeat `node:{role}:{id}`, K consumers of one queue each run by the service's worker loop, a
//! reaper for the queue, and an orderly stop: workers finish what they hold, then the heartbeat goes.

use std::future::Future;
use std::time::Duration;

use crate::heartbeat::{Heartbeat, NodeInfo};
use crate::queue::{Consumer, QueueKeys, Reaper};
use crate::{Config, Redis, Shutdown};

/// What a service consumes, and how.
#[derive(Clone, Debug)]
pub struct Consumers {
    /// The role in heartbeats and logs ("logic", "dbsvr", ...).
    pub role: &'static str,
    /// The queue key (from [`crate::Keys`]).
    pub queue: String,
    pub workers: usize,
    /// Frames a consumer takes at once.
    pub batch: usize,
    /// How long a consumer blocks waiting for frames before it looks for shutdown.
    pub block: Duration,
}

/// Runs `spec.workers` consumers, each handed to `work`, until shutdown; returns once every worker
/// has finished and the heartbeat is gone. The caller owns `redis` (and closes it afterwards).
pub async fn run_consumers<F, Fut>(
    cfg: &Config,
    redis: &Redis,
    spec: Consumers,
    shutdown: &Shutdown,
    work: F,
) -> anyhow::Result<()>
where
    F: Fn(Consumer) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let node = cfg.node.id.clone();
    anyhow::ensure!(!node.is_empty(), "node.id must be set before starting {}", spec.role);
    let q = &cfg.queue;
    let every = Duration::from_millis(q.heartbeat_interval_ms);
    let info = NodeInfo {
        role: spec.role,
        id: node.clone(),
        group: cfg.node.group,
        extra: vec![("workers".into(), spec.workers.to_string())],
    };
    let heartbeat = Heartbeat::start(redis, info, every, Duration::from_millis(q.heartbeat_ttl_ms), shutdown).await;
    let queue = QueueKeys::new(&redis.keys, spec.queue.clone());
    let mut workers = Vec::with_capacity(spec.workers);
    for k in 0..spec.workers {
        let worker = format!("{node}.{k}");
        let consumer =
            Consumer::start(redis, queue.clone(), &worker, &heartbeat.key, spec.batch, spec.block, every).await?;
        let span = tracing::info_span!("worker", worker = %worker);
        workers.push(shutdown.tracker.spawn(tracing::Instrument::instrument(work(consumer), span)));
    }
    shutdown.tracker.spawn(watch_depth(redis.clone(), queue.queue.clone(), shutdown.clone()));
    let reap_every = Duration::from_millis(q.reap_interval_ms);
    let reaper = Reaper::new(redis, queue.clone(), &node, q.max_attempts, reap_every);
    shutdown.tracker.spawn(reaper.run(reap_every, shutdown.clone()));
    tracing::info!(node = %node, workers = spec.workers, queue = %queue.queue, "{} running", spec.role);

    shutdown.cancelled().await;
    for w in workers {
        let _ = w.await;
    }
    heartbeat.stopped().await;
    tracing::info!(node = %node, "{} stopped", spec.role);
    Ok(())
}

/// Every second, sets `matchday_queue_depth{queue}` (frames waiting) and
/// `matchday_queue_oldest_age_seconds{queue}` (how long the oldest has waited).
async fn watch_depth(redis: Redis, queue: String, shutdown: Shutdown) {
    let label = queue.find("q:").map_or(queue.clone(), |i| queue[i..].to_owned());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        use fred::prelude::*;
        let depth: Result<i64, _> = redis.pool.llen(&queue).await;
        let oldest: Result<Option<bytes::Bytes>, _> = redis.pool.lindex(&queue, -1).await;
        let (Ok(depth), Ok(oldest)) = (depth, oldest) else { continue };
        let age_ms = oldest.and_then(|f| enqueued_at(&f)).map_or(0, |ts| crate::time::now_ms().saturating_sub(ts));
        metrics::gauge!("matchday_queue_depth", "queue" => label.clone()).set(depth as f64);
        metrics::gauge!("matchday_queue_oldest_age_seconds", "queue" => label.clone()).set(age_ms as f64 / 1000.0);
    }
}

/// When an element was queued: the `ts` of a record or event (`{ts, ...}`), or of the head of a
/// client frame (`[{..., ts}, body]`).
pub fn enqueued_at(element: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Ts {
        ts: Option<u64>,
    }
    if let Ok(Ts { ts: Some(ts) }) = rmp_serde::from_slice::<Ts>(element) {
        return Some(ts);
    }
    let (head, _): (Ts, serde::de::IgnoredAny) = rmp_serde::from_slice(element).ok()?;
    head.ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_times_are_read_from_records_and_frames() {
        let record = rmp_serde::to_vec_named(&serde_json::json!({"ts": 42, "table": "x"})).unwrap();
        assert_eq!(enqueued_at(&record), Some(42));
        let frame = rmp_serde::to_vec_named(&serde_json::json!([{"id": 1, "ts": 7}, {}])).unwrap();
        assert_eq!(enqueued_at(&frame), Some(7));
        assert_eq!(enqueued_at(b"junk"), None);
    }
}
