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
use std::sync::Arc;
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

/// One lane a consumer serves: a queue, its own inflight list in it, and the acker of that list.
struct Lane {
    q: QueueKeys,
    inflight: String,
    /// Read the inflight list back before taking from this lane again (after a start or an error).
    recover: bool,
    /// Frames handed out from this lane since the last take: what its inflight list should hold
    /// when `ack_all` empties it.
    held: usize,
    acker: Acker,
    flusher: Flusher,
}

/// One consumer: a sequential loop with its own inflight list in each queue it serves.
///
/// A consumer of **one** queue (a group's client queue, resultcenter's jobs) waits on it with a
/// blocking BLMOVE on its own connection. A consumer of **several lanes** (the outbox and event
/// queues, one lane per shard: docs/scaling.md) cannot block on them all — a Redis Cluster refuses
/// a command whose keys span slots — so it sweeps them: one LLEN per lane, sent together (fred
/// pipelines them, per node), then a claim on each lane that has frames, a lane at a time. A sweep
/// that finds nothing waits before the next, from 1 ms doubling up to `block_timeout` (the poll
/// ceiling), so an idle consumer costs Redis a sweep every `block_timeout` and a busy one finds its
/// frames at once.
pub struct Consumer {
    redis: Redis,
    /// For a one-queue consumer: its blocking connection and that connection's name (CLIENT
    /// SETNAME), registered beside the heartbeat.
    blocking: Option<(Client, String)>,
    lanes: Vec<Lane>,
    /// The lane of the frames last taken (their acks go to its inflight list).
    current: usize,
    /// Lanes the last sweep found frames in, not yet claimed from.
    ready: Vec<usize>,
    /// When the last sweep was sent (`take_more` sweeps at most every [`SWEEP_GAP`]).
    swept: Instant,
    /// The lanes the frames handed out since the last take came from (the current one first):
    /// `ack_all` empties their inflight lists, `mark_recover` has them read back.
    touched: Vec<usize>,
    /// How long the next empty sweep waits.
    idle: Duration,
    heartbeat: String,
    batch: usize,
    block_timeout: Duration,
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
}

