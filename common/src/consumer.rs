//! The consumer runtime: claim → handle → ack, written once for every queue-consuming service.
//!
//! A service supplies what to do with a frame — a [`Handler`] (one frame → [`Outcome`]) or a
//! [`BatchHandler`] (a batch → [`BatchOutcome`]) — and the runtime does the rest on one
//! [`Consumer`]: takes frames, hands them over, acks (with the reply in the same step), moves frames
//! to the dead list, backs off on Redis errors ([`Backoff`]), re-reads its inflight list after a
//! failure, and on shutdown takes no more, finishes what it holds and unregisters.
//!
//! Three shapes, each kept as the services measured it:
//! - [`run`] with [`Shape::Concurrent`] (logic): up to `in_hand` frames in hand, each in its own
//!   task and acked as soon as it is handled; more are taken once half are done. The acks that
//!   finish while an ack call is in flight go together in the next one ([`Acker`]), so a busy
//!   consumer pays one `ack.lua` call for many frames.
//! - [`run`] with [`Shape::InOrder`] (pushsvr, resultcenter): a batch at a time, one frame after
//!   another; a frame left for redelivery holds back the rest of its batch, so order is kept.
//! - [`run_batches`] (dbsvr): a batch gathered by size or wait, handled whole, acked whole.
//!
//! Every frame's ack is awaited by the task that handled it, and on shutdown every such task is
//! finished before the consumer leaves ([`Consumer::leave`] then sends whatever its acker still
//! holds), so no ack is lost and the inflight list is judged only once all have been answered.
//!
//! The start/stop around it (heartbeat, reaper, registration) is `service::run_consumers`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::Shutdown;
use crate::queue::{Acker, Consumer};
use crate::retry::Backoff;

/// What became of one frame.
#[derive(Debug)]
pub enum Outcome {
    /// Handled: ack it, pushing the reply (if any) in the same atomic step.
    Ack(Option<Reply>),
    /// It can never be handled: move it to the dead list.
    Dead,
    /// Not handled now (Redis away, shutdown mid-job): leave it inflight; it is taken again.
    Retry,
}

/// A reply: `element` pushed to the list `key` when its frame is acked.
#[derive(Debug)]
pub struct Reply {
    pub key: String,
    pub element: Vec<u8>,
}

/// What the runtime recorded in Redis for a frame, told to [`Handler::recorded`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Acked. `inflight` false: the reaper had taken it back first (no reply was sent; the frame
    /// will be handled again elsewhere).
    Acked { inflight: bool },
    /// Moved to the dead list (`inflight` as above).
    Dead { inflight: bool },
}

/// Handles one frame at a time. One handler may serve many frames at once ([`Shape::Concurrent`]).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, frame: &Bytes) -> impl Future<Output = Outcome> + Send;

    /// Called once the outcome is recorded (for counters); not called when recording failed.
    fn recorded(&self, _frame: &Bytes, _what: Recorded) {}
}

/// How a [`run`] consumer holds its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Up to `in_hand` frames at once, each in its own task, acked as soon as it is handled; more
    /// are taken once half are done, and the queue is waited on only when none is left.
    Concurrent { in_hand: usize },
    /// The batch `Consumer::take` returns, one frame after another.
    InOrder,
}

/// How a [`run`] consumer works.
#[derive(Debug)]
pub struct Options {
    pub shape: Shape,
    /// After Redis errors (taking, acking, a frame left for redelivery).
    pub backoff: Backoff,
    /// Reply lists expire this long after the last reply (none: never); see `Acker::with_reply_ttl`.
    pub reply_ttl: Option<Duration>,
}

impl Options {
    pub fn new(shape: Shape) -> Options {
        Options { shape, backoff: Backoff::redis(), reply_ttl: None }
    }
}

/// Runs `consumer` with `handler` until shutdown, then finishes what it holds and unregisters.
pub async fn run<H: Handler>(consumer: Consumer, handler: Arc<H>, options: Options, shutdown: Shutdown) {
    let mut consumer = consumer;
    // Frames taken to fill a concurrent consumer's hand are acked by the acker of the lane taken
    // last: only a one-queue consumer may run that shape.
    debug_assert!(options.shape == Shape::InOrder || consumer.lanes() == 1, "a concurrent consumer serves one queue");
    if let Some(ttl) = options.reply_ttl {
        consumer.set_reply_ttl(ttl);
    }
    let mut worker = Worker { consumer, backoff: options.backoff, shutdown };
    match options.shape {
        Shape::Concurrent { in_hand } => worker.concurrent(handler, in_hand.max(1)).await,
        Shape::InOrder => worker.in_order(&*handler).await,
    }
    worker.leave().await;
}

/// How a [`run_batches`] consumer gathers a batch: up to `max` frames, waiting at most `wait` for
/// more once the first has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gather {
    pub max: usize,
    pub wait: Duration,
}

/// What became of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Handled (every frame written, or put on the dead list by the handler): ack them all.
    Ack,
    /// Not handled (shutdown while the handler waited): leave the batch inflight.
    Retry,
}

/// Handles a gathered batch as one (dbsvr: one MySQL transaction).
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, frames: &[Bytes]) -> impl Future<Output = BatchOutcome> + Send;
}

