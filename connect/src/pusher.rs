//! The node's pusher: every frame its connections forward goes onto the group queue `q:c2l:{group}`
//! through here, gathered (issue 19). The first frame is pushed at once; the frames that arrive
//! while pushes are in flight go together, in their order of arrival, in the next
//! `LPUSH q:c2l:{group} e1 e2 ...` (up to [`MAX_BATCH`]), so a busy node pays one command for many
//! frames and an idle one waits for nothing (no timer). At most [`IN_FLIGHT`] pushes are in flight
//! at once.
//!
//! Each frame is answered with the queue's length that its LPUSH returned (for the backlog) or
//! with the error (the connection answers code 6). A push is sent once, failing fast as a single
//! frame's was (no replay after a reconnect): a frame reaches the queue at most once.
//!
//! A connection waits for its frame's answer before it reads its next frame, so two of its frames
//! are never in pushes at once: they reach the queue in the order it sent them, whatever order
//! concurrent pushes land in.

use std::sync::Arc;

use bytes::Bytes;
use common::Redis;
use fred::error::{Error, ErrorKind};
use fred::prelude::*;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use crate::Stats;

/// The most frames in one LPUSH.
pub const MAX_BATCH: usize = 512;
/// Pushes in flight at once; frames that come meanwhile wait for the next. 1, 2 and 4 measured
/// alike within the noise (`bench bets --clients 200`, 3 alternating runs each: 12,571, 12,962 and
/// 12,586 bets/s on average, ~16 frames per LPUSH); 2 keeps a push going while one is answered.
pub const IN_FLIGHT: usize = 2;
/// Frames handed over and not yet taken by the pusher, beyond which `push` waits for room.
const WAITING: usize = 4 * MAX_BATCH;

/// One frame handed to the pusher.
struct Request {
    element: Bytes,
    answer: oneshot::Sender<Result<u64, Error>>,
}

/// Where connections hand their frames. Cheap to share (the node holds one).
pub struct Pusher {
    requests: mpsc::Sender<Request>,
}

/// The pusher's task, spawned by the node once it runs ([`PushLoop::run`]).
pub struct PushLoop {
    requests: mpsc::Receiver<Request>,
    redis: Redis,
    queue: String,
    stats: Arc<Stats>,
}

/// A pusher for `queue` and its loop; the loop ends once the pusher is dropped and every frame
/// handed over is answered.
pub fn pusher(redis: &Redis, queue: &str, stats: Arc<Stats>) -> (Pusher, PushLoop) {
    let (requests, received) = mpsc::channel(WAITING);
    let task = PushLoop { requests: received, redis: redis.clone(), queue: queue.to_owned(), stats };
    (Pusher { requests }, task)
}

impl Pusher {
    /// Pushes `element` onto the group queue with whatever other frames are waiting; the queue's
    /// length after that push, or why the frame was not queued.
    pub async fn push(&self, element: Vec<u8>) -> Result<u64, Error> {
        let (answer, answered) = oneshot::channel();
        let stopped = || Error::new(ErrorKind::Canceled, "connect's pusher has stopped");
        self.requests.send(Request { element: Bytes::from(element), answer }).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

impl PushLoop {
    /// Pushes what is handed over until the [`Pusher`] is dropped, then answers what is in flight.
    pub async fn run(self) {
        let PushLoop { mut requests, redis, queue, stats } = self;
        let mut pushing = FuturesUnordered::new();
        loop {
            tokio::select! {
                got = requests.recv(), if pushing.len() < IN_FLIGHT => {
                    let Some(first) = got else { break };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match requests.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    stats.queue_pushed();
                    pushing.push(push(&redis, &queue, batch));
                }
                Some(()) = pushing.next(), if !pushing.is_empty() => {}
            }
        }
        while pushing.next().await.is_some() {}
    }
}

/// One LPUSH of `batch`'s frames, in their order (the first is taken first); answers each.
async fn push(redis: &Redis, queue: &str, batch: Vec<Request>) {
    let (elements, answers): (Vec<Bytes>, Vec<_>) = batch.into_iter().map(|r| (r.element, r.answer)).unzip();
    let pushed: Result<i64, Error> = redis.pool.with_options(&redis.fail_fast()).lpush(queue, elements).await;
    let answer = pushed.map(|len| len.max(0) as u64);
    for to in answers {
        let _ = to.send(answer.clone()); // a connection that has gone needs no answer
    }
}
