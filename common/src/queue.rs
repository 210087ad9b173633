//! The reliable queue on Redis lists (DESIGN.md §6, notes/redis.md §1).
//!
//! Producers LPUSH frames (connect sends the frames of all its connections that are waiting in one
//! LPUSH: `connect/src/pusher.rs`). A [`Consumer`] moves frames atomically into its own inflight
//! list (`claim.lua`: whatever is waiting, up to a batch, in one round trip and three commands —
//! LRANGE, LTRIM, LPUSH; BLMOVE only when nothing is), handles them, and acks them with `ack.lua`
//! through its [`Acker`], which gathers the acks that come while one call is in flight into the
//! next (`acker.rs`); the script pushes a frame's reply only if the frame was still inflight, so a
//! frame is answered once. A [`Reaper`] returns the inflight frames of consumers whose heartbeat has
//! expired or whose Redis connection is gone (a killed process), and moves a frame returned `max_attempts` times to the dead list. Delivery is
//! at-least-once; effects are made exactly-once by the idempotency checks inside the
//! state-changing scripts.
//!
//! Batching changes how many frames a command carries, not what happens to a frame: a claim moves
//! its frames in one atomic step, leaving the lists as frame-by-frame moves would (oldest deepest
//! in the inflight list), so a frame is always in exactly one list; it leaves its inflight list only
//! through its own ack (LREM of that frame), a dead-letter, or the reaper. An ack call that fails
//! leaves every frame of its batch inflight, to be taken again after the consumer's recovery or
//! the reaper's — the same at-least-once as one failed ack.
//!
//! Dead lists hold frames with passwords and tokens in clear, so every push to one goes through
//! [`DeadList`]: capped at `queue.dead_max` frames and expiring `queue.dead_ttl_s` after the last.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use fred::prelude::*;
use fred::types::SetOptions;
use fred::types::lists::LMoveDirection;
use fred::types::{ClusterHash, CustomCommand};

use crate::acker::{self, Flusher};
use crate::config::QueueConfig;
use crate::keys::Keys;
use crate::redis::Redis;
use crate::retry::Every;
use crate::shutdown::Shutdown;
use crate::store::{claim, requeue};

pub use crate::acker::Acker;

/// The keys that make up one reliable queue, and the bounds of its dead list.
#[derive(Clone, Debug)]
pub struct QueueKeys {
    pub queue: String,
    pub dead: String,
    pub deliveries: String,
    pub consumers: String,
    pub lease: String,
    pub dead_list: DeadList,
}

impl QueueKeys {
    pub fn new(keys: &Keys, queue: String, cfg: &QueueConfig) -> QueueKeys {
        QueueKeys {
            dead: keys.dead(&queue),
            dead_list: DeadList::new(cfg),
            deliveries: keys.deliveries(&queue),
            consumers: keys.consumers(&queue),
            lease: keys.reaper_lease(&queue),
            queue,
        }
    }
}

/// How long a dead list is and how long it lives: `queue.dead_max` frames (the oldest beyond are
/// dropped), `queue.dead_ttl_s` after its last push. Every push to a dead list honours both
/// (dead_letter.lua, requeue.lua, [`DeadList::push`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadList {
    pub max: u64,
    pub ttl_s: u64,
}

impl DeadList {
    pub fn new(cfg: &QueueConfig) -> DeadList {
        DeadList { max: cfg.dead_max.max(1), ttl_s: cfg.dead_ttl_s.max(1) }
    }

    /// Pushes `element` (newest at the left) to the dead list `key`, trims it to the cap and
    /// refreshes its TTL, in one MULTI (for elements that are not moved from an inflight list,
    /// e.g. dbsvr's records with their reason).
    pub async fn push(&self, redis: &Redis, key: &str, element: Bytes) -> Result<(), fred::error::Error> {
        let tx = redis.pool.next().multi();
        let _: () = tx.lpush(key, element).await?;
        let _: () = tx.ltrim(key, 0, self.max as i64 - 1).await?;
        let _: () = tx.expire(key, self.ttl_s as i64, None).await?;
        let _: Vec<Value> = tx.exec(true).await?;
        Ok(())
    }
}