/// Runs `consumer` with `handler` until shutdown, a gathered batch at a time; then unregisters.
pub async fn run_batches<H: BatchHandler>(
    consumer: Consumer,
    handler: Arc<H>,
    gather: Gather,
    backoff: Backoff,
    shutdown: Shutdown,
) {
    let mut worker = Worker { consumer, backoff, shutdown };
    while let Some(mut frames) = worker.take().await {
        if frames.is_empty() {
            continue;
        }
        let deadline = Instant::now() + gather.wait;
        // Whether the inflight list holds exactly `frames`. A claim whose answer was lost (Redis
        // restarting, a dropped connection) may have moved frames into it that the batch does not
        // hold: acking the whole list would drop them unwritten. The batch is then left inflight
        // and the next take reads the whole list back (what was written is written again: the
        // handler is idempotent).
        let mut whole = true;
        while frames.len() < gather.max && Instant::now() < deadline {
            match worker.consumer.take_more(gather.max - frames.len()).await {
                Ok(more) if !more.is_empty() => frames.extend(more),
                Ok(_) => tokio::time::sleep(Duration::from_millis(2).min(deadline - Instant::now())).await,
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "cannot take more frames; the batch is read back after it is handled"
                    );
                    whole = false;
                    break;
                }
            }
        }
        match handler.handle(&frames).await {
            BatchOutcome::Ack if !whole => {
                worker.backoff.reset();
                worker.consumer.mark_recover();
            }
            BatchOutcome::Ack => {
                worker.backoff.reset();
                match worker.consumer.ack_all().await {
                    Ok(true) => {}
                    Ok(false) => worker.consumer.mark_recover(),
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), "ack failed; the batch will be handled again");
                        worker.consumer.mark_recover();
                    }
                }
            }
            BatchOutcome::Retry => {
                worker.consumer.mark_recover();
                if worker.backoff.pause(&worker.shutdown).await {
                    break;
                }
            }
        }
    }
    worker.leave().await;
}

struct Worker {
    consumer: Consumer,
    backoff: Backoff,
    shutdown: Shutdown,
}

impl Worker {
    /// The next frames (empty when none came in time), retrying Redis errors with the backoff;
    /// None once shutdown has come.
    async fn take(&mut self) -> Option<Vec<Bytes>> {
        while !self.shutdown.is_cancelled() {
            match self.consumer.take().await {
                Ok(frames) => return Some(frames),
                Err(e) => self.retry_later(e).await,
            }
        }
        None
    }

    /// After a failed take: logs and backs off (until shutdown at the latest).
    async fn retry_later(&mut self, e: anyhow::Error) {
        let delay = self.backoff.next_delay();
        tracing::warn!(error = format!("{e:#}"), retry_ms = delay.as_millis() as u64, "cannot take frames; retrying");
        crate::retry::sleep(delay, &self.shutdown).await;
    }

    /// One batch at a time, one frame after another; checks for shutdown only between batches.
    async fn in_order<H: Handler>(&mut self, handler: &H) {
        while let Some(frames) = self.take().await {
            // The frames of one take come from one lane: its acker records them all.
            let acker = self.consumer.acker();
            for frame in frames {
                let outcome = handler.handle(&frame).await;
                if record(handler, &acker, &frame, outcome).await {
                    self.backoff.reset();
                } else {
                    // The rest of the batch stays inflight too; the next take returns it, in order.
                    self.consumer.mark_recover();
                    self.backoff.pause(&self.shutdown).await;
                    break;
                }
            }
        }
    }

    /// Up to `in_hand` frames in hand, each in its own task; on shutdown, finishes every one.
    async fn concurrent<H: Handler>(&mut self, handler: Arc<H>, in_hand: usize) {
        let mut running: JoinSet<bool> = JoinSet::new();
        loop {
            // Take more once half the frames in hand are done: block only when none is left, so a
            // frame never waits behind the slowest of a batch, and claims stay one per half batch
            // under load.
            if !self.shutdown.is_cancelled() && running.len() <= in_hand / 2 {
                let taken = if running.is_empty() {
                    self.consumer.take().await
                } else {
                    self.consumer.take_more(in_hand - running.len()).await
                };
                match taken {
                    Ok(frames) => {
                        self.backoff.reset();
                        let acker = self.consumer.acker();
                        for frame in frames {
                            let (handler, acker) = (handler.clone(), acker.clone());
                            running.spawn(
                                async move {
                                    let outcome = handler.handle(&frame).await;
                                    record(&*handler, &acker, &frame, outcome).await
                                }
                                .in_current_span(),
                            );
                        }
                    }
                    Err(e) if running.is_empty() => self.retry_later(e).await,
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), "cannot take more frames; finishing those in hand")
                    }
                }
            }
            // On shutdown: finish every frame in hand, take no more.
            match running.join_next().await {
                Some(Ok(true)) => {}
                Some(Ok(false)) => self.consumer.mark_recover(),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "a frame's task failed; its frame is taken again from the inflight list");
                    self.consumer.mark_recover();
                }
                None if self.shutdown.is_cancelled() => break,
                None => {}
            }
        }
    }

    async fn leave(self) {
        if let Err(e) = self.consumer.leave().await {
            tracing::warn!(error = format!("{e:#}"), "cannot unregister the consumer");
        }
    }
}

/// Acks or dead-letters `frame` as `outcome` says; false if it stays inflight (left for
/// redelivery, or Redis failed), so the consumer re-reads its inflight list.
async fn record<H: Handler>(handler: &H, acker: &Acker, frame: &Bytes, outcome: Outcome) -> bool {
    let recorded = match outcome {
        Outcome::Ack(reply) => {
            let reply = reply.as_ref().map(|r| (r.key.as_str(), r.element.as_slice()));
            acker.ack(frame, reply).await.map(|inflight| Recorded::Acked { inflight })
        }
        Outcome::Dead => acker.dead_letter(frame).await.map(|inflight| Recorded::Dead { inflight }),
        Outcome::Retry => return false,
    };
    match recorded {
        Ok(what) => {
            handler.recorded(frame, what);
            true
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot ack the frame; it will be handled again");
            false
        }
    }
}
