//! The consumer loop: one job at a time; acked when the match is done, retried when Redis failed.

use std::time::Duration;

use common::Shutdown;
use common::queue::Consumer;

use crate::settle::{self, Ctx};

pub async fn run(ctx: Ctx, mut consumer: Consumer, shutdown: Shutdown) {
    let mut backoff = Duration::from_millis(100);
    'jobs: while !shutdown.is_cancelled() {
        let jobs = match consumer.take().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    retry_ms = backoff.as_millis() as u64,
                    "cannot take jobs; retrying"
                );
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        for job in jobs {
            let outcome = match rmp_serde::from_slice::<common::events::SettleJob>(&job) {
                Ok(j) => settle::run(&ctx, &j, &shutdown).await,
                Err(e) => {
                    tracing::error!(error = %e, "undecodable settle job moved to the dead list");
                    if let Err(e) = consumer.dead_letter(&job).await {
                        tracing::warn!(error = format!("{e:#}"), "cannot dead-letter a job");
                    }
                    continue;
                }
            };
            match outcome {
                Ok(settle::Outcome::Done) => match consumer.ack(&job, None).await {
                    Ok(_) => {
                        ctx.stats.handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), "ack failed; the job will run again (harmlessly)");
                        consumer.mark_recover();
                    }
                },
                // Shutdown between batches: leave the job inflight; it is resumed from the inflight
                // list by this consumer's next start, or by the reaper.
                Ok(settle::Outcome::Interrupted) => break 'jobs,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "settle job failed; retrying");
                    consumer.mark_recover();
                    tokio::select! {
                        _ = shutdown.cancelled() => break 'jobs,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
    if let Err(e) = consumer.leave().await {
        tracing::warn!(error = format!("{e:#}"), "cannot unregister the consumer");
    }
}
