//! The shape every queue-consuming service shares (logic, resultcenter, pushsvr, dbsvr): a
//! heartbeat `node:{role}:{id}`, K consumers of one queue, each run by the consumer runtime
//! ([`crate::consumer`]) with the service's handler, a reaper for the queue, control commands
//! (`drain`, and the service's own [`Consumers::control`]), and an orderly stop: workers finish what
//! they hold, then the heartbeat goes.
//!
//! The heartbeat carries the live load ([`load_fields`]): frames handled, frames per second over the
//! last beat, and frames inflight (taken, not yet acked).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fred::prelude::*;

use crate::control::{self, Handlers};
use crate::heartbeat::{Heartbeat, LiveFields, NodeInfo};
use crate::queue::{Consumer, QueueKeys, Reaper};
use crate::{Config, Redis, Shutdown};

/// A running total read at every heartbeat (e.g. a service's frames handled).
pub type Counter = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Told each second what the queue's depth watcher read: frames waiting in all its lanes, and the
/// age of the oldest, ms (dbsvr's backlog and lag gauges).
pub type DepthObserver = Arc<dyn Fn(i64, u64) + Send + Sync>;

/// What a service consumes, and how.
#[derive(Clone)]
pub struct Consumers {
    /// The role in heartbeats and logs ("logic", "dbsvr", ...).
    pub role: &'static str,
    /// The queue key (from [`crate::Keys`]), or every lane of a sharded queue
    /// ([`crate::Keys::outboxes`]): worker k of W then serves lanes k, k + W, k + 2W, … (so W is
    /// at most the number of lanes), and each process serves them all.
    pub queues: Vec<String>,
    pub workers: usize,
    /// Frames a consumer takes at once.
    pub batch: usize,
    /// How long a consumer blocks waiting for frames before it looks for shutdown.
    pub block: Duration,
    /// Frames (jobs, events, records) handled so far by this process, for the heartbeat's
    /// `handled` and `frames_per_s`; none: the heartbeat shows only `inflight`.
    pub handled: Option<Counter>,
    /// Control commands this service handles besides `drain` (see [`control::serve`]).
    pub control: Handlers,
    /// Told the queue's depth each second, besides the queue metrics.
    pub on_depth: Option<DepthObserver>,
}

/// Runs `spec.workers` consumers, each handed to `work` (which runs it with [`crate::consumer::run`]
/// or [`crate::consumer::run_batches`]), until shutdown; returns once every worker has finished and
/// the heartbeat is gone. The caller owns `redis` (and closes it afterwards).
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
    anyhow::ensure!(!spec.queues.is_empty(), "{} has no queue to consume", spec.role);
    let lanes: Vec<QueueKeys> = spec.queues.iter().map(|queue| QueueKeys::new(&redis.keys, queue.clone(), q)).collect();
    let family = family_label(&spec.queues);
    let workers = if lanes.len() > 1 { spec.workers.clamp(1, lanes.len()) } else { spec.workers };
    // Worker k's lanes: every lane for a one-queue service, else lanes k, k + W, ...
    let assigned: Vec<(String, Vec<QueueKeys>)> = (0..workers)
        .map(|k| {
            let mine =
                if lanes.len() == 1 { lanes.clone() } else { lanes.iter().skip(k).step_by(workers).cloned().collect() };
            (format!("{node}.{k}"), mine)
        })
        .collect();
    let inflight =
        assigned.iter().flat_map(|(w, mine)| mine.iter().map(|lane| redis.keys.inflight(&lane.queue, w))).collect();
    let info = NodeInfo {
        role: spec.role,
        id: node.clone(),
        group: cfg.node.group,
        extra: vec![("workers".into(), workers.to_string()), ("queue".into(), family.clone())],
        live: Some(load_fields(redis.clone(), spec.handled.clone(), inflight)),
    };
    let ttl = Duration::from_millis(q.heartbeat_ttl_ms);
    let heartbeat = Heartbeat::start(redis, info, every, ttl, shutdown).await;
    control::serve(redis, spec.role, &node, shutdown, spec.control.clone()).await?;
    let mut running = Vec::with_capacity(workers);
    for (worker, mine) in assigned {
        let consumer =
            Consumer::start_lanes(redis, mine, &worker, &heartbeat.key, spec.batch, spec.block, every).await?;
        let span = tracing::info_span!("worker", node = %node, worker = %worker);
        running.push(shutdown.tracker.spawn(tracing::Instrument::instrument(work(consumer), span)));
    }
    let watch =
        watch_depth(redis.clone(), spec.queues.clone(), family.clone(), spec.on_depth.clone(), shutdown.clone());
    shutdown.tracker.spawn(watch);
    // A consumer of lanes has no blocking connection: the reaper knows it dead only by its
    // heartbeat, so looking at every lane more often than half the heartbeat TTL gains nothing.
    let reap_every = match lanes.len() {
        1 => Duration::from_millis(q.reap_interval_ms),
        _ => Duration::from_millis(q.reap_interval_ms.max(q.heartbeat_ttl_ms / 2)),
    };
    // After a Redis restart, live processes have their heartbeats back within one reconnect delay and
    // one beat: until then nobody is taken for dead.
    let grace = ttl + Duration::from_millis(cfg.redis.reconnect_max_ms.into());
    let reaper = Reaper::lanes(redis, lanes, &node, q.max_attempts, reap_every, grace);
    shutdown.tracker.spawn(reaper.run(reap_every, shutdown.clone()));
    tracing::info!(node = %node, workers, queue = %family, lanes = spec.queues.len(), "{} running", spec.role);

    shutdown.cancelled().await;
    for w in running {
        let _ = w.await;
    }
    heartbeat.stopped().await;
    tracing::info!(node = %node, "{} stopped", spec.role);
    Ok(())
}

