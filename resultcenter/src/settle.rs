//! One settle (or refund) job: split a big match across consumers, then settle its open bets in
//! batches until none is left; the batch that takes the last one finishes the match.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use common::config::ResultcenterConfig;
use common::events::SettleJob;
use common::store::settle_batch;
use common::{Redis, Shutdown, bets, matches};
use fred::prelude::*;
use protocol::matches::{Action, Job};

use crate::Stats;

#[derive(Clone)]
pub struct Ctx {
    pub redis: Redis,
    pub cfg: ResultcenterConfig,
    pub stats: Arc<Stats>,
}

pub enum Outcome {
    /// Nothing left to do for this job (the match is finished, or was never this job's to settle).
    Done,
    /// Stopped between batches for shutdown.
    Interrupted,
}

/// A job kind ("settle", "refund") and the final transitions that finish its match, in order.
fn finals(kind: &str) -> Option<(Job, &'static [Action])> {
    match kind {
        "settle" => Some((Job::Settle, &[Action::Settled, Action::Credited])),
        "refund" => Some((Job::Refund, &[Action::Refunded])),
        _ => None,
    }
}

pub async fn run(ctx: &Ctx, job: &SettleJob, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let span = tracing::info_span!("settle", match_id = job.match_id, kind = %job.kind, part = job.part);
    tracing::Instrument::instrument(settle(ctx, job, shutdown), span).await
}

async fn settle(ctx: &Ctx, job: &SettleJob, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let mid = job.match_id;
    let Some((job_kind, chain)) = finals(&job.kind) else {
        tracing::error!(match_id = mid, kind = %job.kind, "unknown settle job kind; dropped");
        return Ok(Outcome::Done);
    };
    let Some(m) = matches::load(&ctx.redis, mid).await? else {
        tracing::error!(match_id = mid, "settle job for a match that does not exist; dropped");
        return Ok(Outcome::Done);
    };
    let k = &ctx.redis.keys;
    let open: u64 = ctx.redis.pool.hlen(k.match_open(mid)).await?;
    if !job.helper && open > ctx.cfg.split_above && ctx.cfg.split_into > 1 {
        // Split: copies of the job let other consumers (and processes) settle this match alongside.
        let helpers: Vec<bytes::Bytes> = (1..ctx.cfg.split_into)
            .map(|part| {
                let copy = SettleJob { helper: true, part: part as u32, ..job.clone() };
                rmp_serde::to_vec_named(&copy).map(bytes::Bytes::from)
            })
            .collect::<Result<_, _>>()?;
        let _: i64 = ctx.redis.pool.rpush(k.settle(), helpers).await?;
        tracing::info!(match_id = mid, open, parts = ctx.cfg.split_into, "split a big match across consumers");
    }
    if !job.helper {
        tracing::info!(open, "settling");
    }
    let batch = ctx.cfg.batch as u64;
    let started = Instant::now();
    let mut settled_here = 0u64;
    // The job walks the open bets with HSCAN; the copies of a split job take random ones, so parts
    // settling the match side by side rarely pick the same bets (a bet two parts pick is settled
    // by the first: the script skips what is no longer open).
    let mut cursor = 0u64;
    loop {
        if shutdown.is_cancelled() {
            return Ok(Outcome::Interrupted);
        }
        let bets = if job.helper {
            bets::open_sample(&ctx.redis, mid, batch).await?
        } else {
            let (page, next) = bets::open_page(&ctx.redis, mid, cursor, batch).await?;
            cursor = next;
            page
        };
        let args = settle_batch::Args {
            mid,
            kind: &m.kind,
            job: job_kind,
            now_ms: common::time::now_ms(),
            finals: chain,
            bets: &bets,
        };
        match settle_batch::call(&ctx.redis, &args).await? {
            settle_batch::Outcome::NotSettleable { remaining, state } => {
                tracing::warn!(remaining, state, "the match is not in a state this job may settle; job dropped");
                return Ok(Outcome::Done);
            }
            settle_batch::Outcome::Settled { settled, remaining, finished } => {
                settled_here += settled;
                ctx.stats.bets.fetch_add(settled, Ordering::Relaxed);
                metrics::counter!("matchday_settle_bets_total").increment(settled);
                tracing::debug!(settled, remaining, "batch");
                if finished {
                    let secs = started.elapsed().as_secs_f64();
                    tracing::info!(
                        bets = settled_here,
                        elapsed_ms = (secs * 1000.0) as u64,
                        rate = (settled_here as f64 / secs.max(1e-9)) as u64,
                        "match finished"
                    );
                    return Ok(Outcome::Done);
                }
                if remaining == 0 || (job.helper && bets.is_empty()) {
                    // Another consumer holds the last bets (or the match already finished).
                    tracing::debug!(bets = settled_here, "nothing left for this job");
                    return Ok(Outcome::Done);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_chains_come_from_the_transition_table() {
        assert_eq!(finals("settle"), Some((Job::Settle, &[Action::Settled, Action::Credited][..])));
        assert_eq!(finals("refund"), Some((Job::Refund, &[Action::Refunded][..])));
        assert_eq!(finals("nonsense"), None);
    }
}