/// One consumer of a queue: a sequential loop with its own inflight list and blocking connection.
pub struct Consumer {
    redis: Redis,
    blocking: Client,
    q: QueueKeys,
    inflight: String,
    heartbeat: String,
    /// The name of its blocking connection (CLIENT SETNAME), registered beside the heartbeat.
    connection: String,
    batch: usize,
    block_timeout: Duration,
    recover: bool,
    /// The queue was last seen empty (a claim found nothing, or a frame ended a real wait): the
    /// next take waits on it (BLMOVE) without claiming first. At low rates that claim would find
    /// nothing again: one script call less per frame.
    drained: bool,
    /// claim.lua calls so far (`claims`).
    claims: u64,
    /// A BLMOVE that took this long found the queue empty ([`WAITED`]).
    waited: Duration,
    registered_at: Instant,
    register_every: Duration,
    /// Acks to clone; its flusher sends them in batches until the consumer leaves.
    acker: Acker,
    flusher: Flusher,
}

/// A BLMOVE that took at least this long found the queue empty when it was asked.
const WAITED: Duration = Duration::from_millis(1);

impl Consumer {
    /// Registers consumer `worker` of `q`, owned by the process whose heartbeat key is `heartbeat`.
    /// The registration is refreshed every `register_every`, so a consumer the reaper once took for
    /// dead (its heartbeat lapsed while Redis was away) is watched again.
    pub async fn start(
        redis: &Redis,
        q: QueueKeys,
        worker: &str,
        heartbeat: &str,
        batch: usize,
        block_timeout: Duration,
        register_every: Duration,
    ) -> anyhow::Result<Consumer> {
        let inflight = redis.keys.inflight(&q.queue, worker);
        let blocking = redis.blocking_client(&format!("consumer {worker}")).await?;
        let connection = blocking.id().to_owned();
        let (acker, flusher) = acker::start(redis, &inflight, &q.dead, q.dead_list);
        let consumer = Consumer {
            redis: redis.clone(),
            blocking,
            q,
            inflight,
            heartbeat: heartbeat.to_owned(),
            connection,
            batch: batch.max(1),
            block_timeout,
            recover: true,
            drained: false,
            claims: 0,
            waited: WAITED,
            registered_at: Instant::now(),
            register_every,
            acker,
            flusher,
        };
        consumer.register().await.context("cannot register the consumer")?;
        Ok(consumer)
    }

    async fn register(&self) -> Result<(), fred::error::Error> {
        let registration = Registration { heartbeat: &self.heartbeat, connection: Some(&self.connection) };
        self.redis.pool.hset(&self.q.consumers, (self.inflight.as_str(), registration.to_string())).await
    }

    pub fn inflight_key(&self) -> &str {
        &self.inflight
    }

    /// The name of its blocking connection, as registered (CLIENT LIST shows it while it lives).
    pub fn connection_name(&self) -> &str {
        &self.connection
    }

    /// Takes the next batch of frames, oldest first; empty when nothing came within the block timeout.
    /// After a start or an error it first returns what is already in its own inflight list (frames
    /// whose BLMOVE reply was lost, or whose ack failed), so nothing is stranded there.
    pub async fn take(&mut self) -> anyhow::Result<Vec<Bytes>> {
        let result = self.take_inner().await;
        if result.is_err() {
            self.recover = true;
        }
        result
    }