/// The heartbeat's live load of a consumer service: `handled` (the counter's total, when there is
/// one), `frames_per_s` (its rise since the previous beat, per second) and `inflight` (frames in the
/// `inflight` lists: taken and not yet acked — read from Redis, one LLEN per worker).
pub fn load_fields(redis: Redis, handled: Option<Counter>, inflight: Vec<String>) -> LiveFields {
    let last = Arc::new(Mutex::new(None::<(Instant, u64)>));
    Arc::new(move || {
        let (redis, handled, inflight, last) = (redis.clone(), handled.clone(), inflight.clone(), last.clone());
        Box::pin(async move {
            let mut fields = Vec::with_capacity(3);
            if let Some(handled) = handled {
                let (now, total) = (Instant::now(), handled());
                let previous = last.lock().expect("load sample").replace((now, total));
                let per_s = match previous {
                    Some((at, before)) if now > at => {
                        total.saturating_sub(before) as f64 / now.duration_since(at).as_secs_f64()
                    }
                    _ => 0.0,
                };
                fields.push(("handled".to_owned(), total.to_string()));
                fields.push(("frames_per_s".to_owned(), format!("{per_s:.1}")));
            }
            let mut held = 0;
            let lengths =
                futures_util::future::join_all(inflight.iter().map(|key| redis.pool.llen::<i64, _>(key))).await;
            for n in lengths {
                held += n.unwrap_or(0);
            }
            fields.push(("inflight".to_owned(), held.to_string()));
            fields
        })
    })
}

/// A queue's name without the deployment prefix (`q:c2l:{1}`), as metrics and heartbeats show it.
pub fn label(queue: &str) -> String {
    queue.find("q:").map_or(queue.to_owned(), |i| queue[i..].to_owned())
}

/// The label of a queue, or of a sharded queue's lanes together (`q:outbox` for `q:outbox:{s0}`, …).
fn family_label(queues: &[String]) -> String {
    let first = label(&queues[0]);
    match (queues.len() > 1, first.rfind(":{")) {
        (true, Some(i)) => first[..i].to_owned(),
        _ => first,
    }
}

/// How many elements wait in `queue` and how long the oldest has waited, ms (0 when empty, or
/// when the oldest carries no time).
pub async fn depth_and_age(redis: &Redis, queue: &str) -> Result<(i64, u64), fred::error::Error> {
    let depth: i64 = redis.pool.llen(queue).await?;
    if depth == 0 {
        return Ok((0, 0)); // most lanes of a sharded queue, most of the time: one command
    }
    let oldest: Option<bytes::Bytes> = redis.pool.lindex(queue, -1).await?;
    let age_ms = oldest.and_then(|f| enqueued_at(&f)).map_or(0, |ts| crate::time::now_ms().saturating_sub(ts));
    Ok((depth, age_ms))
}

/// What a queue (all its `lanes`) holds: frames waiting, frames inflight (taken by a registered
/// consumer, not yet acked), the consumers registered, and frames on its dead lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub waiting: u64,
    pub inflight: u64,
    pub consumers: u64,
    pub dead: u64,
}

/// Reads [`Pending`] lane by lane (not at one instant: a caller that needs "empty" asks after its
/// producers have stopped).
pub async fn pending(redis: &Redis, lanes: &[String]) -> Result<Pending, fred::error::Error> {
    let k = &redis.keys;
    let mut p = Pending::default();
    for lane in lanes {
        p.waiting += redis.pool.llen::<u64, _>(lane).await?;
        let inflight: Vec<String> = redis.pool.hkeys(k.consumers(lane)).await?;
        p.consumers += inflight.len() as u64;
        for list in inflight {
            p.inflight += redis.pool.llen::<u64, _>(&list).await?;
        }
        p.dead += redis.pool.llen::<u64, _>(k.dead(lane)).await?;
    }
    Ok(p)
}

/// How many elements wait in all `lanes` of a queue together, and how long the oldest of them has
/// waited, ms.
pub async fn lanes_depth_and_age(redis: &Redis, lanes: &[String]) -> Result<(i64, u64), fred::error::Error> {
    let each = futures_util::future::try_join_all(lanes.iter().map(|lane| depth_and_age(redis, lane))).await?;
    Ok(each.into_iter().fold((0, 0), |(depth, age), (d, a)| (depth + d, age.max(a))))
}

/// Every second, sets `matchday_queue_depth{queue}` (frames waiting in all its lanes) and
/// `matchday_queue_oldest_age_seconds{queue}` (how long the oldest has waited), and tells
/// `observer`.
async fn watch_depth(
    redis: Redis,
    lanes: Vec<String>,
    label: String,
    observer: Option<DepthObserver>,
    shutdown: Shutdown,
) {
    let mut every = crate::retry::Every::new(Duration::from_secs(1));
    while every.tick(&shutdown).await {
        let Ok((depth, age_ms)) = lanes_depth_and_age(&redis, &lanes).await else { continue };
        if let Some(observe) = &observer {
            observe(depth, age_ms);
        }
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