/// A BLMOVE that took at least this long found the queue empty when it was asked.
const WAITED: Duration = Duration::from_millis(1);
/// The first wait after a sweep of several lanes found nothing; it doubles up to the block timeout.
const FIRST_IDLE: Duration = Duration::from_millis(1);
/// While a batch is gathered (`take_more`), lanes are swept again at most this often.
const SWEEP_GAP: Duration = Duration::from_millis(5);

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
        Consumer::start_lanes(redis, vec![q], worker, heartbeat, batch, block_timeout, register_every).await
    }

    /// [`Consumer::start`] on several lanes (at least one): it sweeps them instead of blocking on
    /// one, and `block_timeout` is the longest wait between two sweeps that find nothing.
    pub async fn start_lanes(
        redis: &Redis,
        queues: Vec<QueueKeys>,
        worker: &str,
        heartbeat: &str,
        batch: usize,
        block_timeout: Duration,
        register_every: Duration,
    ) -> anyhow::Result<Consumer> {
        anyhow::ensure!(!queues.is_empty(), "consumer {worker} has no queue to serve");
        let blocking = if queues.len() == 1 {
            let client = redis.blocking_client(&format!("consumer {worker}")).await?;
            let name = client.id().to_owned();
            Some((client, name))
        } else {
            None
        };
        let lanes = queues
            .into_iter()
            .map(|q| {
                let inflight = redis.keys.inflight(&q.queue, worker);
                let (acker, flusher) = acker::start(redis, &inflight, &q.dead, q.dead_list);
                Lane { q, inflight, recover: true, held: 0, acker, flusher }
            })
            .collect();
        let consumer = Consumer {
            redis: redis.clone(),
            blocking,
            lanes,
            current: 0,
            ready: Vec::new(),
            swept: Instant::now(),
            touched: vec![0],
            idle: FIRST_IDLE,
            heartbeat: heartbeat.to_owned(),
            batch: batch.max(1),
            block_timeout,
            drained: false,
            claims: 0,
            waited: WAITED,
            registered_at: Instant::now(),
            register_every,
        };
        consumer.register().await.context("cannot register the consumer")?;
        Ok(consumer)
    }

    async fn register(&self) -> Result<(), fred::error::Error> {
        let connection = self.blocking.as_ref().map(|(_, name)| name.as_str());
        let registration = Registration { heartbeat: &self.heartbeat, connection };
        let value = registration.to_string();
        let registrations = self
            .lanes
            .iter()
            .map(|lane| self.redis.pool.hset::<(), _, _>(&lane.q.consumers, (lane.inflight.as_str(), value.as_str())));
        futures_util::future::try_join_all(registrations).await?;
        Ok(())
    }

    /// The inflight list of the lane whose frames were taken last (of its one queue, for a
    /// one-queue consumer).
    pub fn inflight_key(&self) -> &str {
        &self.lanes[self.current].inflight
    }

    /// How many queues (lanes) it serves.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// The name of its blocking connection, as registered (CLIENT LIST shows it while it lives);
    /// empty for a consumer of several lanes, which has none.
    pub fn connection_name(&self) -> &str {
        self.blocking.as_ref().map_or("", |(_, name)| name.as_str())
    }

    /// Takes the next batch of frames, oldest first, all from one lane; empty when nothing came
    /// within the block timeout. After a start or an error it first returns what is already in its
    /// own inflight lists (frames whose claim reply was lost, or whose ack failed), so nothing is
    /// stranded there.
    pub async fn take(&mut self) -> anyhow::Result<Vec<Bytes>> {
        self.lanes.iter_mut().for_each(|lane| lane.held = 0);
        let result = self.take_inner().await;
        match &result {
            Ok(frames) => self.lanes[self.current].held = frames.len(),
            Err(_) => self.mark_recover_all(),
        }
        result
    }

    async fn take_inner(&mut self) -> anyhow::Result<Vec<Bytes>> {
        if self.registered_at.elapsed() >= self.register_every {
            self.register().await?;
            self.registered_at = Instant::now();
        }
        for i in 0..self.lanes.len() {
            if !self.lanes[i].recover {
                continue;
            }
            let lane = &mut self.lanes[i];
            let mut own: Vec<Bytes> = self.redis.pool.lrange(&lane.inflight, 0, -1).await?;
            lane.recover = false;
            if !own.is_empty() {
                own.reverse(); // the oldest is at the right end
                tracing::info!(queue.inflight = %lane.inflight, frames = own.len(), "handling frames left in the inflight list");
                self.current = i;
                self.touched = vec![i];
                return Ok(own);
            }
        }
        if self.blocking.is_none() {
            let frames = self.sweep().await?;
            self.touched = vec![self.current];
            return Ok(frames);
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
        let Some((blocking, _)) = &self.blocking else { unreachable!("checked above") };
        let lane = &self.lanes[0];
        let waited = Instant::now();
        let first: Result<Option<Bytes>, _> = blocking
            .blmove(
                &lane.q.queue,
                &lane.inflight,
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

    /// Several lanes: claims from the next lane the last sweep found frames in; when none is left,
    /// sweeps again, and when the sweep finds nothing, waits (doubling up to the block timeout).
    async fn sweep(&mut self) -> anyhow::Result<Vec<Bytes>> {
        if self.ready.is_empty() {
            self.find_ready().await?;
        }
        let frames = self.claim_ready(self.batch).await?;
        if !frames.is_empty() {
            self.idle = FIRST_IDLE;
            return Ok(frames);
        }
        tokio::time::sleep(self.idle.min(self.block_timeout)).await;
        self.idle = (self.idle * 2).min(self.block_timeout);
        Ok(Vec::new())
    }

    /// One LLEN per lane, sent together: the lanes with frames become `ready`, starting after the
    /// lane served last, so every lane gets its turn under load.
    async fn find_ready(&mut self) -> anyhow::Result<()> {
        let lengths = self.lanes.iter().map(|lane| self.redis.pool.llen::<u64, _>(&lane.q.queue));
        let lengths = futures_util::future::try_join_all(lengths).await?;
        self.swept = Instant::now();
        let n = self.lanes.len();
        self.ready = (1..=n).map(|d| (self.current + d) % n).filter(|&i| lengths[i] > 0).collect();
        self.ready.reverse(); // popped from the end
        Ok(())
    }

    /// Takes up to `n` more frames without blocking (to fill a batch), oldest first: from the lane
    /// of the frames last taken, and for a consumer of lanes then from the other lanes that have
    /// frames (swept again at most every [`SWEEP_GAP`]). Only `run_batches`, which acks the whole
    /// batch with [`Consumer::ack_all`], may gather across lanes; a consumer that acks frame by
    /// frame ([`Consumer::acker`]) serves one queue.
    pub async fn take_more(&mut self, n: usize) -> anyhow::Result<Vec<Bytes>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let result = self.take_more_inner(n).await;
        match &result {
            Ok(frames) => self.lanes[self.current].held += frames.len(),
            Err(_) => self.mark_recover(),
        }
        result
    }

    async fn take_more_inner(&mut self, n: usize) -> anyhow::Result<Vec<Bytes>> {
        let frames = self.claim(n).await?;
        if !frames.is_empty() || self.blocking.is_some() {
            return Ok(frames);
        }
        if self.ready.is_empty() && self.swept.elapsed() >= SWEEP_GAP {
            self.find_ready().await?;
        }
        self.claim_ready(n).await
    }

    /// Claims up to `n` frames from the next lane the last sweep found frames in (the lanes that
    /// turn out empty are passed), making it the current lane and one the batch touched.
    async fn claim_ready(&mut self, n: usize) -> anyhow::Result<Vec<Bytes>> {
        while let Some(i) = self.ready.pop() {
            // A lane whose inflight list is still to be read back (after a start or an error) is
            // left to `take`: `ack_all` empties the lists of the lanes a batch touched, which must
            // hold only that batch.
            if self.lanes[i].recover {
                continue;
            }
            self.current = i;
            if !self.touched.contains(&i) {
                self.touched.push(i);
            }
            let frames = self.claim(n).await?;
            if !frames.is_empty() {
                return Ok(frames);
            }
        }
        Ok(Vec::new())
    }

    /// Moves up to `max` waiting frames of the current lane into its inflight list (claim.lua),
    /// oldest first, and notes whether it found the queue empty.
    async fn claim(&mut self, max: usize) -> anyhow::Result<Vec<Bytes>> {
        self.claims += 1;
        let lane = &self.lanes[self.current];
        let args = claim::Args { queue: &lane.q.queue, inflight: &lane.inflight, max: max as u64 };
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

    /// Acks everything this consumer holds in the lanes of the batch since the last take (their
    /// whole inflight lists), for consumers that handle what they took as one batch without
    /// replies (dbsvr) — only when the lists hold exactly the batch: after a claim whose answer
    /// was lost one may hold frames the batch does not (`consumer::run_batches` then reads the
    /// lists back instead).
    ///
    /// Checked first: each list must hold just the frames handed out from it. A claim whose
    /// answer was lost and that the client sent again (fred replays a command in flight when the
    /// connection drops; Redis may have run it and written its AOF before it was killed) moved
    /// frames no take returned; the lists are then left as they are and `Ok(false)` tells the
    /// caller to read them back ([`Consumer::mark_recover`]) — their frames are handled again,
    /// none is dropped unwritten. Only this consumer puts frames into its inflight lists (the
    /// reaper only takes them out), and a replayed claim runs before this consumer's later
    /// commands, so nothing can slip in between the check and the delete.
    pub async fn ack_all(&self) -> anyhow::Result<bool> {
        let lengths = self.touched.iter().map(|&i| self.redis.pool.llen::<usize, _>(&self.lanes[i].inflight));
        let lengths = futures_util::future::try_join_all(lengths).await?;
        for (&i, len) in self.touched.iter().zip(lengths) {
            if len > self.lanes[i].held {
                tracing::warn!(queue.inflight = %self.lanes[i].inflight, held = self.lanes[i].held, len,
                    "the inflight list holds frames no take returned (a claim sent twice); reading it back");
                return Ok(false);
            }
        }
        let deletes = self.touched.iter().map(|&i| self.redis.pool.del::<i64, _>(&self.lanes[i].inflight));
        futures_util::future::try_join_all(deletes).await?;
        Ok(true)
    }

    /// Acks `frame` and, in the same script, pushes `reply` (list key, element); see [`Acker::ack`].
    /// Returns false if the frame was no longer inflight (the reaper took it back): no reply was sent.
    pub async fn ack(&self, frame: &Bytes, reply: Option<(&str, &[u8])>) -> anyhow::Result<bool> {
        self.lanes[self.current].acker.ack(frame, reply).await
    }

    /// Moves `frame` (which can never be handled) to the dead list.
    pub async fn dead_letter(&self, frame: &Bytes) -> anyhow::Result<bool> {
        self.lanes[self.current].acker.dead_letter(frame).await
    }

    /// What acks the frames last taken (the current lane's), for tasks that finish them while the
    /// consumer takes more. Every clone's acks are gathered by the one flusher of that lane.
    pub fn acker(&self) -> Acker {
        self.lanes[self.current].acker.clone()
    }

    /// Replies pushed by this consumer's acks go to lists that expire `ttl` after the last one
    /// (see [`Acker::with_reply_ttl`]).
    pub fn set_reply_ttl(&mut self, ttl: Duration) {
        for lane in &mut self.lanes {
            lane.acker = lane.acker.clone().with_reply_ttl(ttl);
        }
    }

    /// Call after an ack failed: the next take re-reads the inflight lists of the lanes the frames
    /// since the last take came from.
    pub fn mark_recover(&mut self) {
        for &i in &self.touched {
            self.lanes[i].recover = true;
        }
    }

    fn mark_recover_all(&mut self) {
        self.lanes.iter_mut().for_each(|lane| lane.recover = true);
    }

    /// Sends every ack already handed over (then refuses more), and unregisters the consumer from
    /// each lane whose inflight list is empty (on graceful shutdown).
    pub async fn leave(self) -> anyhow::Result<()> {
        let redis = &self.redis;
        // Every lane at once: a consumer of 65 lanes leaves in a few round trips, not 130.
        let leaving = self.lanes.into_iter().map(|lane| async move {
            lane.flusher.finish().await;
            let left: i64 = redis.pool.llen(&lane.inflight).await?;
            if left == 0 {
                let _: i64 = redis.pool.hdel(&lane.q.consumers, &lane.inflight).await?;
            } else {
                tracing::warn!(queue.inflight = %lane.inflight, frames = left, "leaving frames inflight for the reaper");
            }
            anyhow::Ok(())
        });
        futures_util::future::try_join_all(leaving).await?;
        if let Some((blocking, _)) = self.blocking {
            let _ = blocking.quit().await;
        }
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

/// Returns the inflight frames of dead consumers to their queue (to each of its lanes).
#[derive(Clone)]
pub struct Reaper {
    redis: Redis,
    lanes: Vec<QueueKeys>,
    owner: String,
    max_attempts: u32,
    lease: Duration,
    grace: Duration,
    /// The queue's Redis as last seen (its run_id), and when it was last seen to change.
    server: Arc<std::sync::Mutex<ServerSeen>>,
}

/// Which Redis served the queue at the last pass (a restart or a failover changes its run_id).
#[derive(Default)]
struct ServerSeen {
    run_id: String,
    changed_at: Option<Instant>,
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
        Reaper::lanes(redis, vec![q], owner, max_attempts, lease, grace)
    }

    /// [`Reaper::new`] for the lanes of a sharded queue: one pass looks at every lane.
    pub fn lanes(
        redis: &Redis,
        lanes: Vec<QueueKeys>,
        owner: &str,
        max_attempts: u32,
        lease: Duration,
        grace: Duration,
    ) -> Reaper {
        let server = Arc::default();
        Reaper { redis: redis.clone(), lanes, owner: owner.to_owned(), max_attempts, lease, grace, server }
    }

    /// How long the Redis serving the queue (on a cluster, the primary of the first lane's slot)
    /// has been up (whole seconds, as INFO gives it), and its run_id.
    async fn queue_server(&self) -> anyhow::Result<(Duration, String)> {
        let slot = crate::shards::slot(&self.lanes[0].queue);
        let info_server = CustomCommand::new_static("INFO", ClusterHash::Custom(slot), false);
        let info: String = self.redis.pool.next().custom(info_server, vec!["server"]).await?;
        let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
        let secs =
            field("uptime_in_seconds:").and_then(|v| v.parse().ok()).context("INFO server has no uptime_in_seconds")?;
        Ok((Duration::from_secs(secs), field("run_id:").unwrap_or_default()))
    }

    /// Whether a consumer whose connection is missing may be taken for dead: not within the grace
    /// period after the queue's Redis changed (a replica promoted by a failover, a restart this
    /// reaper saw): every live consumer's connection is new there, and comes only once its process
    /// has reconnected. Meanwhile the heartbeat alone tells the dead.
    fn connections_tell(&self, run_id: &str) -> bool {
        let mut seen = self.server.lock().expect("the reaper's server record");
        if seen.run_id != run_id {
            if !seen.run_id.is_empty() {
                tracing::info!(queue = %self.lanes[0].queue, grace_s = self.grace.as_secs(),
                    "the queue's Redis changed (a failover or a restart): consumers are judged by their heartbeats for a while");
                seen.changed_at = Some(Instant::now());
            }
            seen.run_id = run_id.to_owned();
        }
        seen.changed_at.is_none_or(|at| at.elapsed() >= self.grace)
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
    ///
    /// After a failover (the queue's primary replaced by its replica) every consumer's connection is
    /// missing until its process reconnects, though the heartbeats are there: for the grace period
    /// after a reaper sees the queue's Redis change ([`Reaper::connections_tell`]), only the
    /// heartbeat judges.
    pub async fn reap_once(&self) -> anyhow::Result<Reaped> {
        let mut total = Reaped::default();
        let (uptime, run_id) = self.queue_server().await?;
        let connections_tell = self.connections_tell(&run_id);
        if uptime < self.grace {
            tracing::debug!(queue = %self.lanes[0].queue, uptime_s = uptime.as_secs(), "Redis has just started; heartbeats come back before anyone is reaped");
            return Ok(total);
        }
        for q in &self.lanes {
            let reaped = self.reap_lane(q, connections_tell).await?;
            total.requeued += reaped.requeued;
            total.dead += reaped.dead;
        }
        Ok(total)
    }

    async fn reap_lane(&self, q: &QueueKeys, connections_tell: bool) -> anyhow::Result<Reaped> {
        let mut total = Reaped::default();
        let got: Option<String> = self
            .redis
            .pool
            .set(
                &q.lease,
                self.owner.as_str(),
                Some(Expiration::PX(self.lease.as_millis() as i64)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        if got.is_none() {
            return Ok(total);
        }
        let consumers: HashMap<String, String> = self.redis.pool.hgetall(&q.consumers).await?;
        // Read after the registrations: a consumer registers once its connection is named.
        let judged = connections_tell && consumers.values().any(|v| Registration::parse(v).connection.is_some());
        let connected = if judged { connection_names(&self.redis, &q.queue).await? } else { HashSet::new() };
        for (inflight, value) in consumers {
            let registration = Registration::parse(&value);
            let beating: i64 = self.redis.pool.exists(registration.heartbeat).await?;
            let connection_gone = judged && registration.connection.is_some_and(|c| !connected.contains(c));
            if beating == 1 && !connection_gone {
                continue;
            }
            if beating == 1 {
                tracing::info!(queue = %q.queue, queue.inflight = %inflight,
                    "a consumer's Redis connection is gone (its process died, or lost Redis): returning its frames now");
            }
            loop {
                let args = requeue::Args {
                    inflight: &inflight,
                    queue: &q.queue,
                    dead: &q.dead,
                    deliveries: &q.deliveries,
                    consumers: &q.consumers,
                    max_attempts: self.max_attempts as u64,
                    limit: REQUEUE_CHUNK as u64,
                    deliveries_ttl_s: DELIVERIES_TTL_S,
                    dead_list: q.dead_list,
                };
                let requeue::Outcome::Requeued { moved, dead, remaining } = requeue::call(&self.redis, &args).await?;
                total.requeued += moved;
                total.dead += dead;
                if remaining == 0 {
                    break;
                }
            }
            if total.requeued + total.dead > 0 {
                tracing::warn!(queue = %q.queue, queue.inflight = %inflight, requeued = total.requeued, dead = total.dead,
                    "returned the frames of a dead consumer");
            }
        }
        if total.dead > 0 {
            tracing::error!(queue = %q.queue, queue.dead = %q.dead, frames = total.dead,
                "frames failed too often and were moved to the dead list; inspect them");
            metrics::counter!("matchday_queue_dead_total", "queue" => queue_label(&q.queue)).increment(total.dead);
        }
        metrics::counter!("matchday_queue_requeued_total", "queue" => queue_label(&q.queue)).increment(total.requeued);
        Ok(total)
    }

    /// Reaps every `interval` until shutdown. Errors are logged and retried next round.
    pub async fn run(self, interval: Duration, shutdown: Shutdown) {
        let mut every = Every::new(interval);
        while every.tick(&shutdown).await {
            if let Err(e) = self.reap_once().await {
                tracing::warn!(queue = %self.lanes[0].queue, lanes = self.lanes.len(), error = format!("{e:#}"), "reaper pass failed; retrying");
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
