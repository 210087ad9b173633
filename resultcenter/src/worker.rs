//! The handler of `q:settle:{g}`, run by the consumer runtime (`common::consumer`, shape `InOrder`, one
//! job at a time): acked when the match is done, left inflight and retried when Redis failed, and
//! left inflight on shutdown between batches (resumed by the next start, or by the reaper).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use common::Shutdown;
use common::consumer::{Outcome, Recorded};
use common::events::SettleJob;

use crate::settle::{self, Ctx};

/// Runs settle jobs.
pub struct Jobs {
    pub ctx: Ctx,
    pub shutdown: Shutdown,
}

impl common::consumer::Handler for Jobs {
    async fn handle(&self, frame: &Bytes) -> Outcome {
        let job = match rmp_serde::from_slice::<SettleJob>(frame) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, "undecodable settle job moved to the dead list");
                return Outcome::Dead;
            }
        };
        let (settled, written) = common::written::tracking(settle::run(&self.ctx, &job, &self.shutdown)).await;
        // With `redis.wait_replicas`, a job is acked only once the replicas hold what it did.
        let settled = match settled {
            Ok(settle::Outcome::Done) => {
                self.ctx.redis.replicated(&written).await.map(|_| settle::Outcome::Done).map_err(Into::into)
            }
            other => other,
        };
        match settled {
            Ok(settle::Outcome::Done) => Outcome::Ack(None),
            // Shutdown between batches: the job stays inflight and is resumed where it stopped.
            Ok(settle::Outcome::Interrupted) => Outcome::Retry,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "settle job failed; retrying");
                Outcome::Retry
            }
        }
    }

    fn recorded(&self, _frame: &Bytes, what: Recorded) {
        if let Recorded::Acked { .. } = what {
            self.ctx.stats.handled.fetch_add(1, Ordering::Relaxed);
        }
    }
}
