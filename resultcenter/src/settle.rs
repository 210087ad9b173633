//! One settle (or refund) job: settle the match's open bets shard by shard (each shard's copy of
//! the match says whether it may), splitting a big match's shards across consumers; the part that
//! finds every shard empty finishes the match in the catalogue (docs/scaling.md).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::bail;
use common::config::ResultcenterConfig;
use common::events::SettleJob;
use common::shards::SHARDS;
use common::store::{match_finish, settle_batch};
use common::{Redis, Shutdown, bets, matches};
use fred::prelude::*;
use protocol::matches::{Action, Job, transition};

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

/// The shards part `part` of `parts` settles.
fn shards_of(part: u32, parts: u32) -> impl Iterator<Item = u16> {
    let parts = parts.max(1);
    (0..SHARDS).filter(move |s| u32::from(*s) % parts == part % parts)
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
    if !transition(chain[0]).from.contains(&m.state) {
        // A job replayed after its match finished, or one for a match in another state.
        tracing::info!(state = m.state.code(), "the match is not in a state this job settles; job done");
        return Ok(Outcome::Done);
    }
    let (part, parts) = if job.helper { (job.part, job.parts) } else { (0, split(ctx, job, mid).await?) };
    if !job.helper {
        tracing::info!(parts, "settling");
    }
    let started = Instant::now();
    let shards = async {
        let mut settled_here = 0u64;
        for shard in shards_of(part, parts) {
            match settle_shard(ctx, job_kind, chain, mid, shard, shutdown).await? {
                Some(n) => settled_here += n,
                None => return anyhow::Ok(None),
            }
        }
        Ok(Some(settled_here))
    };
    let (settled, written) = common::written::tracking(shards).await;
    let Some(settled_here) = settled? else { return Ok(Outcome::Interrupted) };
    // With `redis.wait_replicas`, the match is finished on the shards' sums only once their
    // replicas hold the settlement (a failover then cannot take back what the sums count).
    ctx.redis.replicated(&written).await?;
    // Every shard of this part is empty: finish the match if the other parts are done too.
    let totals = matches::shard_totals(&ctx.redis, &[mid]).await?.remove(0);
    if totals.open > 0 {
        tracing::debug!(bets = settled_here, open = totals.open, "this part is done; another holds the last bets");
        return Ok(Outcome::Done);
    }
    let args = match_finish::Args {
        mid,
        kind: &m.kind,
        finals: chain,
        settled: totals.settled,
        paid: totals.paid,
        now_ms: common::time::now_ms(),
    };
    match match_finish::call(&ctx.redis, &args).await? {
        match_finish::Outcome::Finished { to, .. } => {
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(
                bets = settled_here,
                settled = totals.settled,
                paid = totals.paid,
                state = to.code(),
                elapsed_ms = (secs * 1000.0) as u64,
                rate = (settled_here as f64 / secs.max(1e-9)) as u64,
                "match finished"
            );
            // The shards' copies follow (a failure leaves them at "settling", which takes no bet:
            // the match's next transition copies it again).
            if let Err(e) = matches::copy_to_shards(&ctx.redis, mid).await {
                tracing::warn!(error = %e, "could not copy the finished match to every shard; its next change will");
            }
        }
        match_finish::Outcome::NotFinishable { state } => {
            tracing::debug!(state = state.code(), "another part finished the match");
        }
        match_finish::Outcome::NotFound => tracing::warn!("the match went away while settling"),
    }
    Ok(Outcome::Done)
}

/// Splits a big match: copies of the job let other consumers (and processes) settle a share of the
/// shards alongside this one. The number of parts (1: not split).
async fn split(ctx: &Ctx, job: &SettleJob, mid: u64) -> anyhow::Result<u32> {
    let parts = ctx.cfg.split_into.clamp(1, usize::from(SHARDS)) as u32;
    if parts < 2 {
        return Ok(1);
    }
    let open = matches::shard_totals(&ctx.redis, &[mid]).await?.remove(0).open;
    if open <= ctx.cfg.split_above {
        return Ok(1);
    }
    let helpers: Vec<bytes::Bytes> = (1..parts)
        .map(|part| {
            let copy = SettleJob { helper: true, part, parts, ..job.clone() };
            rmp_serde::to_vec_named(&copy).map(bytes::Bytes::from)
        })
        .collect::<Result<_, _>>()?;
    let _: i64 = ctx.redis.pool.rpush(ctx.redis.keys.settle(), helpers).await?;
    tracing::info!(match_id = mid, open, parts, "split a big match across consumers");
    Ok(parts)
}

/// Settles shard `shard`'s open bets of match `mid` in batches until none is left: the bets settled
/// here, or None when shutdown came between batches. A shard whose copy lags the catalogue (a copy
/// that failed after the transition) is copied once and tried again; still lagging, the job fails
/// (and is retried).
async fn settle_shard(
    ctx: &Ctx,
    job: Job,
    chain: &[Action],
    mid: u64,
    shard: u16,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<u64>> {
    let batch = ctx.cfg.batch as u64;
    let (mut cursor, mut settled_here, mut copied) = (0u64, 0u64, false);
    // The walk pages the open bets with HSCAN; a bet another part settled first is skipped by the
    // script (no longer open).
    loop {
        if shutdown.is_cancelled() {
            return Ok(None);
        }
        let (bets, next) = bets::open_page(&ctx.redis, shard, mid, cursor, batch).await?;
        cursor = next;
        let args = settle_batch::Args { mid, shard, job, now_ms: common::time::now_ms(), finals: chain, bets: &bets };
        let lag = match settle_batch::call(&ctx.redis, &args).await? {
            settle_batch::Outcome::Settled { settled, remaining } => {
                settled_here += settled;
                ctx.stats.bets.fetch_add(settled, Ordering::Relaxed);
                metrics::counter!("matchday_settle_bets_total").increment(settled);
                tracing::debug!(shard, settled, remaining, "batch");
                if remaining == 0 {
                    return Ok(Some(settled_here));
                }
                continue;
            }
            // No copy and nothing open: no bet was ever placed in this shard.
            settle_batch::Outcome::NoCopy { remaining: 0 } => return Ok(Some(settled_here)),
            settle_batch::Outcome::NoCopy { .. } => "no copy".to_owned(),
            settle_batch::Outcome::NotSettleable { state, .. } => format!("state {state}"),
        };
        if copied {
            bail!("shard {shard}'s copy of match {mid} is at {lag} though the catalogue is settling");
        }
        tracing::info!(shard, lag, "the shard's copy lags the catalogue; copying the match again");
        matches::copy_to_shards(&ctx.redis, mid).await?;
        copied = true;
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

    #[test]
    fn the_parts_of_a_split_job_take_every_shard_once() {
        for parts in [0u32, 1, 2, 3, 8, 64] {
            let mut seen: Vec<u16> = (0..parts.max(1)).flat_map(|p| shards_of(p, parts)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..SHARDS).collect::<Vec<_>>(), "{parts} parts");
        }
    }
}