    async fn take_inner(&mut self) -> anyhow::Result<Vec<Bytes>> {
        if self.registered_at.elapsed() >= self.register_every {
            self.register().await?;
            self.registered_at = Instant::now();
        }
        if self.recover {
            let mut own: Vec<Bytes> = self.redis.pool.lrange(&self.inflight, 0, -1).await?;
            self.recover = false;
            if !own.is_empty() {
                own.reverse(); // the oldest is at the right end
                tracing::info!(queue.inflight = %self.inflight, frames = own.len(), "handling frames left in the inflight list");
                return Ok(own);
            }
        }
        // Whatever is waiting, up to a batch, in one round trip; only an empty queue is waited on,
        // and the frame that ends the wait is handled at once (no second round trip on its path).
        // When the last claim found nothing, the queue is waited on at once (a frame already there
        // ends the wait as soon as it is asked), and the claim after that frame looks for more.
        if !self.drained {
            let waiting = self.claim(self.batch).await?;
            if !waiting.is_empty() {
                return Ok(waiting);
            }
        }
        let waited = Instant::now();
        let first: Result<Option<Bytes>, _> = self
            .blocking
            .blmove(
                &self.q.queue,
                &self.inflight,
                LMoveDirection::Right,
                LMoveDirection::Left,
                self.block_timeout.as_secs_f64(),
            )
            .await;
        let first = nil_is_none(first)?;
        // A frame that ended a real wait came to an empty queue, alone: the next take waits again
        // without claiming. One that was there at once (a busy queue) may have others behind it:
        // the next take claims them as a batch.
        self.drained = first.is_none() || waited.elapsed() >= self.waited;
        Ok(first.into_iter().collect())
    }

    /// Takes up to `n` more frames without blocking (to fill a batch), oldest first.
    pub async fn take_more(&mut self, n: usize) -> anyhow::Result<Vec<Bytes>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let result = self.claim(n).await;
        if result.is_err() {
            self.recover = true;
        }
        result
    }

    /// Moves up to `max` waiting frames into the inflight list (claim.lua), oldest first, and
    /// notes whether it found the queue empty.
    async fn claim(&mut self, max: usize) -> anyhow::Result<Vec<Bytes>> {
        self.claims += 1;
        let args = claim::Args { queue: &self.q.queue, inflight: &self.inflight, max: max as u64 };
        let claim::Outcome::Claimed { frames } = claim::call(&self.redis, &args).await?;
        self.drained = frames.is_empty();
        Ok(frames)
    }

    /// How long a wait that a frame ends must have lasted for the queue to count as empty when
    /// it was asked (default [`WAITED`]; tests set 0 or `Duration::MAX` to take either branch).
    pub fn set_wait_threshold(&mut self, waited: Duration) {
        self.waited = waited;
    }

    /// How many claim.lua calls this consumer has made.
    pub fn claims(&self) -> u64 {
        self.claims
    }

    /// Acks everything this consumer holds (its whole inflight list), for consumers that handle
    /// what they took as one batch without replies (dbsvr) — only when the list holds exactly the
    /// batch: after a claim whose answer was lost it may hold frames the batch does not
    /// (`consumer::run_batches` then reads the list back instead).
    pub async fn ack_all(&self) -> anyhow::Result<()> {
        let _: i64 = self.redis.pool.del(&self.inflight).await?;
        Ok(())
    }

    /// Acks `frame` and, in the same script, pushes `reply` (list key, element); see [`Acker::ack`].
    /// Returns false if the frame was no longer inflight (the reaper took it back): no reply was sent.
    pub async fn ack(&self, frame: &Bytes, reply: Option<(&str, &[u8])>) -> anyhow::Result<bool> {
        self.acker.ack(frame, reply).await
    }

    /// Moves `frame` (which can never be handled) to the dead list.
    pub async fn dead_letter(&self, frame: &Bytes) -> anyhow::Result<bool> {
        self.acker.dead_letter(frame).await
    }

    /// What acks this consumer's frames, for tasks that finish them while the consumer takes more.
    /// Every clone's acks are gathered by the one flusher of this consumer.
    pub fn acker(&self) -> Acker {
        self.acker.clone()
    }

    /// Call after an ack failed: the next take re-reads the inflight list.
    pub fn mark_recover(&mut self) {
        self.recover = true;
    }

    /// Sends every ack already handed over (then refuses more), and unregisters the consumer if
    /// its inflight list is empty (on graceful shutdown).
    pub async fn leave(self) -> anyhow::Result<()> {
        self.flusher.finish().await;
        let left: i64 = self.redis.pool.llen(&self.inflight).await?;
        if left == 0 {
            let _: i64 = self.redis.pool.hdel(&self.q.consumers, &self.inflight).await?;
        } else {
            tracing::warn!(queue.inflight = %self.inflight, frames = left, "leaving frames inflight for the reaper");
        }
        let _ = self.blocking.quit().await;
        Ok(())
    }
}

