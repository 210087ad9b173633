//! The batch handler of dbsvr, run by the consumer runtime (`common::consumer::run_batches`), which
//! gathers a batch (up to `batch_max` records or `batch_wait_ms`) and acks it once this has written
//! it in one transaction. MySQL away → retry with backoff, holding the batch (nothing
//! is acked, so nothing is lost, even if the process dies). Rows MySQL refuses → written one by one;
//! a record that still fails goes to the dead list with the reason and the rest flows.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::config::DbsvrConfig;
use common::consumer::{BatchHandler, BatchOutcome, Gather};
use common::queue::DeadList;
use common::retry::{self, Backoff};
use common::{Redis, Shutdown};
use fred::prelude::*;
use serde::Serialize;
use sqlx::MySqlPool;

use crate::Stats;
use crate::rows::CreditKind;
use crate::rows::{self, Row};
use crate::write::{self, CreditConflict, WriteError, Written};

#[derive(Clone)]
pub struct Ctx {
    pub redis: Redis,
    pub pool: MySqlPool,
    pub cfg: DbsvrConfig,
    pub stats: Arc<Stats>,
    pub dead: String,
    /// The dead list's cap and TTL (`queue.dead_max`, `queue.dead_ttl_s`).
    pub dead_list: DeadList,
    pub max_attempts: u32,
}

/// What the dead list keeps for a record that could not be written.
#[derive(Serialize)]
struct DeadRecord<'a> {
    reason: &'a str,
    #[serde(with = "serde_bytes_compat")]
    record: &'a [u8],
    ts: u64,
}

