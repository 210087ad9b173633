//! The acks of one consumer, gathered into batches (issue 19).
//!
//! [`Acker::ack`] hands its frame (and reply) to the consumer's flusher, a task that sends
//! whatever acks are waiting in one `ack.lua` call and answers each caller with its frame's
//! outcome. The first ack goes at once; acks that come while a call is in flight wait for it and go
//! together in the next (up to [`MAX_BATCH`]) — no timer, so an idle consumer adds no latency, and
//! a busy one (logic's frames in hand, each acked by its own task) pays one script call for many
//! frames. A failed call answers every ack of its batch with the error: their frames stay inflight
//! and are handled again, as a failed single ack's would be.
//!
//! The flusher lives as long as its consumer: [`Flusher::finish`] (from `Consumer::leave`) lets it
//! send every ack already handed over, then ends it; acks after that are refused. A consumer
//! dropped without leaving ends its flusher the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::queue::DeadList;
use crate::redis::Redis;
use crate::store::{StoreError, ack, dead_letter};

/// The most acks in one ack.lua call: a script runs them all at once, so a batch stays short.
pub const MAX_BATCH: usize = 256;
/// Acks handed over and not yet taken by the flusher, beyond which `ack` waits for room.
const WAITING: usize = 4 * MAX_BATCH;

/// One ack handed to the flusher.
struct Request {
    frame: Bytes,
    reply: Option<(String, Bytes)>,
    reply_ttl_ms: u64,
    answer: oneshot::Sender<Result<ack::Outcome, StoreError>>,
}

/// Acks (or dead-letters) frames of one consumer's inflight list. Cheap to clone; every clone
/// hands its acks to the same flusher.
#[derive(Clone)]
pub struct Acker {
    redis: Redis,
    inflight: String,
    dead: String,
    dead_list: DeadList,
    /// 0: reply lists never expire; else they expire this long after the last reply pushed.
    reply_ttl_ms: u64,
    requests: mpsc::Sender<Request>,
    calls: Arc<AtomicU64>,
}

/// The flusher task of a consumer's [`Acker`]s; held by the consumer.
pub(crate) struct Flusher {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Starts the flusher of the consumer whose inflight list is `inflight`; returns its first
/// [`Acker`] (clone it for more) and the [`Flusher`] to finish it with.
pub(crate) fn start(redis: &Redis, inflight: &str, dead: &str, dead_list: DeadList) -> (Acker, Flusher) {
    let (requests, received) = mpsc::channel(WAITING);
    let (stop, stopped) = oneshot::channel();
    let calls = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(
        flush_loop(redis.clone(), inflight.to_owned(), received, stopped, calls.clone()).in_current_span(),
    );
    let acker = Acker {
        redis: redis.clone(),
        inflight: inflight.to_owned(),
        dead: dead.to_owned(),
        dead_list,
        reply_ttl_ms: 0,
        requests,
        calls,
    };
    (acker, Flusher { stop, task })
}

impl Flusher {
    /// Refuses acks from now on, sends every ack already handed over, and returns once the last
    /// is answered.
    pub(crate) async fn finish(self) {
        let Flusher { stop, task } = self;
        drop(stop);
        if let Err(e) = task.await {
            tracing::error!(error = %e, "the ack flusher failed; frames whose ack it held stay inflight");
        }
    }
}

impl Acker {
    /// Replies go to lists that expire `ttl` after the last one: a reply list whose reader (a
    /// connect node) has died expires instead of keeping its replies forever.
    pub fn with_reply_ttl(mut self, ttl: Duration) -> Acker {
        self.reply_ttl_ms = ttl.as_millis() as u64;
        self
    }

    /// Acks `frame` and, in the same script, pushes `reply` (list key, element), together with
    /// whatever other acks of this consumer are waiting. Returns false if the frame was no longer
    /// inflight (the reaper took it back): no reply was sent. An error leaves the frame inflight.
    pub async fn ack(&self, frame: &Bytes, reply: Option<(&str, &[u8])>) -> anyhow::Result<bool> {
        let (answer, answered) = oneshot::channel();
        let request = Request {
            frame: frame.clone(),
            reply: reply.map(|(key, element)| (key.to_owned(), Bytes::copy_from_slice(element))),
            reply_ttl_ms: self.reply_ttl_ms,
            answer,
        };
        if self.requests.send(request).await.is_err() {
            anyhow::bail!("the consumer of {} has left; the frame stays inflight", self.inflight);
        }
        let outcome = answered
            .await
            .with_context(|| format!("the ack flusher of {} ended before answering", self.inflight))??;
        Ok(outcome == ack::Outcome::Acked)
    }

    /// Moves `frame` (which can never be handled) to the dead list, on its own (it is rare).
    pub async fn dead_letter(&self, frame: &Bytes) -> anyhow::Result<bool> {
        let args = dead_letter::Args {
            inflight: &self.inflight,
            dead: &self.dead,
            frame: frame.clone(),
            dead_list: self.dead_list,
        };
        Ok(dead_letter::call(&self.redis, &args).await? == dead_letter::Outcome::Moved)
    }

    /// How many ack.lua calls this consumer's acks have taken so far (fewer than acks when they
    /// were gathered).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Sends the acks handed over, a batch per call, until stopped (then until none is left) or until
/// every [`Acker`] is gone.
async fn flush_loop(
    redis: Redis,
    inflight: String,
    mut requests: mpsc::Receiver<Request>,
    mut stop: oneshot::Receiver<()>,
    calls: Arc<AtomicU64>,
) {
    let mut stopping = false;
    // An ack drained with another reply TTL than its batch's: it starts the next batch.
    let mut next: Option<Request> = None;
    loop {
        let first = match next.take() {
            Some(request) => request,
            None if stopping => match requests.recv().await {
                Some(request) => request,
                None => break,
            },
            None => tokio::select! {
                got = requests.recv() => match got {
                    Some(request) => request,
                    None => break,
                },
                _ = &mut stop => {
                    // Refuse new acks; those already handed over are still received, then None.
                    requests.close();
                    stopping = true;
                    continue;
                }
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) if request.reply_ttl_ms == batch[0].reply_ttl_ms => batch.push(request),
                Ok(request) => {
                    next = Some(request);
                    break;
                }
                Err(_) => break,
            }
        }
        calls.fetch_add(1, Ordering::Relaxed);
        flush(&redis, &inflight, batch).await;
    }
}

/// One ack.lua call for `batch`; answers each request.
async fn flush(redis: &Redis, inflight: &str, batch: Vec<Request>) {
    let acks: Vec<ack::Ack<'_>> = batch
        .iter()
        .map(|r| ack::Ack { frame: r.frame.clone(), reply: r.reply.as_ref().map(|(k, e)| (k.as_str(), e.clone())) })
        .collect();
    let args = ack::Args { inflight, acks: &acks, reply_ttl_ms: batch[0].reply_ttl_ms };
    let result = ack::call(redis, &args).await;
    drop(acks);
    match result {
        Ok(outcomes) => {
            for (request, outcome) in batch.into_iter().zip(outcomes) {
                let _ = request.answer.send(Ok(outcome)); // a caller that has gone needs no answer
            }
        }
        Err(e) => {
            for request in batch {
                let _ = request.answer.send(Err(e.clone()));
            }
        }
    }
}