/// fred answers a blocking list command that timed out on the server (a nil reply) with a
/// `Timeout` error; that is "nothing came", not a failure. (Blocking clients have no client-side
/// timeout, so no other timeout can occur.)
pub fn nil_is_none<T>(r: Result<Option<T>, fred::error::Error>) -> Result<Option<T>, fred::error::Error> {
    match r {
        Err(e) if *e.kind() == fred::error::ErrorKind::Timeout => Ok(None),
        other => other,
    }
}

/// A consumer's entry in its queue's consumers hash (inflight key → this): the heartbeat key of
/// its process and, after a space, the name of its blocking connection (a value without one, from
/// an older process, is the heartbeat alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration<'a> {
    pub heartbeat: &'a str,
    pub connection: Option<&'a str>,
}

impl<'a> Registration<'a> {
    pub fn parse(value: &'a str) -> Registration<'a> {
        match value.rsplit_once(' ') {
            Some((heartbeat, connection)) => Registration { heartbeat, connection: Some(connection) },
            None => Registration { heartbeat: value, connection: None },
        }
    }
}

impl std::fmt::Display for Registration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.connection {
            Some(c) => write!(f, "{} {c}", self.heartbeat),
            None => f.write_str(self.heartbeat),
        }
    }
}

/// The names of the connections held now (CLIENT LIST TYPE normal) by the Redis that serves
/// `queue`: on a cluster, the primary of the queue's slot, where its consumers' blocking
/// connections wait.
async fn connection_names(redis: &Redis, queue: &str) -> Result<HashSet<String>, fred::error::Error> {
    let on_queue_node = CustomCommand::new_static("CLIENT", ClusterHash::Custom(crate::shards::slot(queue)), false);
    let list: String = redis.pool.next().custom(on_queue_node, vec!["LIST", "TYPE", "normal"]).await?;
    Ok(list
        .lines()
        .filter_map(|line| line.split(' ').find_map(|field| field.strip_prefix("name=")))
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect())
}

/// What one reaper pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    pub requeued: u64,
    pub dead: u64,
}

/// Returns the inflight frames of dead consumers to their queue.
#[derive(Clone)]
pub struct Reaper {
    redis: Redis,
    q: QueueKeys,
    owner: String,
    max_attempts: u32,
    lease: Duration,
    grace: Duration,
}

/// Frames moved per script call, so no call runs long enough to stall Redis.
const REQUEUE_CHUNK: u32 = 500;
/// How long delivery counts are remembered after a frame was last returned.
const DELIVERIES_TTL_S: u64 = 86_400;

impl Reaper {
    /// `grace`: how long a Redis that has just started is given before anyone is declared dead (the
    /// heartbeat TTL); see [`Reaper::reap_once`].
    pub fn new(
        redis: &Redis,
        q: QueueKeys,
        owner: &str,
        max_attempts: u32,
        lease: Duration,
        grace: Duration,
    ) -> Reaper {
        Reaper { redis: redis.clone(), q, owner: owner.to_owned(), max_attempts, lease, grace }
    }

    /// How long the Redis server has been up (whole seconds, as INFO gives it).
    async fn redis_uptime(&self) -> anyhow::Result<Duration> {
        let info: String = self.redis.pool.next().info(Some(fred::types::InfoKind::Server)).await?;
        let secs = info
            .lines()
            .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
            .and_then(|v| v.trim().parse().ok())
            .context("INFO server has no uptime_in_seconds")?;
        Ok(Duration::from_secs(secs))
    }