mod serde_bytes_compat {
    pub fn serialize<S: serde::Serializer>(b: &&[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
}

/// Writes batches to MySQL, for the consumer runtime (`common::consumer::run_batches`).
pub struct Batches {
    pub ctx: Ctx,
    pub shutdown: Shutdown,
}

impl BatchHandler for Batches {
    async fn handle(&self, frames: &[Bytes]) -> BatchOutcome {
        match flush(&self.ctx, frames, &self.shutdown).await {
            Ok(()) => BatchOutcome::Ack,
            // Shutdown while MySQL was away: the batch stays inflight for the next start / the reaper.
            Err(Stopped) => BatchOutcome::Retry,
        }
    }
}

/// How a consumer gathers a batch: `batch_max` records, or what came within `batch_wait_ms`.
pub fn gather(cfg: &DbsvrConfig) -> Gather {
    Gather { max: cfg.batch_max, wait: Duration::from_millis(cfg.batch_wait_ms) }
}

/// The retry policy while Redis or MySQL is away: `retry_min_ms` doubling to `retry_max_ms`.
pub fn retry_policy(cfg: &DbsvrConfig) -> Backoff {
    Backoff::new(Duration::from_millis(cfg.retry_min_ms), Duration::from_millis(cfg.retry_max_ms))
}

/// A batch left unwritten because shutdown came while MySQL was away.
struct Stopped;

/// Writes one batch, retrying while MySQL is unavailable; Err only on shutdown.
async fn flush(ctx: &Ctx, frames: &[Bytes], shutdown: &Shutdown) -> Result<(), Stopped> {
    // Each record with the rows it writes (a bet's records write several).
    let mut records: Vec<(Vec<Row>, &Bytes)> = Vec::with_capacity(frames.len());
    for f in frames {
        match rows::decode(f) {
            Ok(r) => records.push((r, f)),
            Err(reason) => bury(ctx, f, &reason).await,
        }
    }
    let rows: Vec<Row> = records.iter().flat_map(|(r, _)| r.iter().cloned()).collect();
    let started = Instant::now();
    let mut backoff = retry_policy(&ctx.cfg);
    let written = loop {
        match write_tx(&ctx.pool, &rows).await {
            Ok(written) => break written,
            Err(WriteError::Rows(e)) => {
                tracing::warn!(error = %e, records = records.len(), "MySQL refused a batch; writing its records one by one");
                break one_by_one(ctx, &records, shutdown).await?;
            }
            Err(WriteError::Unavailable(e)) => {
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, held = records.len(),
                    "MySQL is unavailable; holding the batch and retrying");
                if retry::sleep(delay, shutdown).await {
                    return Err(Stopped);
                }
            }
        }
    };
    count_days(ctx, &written.new_bets, shutdown).await;
    hold_conflicts(ctx, &records, &written.conflicts).await;
    ctx.stats.flushed.fetch_add(records.len() as u64, Ordering::Relaxed);
    ctx.stats.batches.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("matchday_dbsvr_records_total").increment(records.len() as u64);
    metrics::histogram!("matchday_dbsvr_batch_seconds").record(started.elapsed().as_secs_f64());
    Ok(())
}

async fn write_tx(pool: &MySqlPool, rows: &[Row]) -> Result<Written, WriteError> {
    let mut tx = pool.begin().await?;
    let written = write::write(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(written)
}

/// Each record in its own transaction; one that MySQL keeps refusing is buried with the reason.
async fn one_by_one(ctx: &Ctx, records: &[(Vec<Row>, &Bytes)], shutdown: &Shutdown) -> Result<Written, Stopped> {
    let mut all = Written::default();
    for (rows, frame) in records {
        let mut attempts = 0;
        let mut backoff = retry_policy(&ctx.cfg);
        loop {
            match write_tx(&ctx.pool, rows).await {
                Ok(written) => {
                    all.new_bets.extend(written.new_bets);
                    all.conflicts.extend(written.conflicts);
                    break;
                }
                Err(WriteError::Rows(e)) => {
                    attempts += 1;
                    if attempts >= ctx.max_attempts {
                        bury(ctx, frame, &e.to_string()).await;
                        break;
                    }
                }
                Err(WriteError::Unavailable(e)) => {
                    tracing::warn!(error = %e, "MySQL is unavailable; retrying");
                    if backoff.pause(shutdown).await {
                        return Err(Stopped);
                    }
                }
            }
        }
    }
    Ok(all)
}

/// Holds the record of each credit MySQL could not take because its order (or grant request) id
/// was credited to another user first: on the dead list with the reason, an ERROR line and
/// `matchday_dbsvr_credit_conflicts_total`, for staff to settle with the payment provider. The
/// coins were credited in Redis (each user's shard keeps its own idempotency record); MySQL keeps
/// the first credit's row, and the held record is the evidence of the second.
async fn hold_conflicts(ctx: &Ctx, records: &[(Vec<Row>, &Bytes)], conflicts: &[CreditConflict]) {
    for c in conflicts {
        metrics::counter!("matchday_dbsvr_credit_conflicts_total").increment(1);
        let what = match c.kind {
            CreditKind::Payment => "payment order",
            CreditKind::Grant => "grant request",
        };
        let reason = format!(
            "{what} {:?} was already credited to user {}; this credit to user {} is held for staff",
            c.id, c.first_uid, c.uid
        );
        let held = records.iter().find(|(rows, _)| {
            rows.iter().any(
                |r| matches!(r, Row::Credit { kind, id, uid, .. } if *kind == c.kind && *id == c.id && *uid == c.uid),
            )
        });
        if let Some((_, frame)) = held {
            bury(ctx, frame, &reason).await;
        }
    }
}

/// Tries to add this many times before giving up on a day's figures (see [`count_days`]).
const COUNT_ATTEMPTS: u32 = 5;

/// Adds the bets first written by this batch (time placed, stake) to their days' figures,
/// `stats:bets:{day}` and `stats:volume:{day}` (gm's dashboard), once the batch is committed — off
/// the bet's path: place_bet.lua no longer counts. Redis away: retried with backoff a few times,
/// then left with an error line (the figures then miss this batch until `matchday restore`, which
/// counts them from MySQL); never counted twice, as a batch written again finds its bets in MySQL.
async fn count_days(ctx: &Ctx, new_bets: &[(u64, i64)], shutdown: &Shutdown) {
    if new_bets.is_empty() {
        return;
    }
    let mut days: std::collections::BTreeMap<u64, (i64, i64)> = std::collections::BTreeMap::new();
    for (ts, stake) in new_bets {
        let day = days.entry(common::time::day_of(*ts)).or_default();
        day.0 += 1;
        day.1 += stake;
    }
    let mut backoff = retry_policy(&ctx.cfg);
    for attempt in 1..=COUNT_ATTEMPTS {
        match add_days(&ctx.redis, &days).await {
            Ok(()) => return,
            Err(e) if attempt == COUNT_ATTEMPTS => {
                tracing::error!(error = %e, bets = new_bets.len(),
                    "cannot add the day's bets and volume; the figures miss them until a restore");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot add the day's bets and volume; retrying");
                if backoff.pause(shutdown).await {
                    return;
                }
            }
        }
    }
}

async fn add_days(redis: &Redis, days: &std::collections::BTreeMap<u64, (i64, i64)>) -> Result<(), fred::error::Error> {
    let pipe = redis.pool.next().pipeline();
    for (day, (bets, volume)) in days {
        let _: () = pipe.incr_by(redis.keys.stats_day("bets", *day), *bets).await?;
        let _: () = pipe.incr_by(redis.keys.stats_day("volume", *day), *volume).await?;
    }
    let _: Vec<i64> = Redis::each(pipe).await?;
    Ok(())
}

/// Puts a record that can never be written on the dead list, with the reason (capped, expiring).
async fn bury(ctx: &Ctx, record: &[u8], reason: &str) {
    ctx.stats.dead.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("matchday_dbsvr_dead_total").increment(1);
    tracing::error!(reason, dead = %ctx.dead, "a change record can never be written to MySQL; moved to the dead list");
    let entry = DeadRecord { reason, record, ts: common::time::now_ms() };
    let Ok(bytes) = rmp_serde::to_vec_named(&entry) else { return };
    if let Err(e) = ctx.dead_list.push(&ctx.redis, &ctx.dead, Bytes::from(bytes)).await {
        tracing::error!(error = %e, "cannot write to the dead list");
    }
}

/// Sets the backlog and lag gauges: records waiting in all the outbox's lanes, and the age of the
/// oldest one (from the queue's depth watcher, `common::service::Consumers::on_depth`).
pub fn report_lag(stats: &Stats, backlog: i64, lag_ms: u64) {
    stats.backlog.store(backlog as u64, Ordering::Relaxed);
    stats.lag_ms.store(lag_ms, Ordering::Relaxed);
    metrics::gauge!("matchday_dbsvr_backlog").set(backlog as f64);
    metrics::gauge!("matchday_dbsvr_lag_seconds").set(lag_ms as f64 / 1000.0);
}
