//! The handler of `q:notify:{…}`, run by the consumer runtime (`common::consumer`, shape `InOrder`): a
//! batch of events is handled one after another (so a user's pushes from one batch keep their
//! order), each acked; shutdown is checked only between batches, so an event taken is finished.
//!
//! An event that cannot be decoded goes to the dead list at once. An event whose handler fails stays
//! inflight and is handled again after a backoff: for as long as it takes while Redis is away, and
//! `queue.max_attempts` times for any other failure (a script error), after which it goes to the
//! dead list too.

use std::sync::Mutex;

use bytes::Bytes;
use common::consumer::{Outcome, Recorded};
use common::events::Event;
use common::store::StoreError;
use tracing::Instrument;

use crate::handlers;
use crate::{Ctx, Stats};

/// The handler of one consumer (its own count of failures in a row).
pub struct Events {
    ctx: Ctx,
    /// The event that failed last, and how many times in a row.
    failing: Mutex<Option<(Bytes, u32)>>,
}

impl Events {
    pub fn new(ctx: Ctx) -> Events {
        Events { ctx, failing: Mutex::new(None) }
    }

    /// Handles a decoded event (inside the event's span).
    async fn handle_event(&self, frame: &Bytes, event: &Event) -> Outcome {
        match handlers::handle(&self.ctx, event).await {
            Ok(()) => Outcome::Ack(None),
            Err(e) if transient(&e) => {
                // Redis is away: not the event's fault, so it is not counted against it.
                tracing::warn!(error = format!("{e:#}"), "cannot reach Redis; the event will be handled again");
                Outcome::Retry
            }
            Err(e) => {
                let mut failing = self.failing.lock().expect("failing event");
                let attempts = match failing.take() {
                    Some((f, n)) if f == *frame => n + 1,
                    _ => 1,
                };
                if attempts >= self.ctx.max_attempts {
                    tracing::error!(
                        error = format!("{e:#}"),
                        attempts,
                        "event failed every attempt; moved to the dead list"
                    );
                    return Outcome::Dead;
                }
                tracing::warn!(error = format!("{e:#}"), attempts, "event failed; it will be handled again");
                *failing = Some((frame.clone(), attempts));
                Outcome::Retry
            }
        }
    }
}

impl common::consumer::Handler for Events {
    async fn handle(&self, frame: &Bytes) -> Outcome {
        let event: Event = match rmp_serde::from_slice(frame) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, bytes = frame.len(), "undecodable event moved to the dead list; inspect it");
                return Outcome::Dead;
            }
        };
        let span = tracing::info_span!("event", event.kind = handlers::kind(&event));
        self.handle_event(frame, &event).instrument(span).await
    }

    fn recorded(&self, frame: &Bytes, what: Recorded) {
        let stats = &self.ctx.stats;
        match what {
            Recorded::Acked { inflight } => {
                if !inflight {
                    tracing::warn!("event was taken back by the reaper before the ack; it may be pushed twice");
                }
                *self.failing.lock().expect("failing event") = None;
                Stats::add(&stats.handled, 1);
                let kind = rmp_serde::from_slice::<Event>(frame).map_or("unknown", |e| handlers::kind(&e));
                metrics::counter!("matchday_push_events_total", "kind" => kind).increment(1);
            }
            Recorded::Dead { .. } => {
                Stats::add(&stats.dead, 1);
                metrics::counter!("matchday_push_events_dead_total").increment(1);
            }
        }
    }
}

/// A failure to reach Redis (as opposed to one of the event itself, such as a script error): a
/// transient [`StoreError`] (a binding's, or a read such as `common::matches::load`) or a fred error
/// that `common::store::is_transient` calls transient, anywhere in the chain.
fn transient(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<StoreError>().is_some_and(StoreError::is_transient)
            || cause.downcast_ref::<fred::error::Error>().is_some_and(common::store::is_transient)
    })
}

#[cfg(test)]
mod tests {
    use fred::error::{Error as RedisError, ErrorKind};

    use super::*;

    #[test]
    fn redis_away_is_transient_in_any_wrapping_and_a_refusal_is_not() {
        let timeout = || RedisError::new(ErrorKind::Timeout, "Request timed out.");
        let refused = || RedisError::new(ErrorKind::Unknown, "ERR bad stake");
        assert!(transient(&anyhow::Error::from(timeout())));
        assert!(transient(&anyhow::Error::from(StoreError::from(timeout())).context("reminder")));
        assert!(transient(&anyhow::Error::from(StoreError::from(RedisError::new(ErrorKind::Unknown, "LOADING")))));
        assert!(!transient(&anyhow::Error::from(StoreError::from(refused()))));
        assert!(!transient(&anyhow::Error::from(refused())));
        assert!(!transient(&anyhow::anyhow!("the online index kept changing")));
    }
}