    /// One pass: if this process holds the lease, requeue every consumer that is dead — whose
    /// heartbeat is gone, or whose blocking connection is. A process that is killed closes its
    /// connections at once (the kernel does), so its frames go back within a reap interval instead
    /// of a heartbeat TTL; the heartbeat covers what a socket cannot tell (a frozen process, a
    /// network cut). A live consumer whose connection merely dropped for a moment has its frames
    /// handled elsewhere: its own acks of them then find them gone and send nothing, and it
    /// registers again within `register_every`.
    ///
    /// Not while Redis has been up for less than the grace period: a Redis that restarted (on its
    /// AOF, or empty) has lost or expired every heartbeat, and live processes write theirs again
    /// only once they have reconnected. Reaping then would take live consumers for dead and bounce
    /// their frames from one to the next, counting a delivery each time, until a frame that was
    /// never poison reached `max_attempts` and the dead list.
    pub async fn reap_once(&self) -> anyhow::Result<Reaped> {
        let mut total = Reaped::default();
        let uptime = self.redis_uptime().await?;
        if uptime < self.grace {
            tracing::debug!(queue = %self.q.queue, uptime_s = uptime.as_secs(), "Redis has just started; heartbeats come back before anyone is reaped");
            return Ok(total);
        }
        let got: Option<String> = self
            .redis
            .pool
            .set(
                &self.q.lease,
                self.owner.as_str(),
                Some(Expiration::PX(self.lease.as_millis() as i64)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        if got.is_none() {
            return Ok(total);
        }
        let consumers: HashMap<String, String> = self.redis.pool.hgetall(&self.q.consumers).await?;
        // Read after the registrations: a consumer registers once its connection is named.
        let connected = if consumers.values().any(|v| Registration::parse(v).connection.is_some()) {
            connection_names(&self.redis, &self.q.queue).await?
        } else {
            HashSet::new()
        };
        for (inflight, value) in consumers {
            let registration = Registration::parse(&value);
            let beating: i64 = self.redis.pool.exists(registration.heartbeat).await?;
            let connection_gone = registration.connection.is_some_and(|c| !connected.contains(c));
            if beating == 1 && !connection_gone {
                continue;
            }
            if beating == 1 {
                tracing::info!(queue = %self.q.queue, queue.inflight = %inflight,
                    "a consumer's Redis connection is gone (its process died, or lost Redis): returning its frames now");
            }
            loop {
                let args = requeue::Args {
                    inflight: &inflight,
                    queue: &self.q.queue,
                    dead: &self.q.dead,
                    deliveries: &self.q.deliveries,
                    consumers: &self.q.consumers,
                    max_attempts: self.max_attempts as u64,
                    limit: REQUEUE_CHUNK as u64,
                    deliveries_ttl_s: DELIVERIES_TTL_S,
                    dead_list: self.q.dead_list,
                };
                let requeue::Outcome::Requeued { moved, dead, remaining } = requeue::call(&self.redis, &args).await?;
                total.requeued += moved;
                total.dead += dead;
                if remaining == 0 {
                    break;
                }
            }
            if total.requeued + total.dead > 0 {
                tracing::warn!(queue = %self.q.queue, queue.inflight = %inflight, requeued = total.requeued, dead = total.dead,
                    "returned the frames of a dead consumer");
            }
        }
        if total.dead > 0 {
            tracing::error!(queue = %self.q.queue, queue.dead = %self.q.dead, frames = total.dead,
                "frames failed too often and were moved to the dead list; inspect them");
            metrics::counter!("matchday_queue_dead_total", "queue" => queue_label(&self.q.queue)).increment(total.dead);
        }
        metrics::counter!("matchday_queue_requeued_total", "queue" => queue_label(&self.q.queue))
            .increment(total.requeued);
        Ok(total)
    }

    /// Reaps every `interval` until shutdown. Errors are logged and retried next round.
    pub async fn run(self, interval: Duration, shutdown: Shutdown) {
        let mut every = Every::new(interval);
        while every.tick(&shutdown).await {
            if let Err(e) = self.reap_once().await {
                tracing::warn!(queue = %self.q.queue, error = format!("{e:#}"), "reaper pass failed; retrying");
            }
        }
    }
}

/// A low-cardinality metrics label for a queue key: the part after the prefix, e.g. "q:c2l:{1}".
fn queue_label(queue: &str) -> String {
    match queue.find("q:") {
        Some(i) => queue[i..].to_owned(),
        None => queue.to_owned(),
    }
}
