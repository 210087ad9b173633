//! One settle (or refund) job: split a big match across consumers, then settle its open bets in
//! batches until none is left; the batch that takes the last one finishes the match.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use common::config::ResultcenterConfig;
use common::events::SettleJob;
use common::scripts::ScriptName;
use common::{Redis, Shutdown, matches};
use fred::prelude::*;
use protocol::matches::{Action, transition};

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

/// The final transitions of a job kind, from the table, as settle_batch.lua takes them: the steps
/// ("state:action", ...) and the states the first one is allowed from ("3").
fn finals(kind: &str) -> Option<(String, String)> {
    let chain: &[Action] = match kind {
        "settle" => &[Action::Settled, Action::Credited],
        "refund" => &[Action::Refunded],
        _ => return None,
    };
    let steps: Vec<String> =
        chain.iter().map(|a| transition(*a)).map(|t| format!("{}:{}", t.to.code(), t.name)).collect();
    let from: Vec<String> = transition(chain[0]).from.iter().map(|s| s.code().to_string()).collect();
    Some((steps.join(","), from.join(",")))
}

pub async fn run(ctx: &Ctx, job: &SettleJob, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let span = tracing::info_span!("settle", match_id = job.match_id, kind = %job.kind, part = job.part);
    tracing::Instrument::instrument(settle(ctx, job, shutdown), span).await
}

async fn settle(ctx: &Ctx, job: &SettleJob, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let mid = job.match_id;
    let Some((to, from)) = finals(&job.kind) else {
        tracing::error!(match_id = mid, kind = %job.kind, "unknown settle job kind; dropped");
        return Ok(Outcome::Done);
    };
    let Some(m) = matches::load(&ctx.redis, mid).await? else {
        tracing::error!(match_id = mid, "settle job for a match that does not exist; dropped");
        return Ok(Outcome::Done);
    };
    let k = &ctx.redis.keys;
    let open_key = k.match_open(mid);
    let open: u64 = ctx.redis.pool.zcard(&open_key).await?;
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
    let mut fixed_keys = vec![k.match_(mid), open_key.clone(), k.outbox(), k.notify()];
    fixed_keys.extend(k.settle_indexes(&m.kind));
    let batch = ctx.cfg.batch as i64;
    let started = Instant::now();
    let mut settled_here = 0u64;
    loop {
        if shutdown.is_cancelled() {
            return Ok(Outcome::Interrupted);
        }
        // Copies of a split job start at different places of the open list, so they rarely collide.
        let offset = (job.part as i64) * batch;
        let mut members: Vec<String> =
            ctx.redis.pool.zrange(&open_key, offset, offset + batch - 1, None, false, None, false).await?;
        if members.is_empty() && offset > 0 {
            members = ctx.redis.pool.zrange(&open_key, 0, batch - 1, None, false, None, false).await?;
        }
        let mut keys = fixed_keys.clone();
        let mut argv: Vec<String> = vec![
            job.kind.clone(),
            common::time::now_ms().to_string(),
            to.clone(),
            from.clone(),
            members.len().to_string(),
        ];
        for member in &members {
            let (bid, uid) = member
                .split_once(':')
                .and_then(|(b, u)| Some((b.parse::<u64>().ok()?, u.parse::<u64>().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("bad open-bet member {member:?} in match {mid}"))?;
            keys.extend([k.bet(bid), k.wallet(uid), k.ledger(uid)]);
            argv.push(member.clone());
        }
        let reply: Vec<i64> = ctx.redis.scripts.call(&ctx.redis.pool, ScriptName::SettleBatch, keys, argv).await?;
        match reply.as_slice() {
            [-1, remaining, state] => {
                tracing::warn!(remaining, state, "the match is not in a state this job may settle; job dropped");
                return Ok(Outcome::Done);
            }
            [settled, remaining, finished] => {
                settled_here += *settled as u64;
                ctx.stats.bets.fetch_add(*settled as u64, Ordering::Relaxed);
                metrics::counter!("matchday_settle_bets_total").increment(*settled as u64);
                tracing::debug!(settled, remaining, "batch");
                if *finished == 1 {
                    let secs = started.elapsed().as_secs_f64();
                    tracing::info!(
                        bets = settled_here,
                        elapsed_ms = (secs * 1000.0) as u64,
                        rate = (settled_here as f64 / secs.max(1e-9)) as u64,
                        "match finished"
                    );
                    return Ok(Outcome::Done);
                }
                if *remaining == 0 || members.is_empty() {
                    // Another consumer holds the last bets (or the match already finished).
                    tracing::debug!(bets = settled_here, "nothing left for this job");
                    return Ok(Outcome::Done);
                }
            }
            other => anyhow::bail!("settle_batch.lua answered {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_chains_come_from_the_transition_table() {
        assert_eq!(finals("settle"), Some(("4:settled,9:credited".into(), "3".into())));
        assert_eq!(finals("refund"), Some(("8:refunded".into(), "6,7".into())));
        assert_eq!(finals("nonsense"), None);
    }
}
