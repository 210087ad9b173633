//! One consumer of `q:notify`: take a batch of events, handle them one after another (so a user's
//! pushes from one batch keep their order), ack each. Checks for shutdown only between batches, so
//! an event it has taken is always finished.
//!
//! An event that cannot be decoded goes to the dead list at once. An event whose handler fails stays
//! inflight and is handled again after a backoff: for as long as it takes while Redis is away, and
//! `queue.max_attempts` times for any other failure (a script error), after which it goes to the
//! dead list too.

use std::time::Duration;

use bytes::Bytes;
use common::Shutdown;
use common::events::Event;
use common::queue::Consumer;
use tracing::Instrument;

use crate::handlers;
use crate::{Ctx, Stats};

/// What became of one event.
enum Outcome {
    /// Handled (or nothing to do): ack it.
    Done,
    /// Moved to the dead list.
    Dead,
    /// Not handled; it stays inflight.
    Failed,
}

pub async fn run(ctx: Ctx, mut consumer: Consumer, shutdown: Shutdown) {
    let mut backoff = Duration::from_millis(100);
    // The event that failed last, and how many times in a row.
    let mut failing: Option<(Bytes, u32)> = None;
    while !shutdown.is_cancelled() {
        let events = match consumer.take().await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    retry_ms = backoff.as_millis() as u64,
                    "cannot take events; retrying"
                );
                if pause(&shutdown, &mut backoff).await {
                    break;
                }
                continue;
            }
        };
        for frame in events {
            match handle(&ctx, &consumer, &frame, &mut failing).await {
                Outcome::Done | Outcome::Dead => backoff = Duration::from_millis(100),
                Outcome::Failed => {
                    // The rest of the batch stays inflight too; the next take returns it, in order.
                    consumer.mark_recover();
                    pause(&shutdown, &mut backoff).await;
                    break;
                }
            }
        }
    }
    if let Err(e) = consumer.leave().await {
        tracing::warn!(error = format!("{e:#}"), "cannot unregister the consumer");
    }
}

/// Sleeps for the backoff (doubling it, up to 2 s); true if shutdown came first.
async fn pause(shutdown: &Shutdown, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(Duration::from_secs(2));
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}

async fn handle(ctx: &Ctx, consumer: &Consumer, frame: &Bytes, failing: &mut Option<(Bytes, u32)>) -> Outcome {
    let event: Event = match rmp_serde::from_slice(frame) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, bytes = frame.len(), "undecodable event moved to the dead list; inspect it");
            return dead_letter(ctx, consumer, frame).await;
        }
    };
    let kind = handlers::kind(&event);
    let span = tracing::info_span!("event", event.kind = kind);
    finish(ctx, consumer, frame, &event, failing).instrument(span).await
}

/// Handles a decoded event and acks it (inside the event's span).
async fn finish(
    ctx: &Ctx,
    consumer: &Consumer,
    frame: &Bytes,
    event: &Event,
    failing: &mut Option<(Bytes, u32)>,
) -> Outcome {
    match handlers::handle(ctx, event).await {
        Ok(()) => match consumer.ack(frame, None).await {
            Ok(acked) => {
                if !acked {
                    tracing::warn!("event was taken back by the reaper before the ack; it may be pushed twice");
                }
                *failing = None;
                Stats::add(&ctx.stats.handled, 1);
                metrics::counter!("matchday_push_events_total", "kind" => handlers::kind(event)).increment(1);
                Outcome::Done
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "ack failed; the event will be handled again");
                Outcome::Failed
            }
        },
        Err(e) if transient(&e) => {
            // Redis is away: not the event's fault, so it is not counted against it.
            tracing::warn!(error = format!("{e:#}"), "cannot reach Redis; the event will be handled again");
            Outcome::Failed
        }
        Err(e) => {
            let attempts = match failing.take() {
                Some((f, n)) if f == *frame => n + 1,
                _ => 1,
            };
            if attempts >= ctx.max_attempts {
                tracing::error!(
                    error = format!("{e:#}"),
                    attempts,
                    "event failed every attempt; moved to the dead list"
                );
                return dead_letter(ctx, consumer, frame).await;
            }
            tracing::warn!(error = format!("{e:#}"), attempts, "event failed; it will be handled again");
            *failing = Some((frame.clone(), attempts));
            Outcome::Failed
        }
    }
}

/// A failure to reach Redis (as opposed to one of the event itself, such as a script error).
fn transient(e: &anyhow::Error) -> bool {
    use fred::error::ErrorKind::*;
    e.chain().any(|cause| {
        cause
            .downcast_ref::<fred::error::Error>()
            .is_some_and(|f| matches!(f.kind(), IO | Timeout | Canceled | Backpressure | Cluster | Routing))
    })
}

async fn dead_letter(ctx: &Ctx, consumer: &Consumer, frame: &Bytes) -> Outcome {
    match consumer.dead_letter(frame).await {
        Ok(_) => {
            Stats::add(&ctx.stats.dead, 1);
            metrics::counter!("matchday_push_events_dead_total").increment(1);
            Outcome::Dead
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot move the event to the dead list; retrying");
            Outcome::Failed
        }
    }
}
