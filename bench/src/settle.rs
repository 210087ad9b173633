//! Settle rate: a match of N bets, result set, settled by an in-process resultcenter; the ceiling is
//! the same settle script called back to back on an identical book by one client (no queue, no
//! service), so the ratio shows what resultcenter's own work costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::store::match_finish;
use common::store::settle_batch::{self, Outcome};
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use protocol::matches::{Action, Job, MatchState};

use seed::step;
use serde::Serialize;

use crate::cost::{Cost, Here, Meter};

#[derive(Debug, Clone, Serialize)]
pub struct SettleReport {
    pub bets: usize,
    pub batch: usize,
    pub service_secs: f64,
    pub ceiling_secs: f64,
    /// What resultcenter's run cost (per bet settled).
    pub service_cost: Cost,
    /// What the script alone cost (per bet settled).
    pub ceiling_cost: Cost,
    /// With `--verify`: the run against MySQL, verified and restored.
    pub durable: Option<crate::DurableReport>,
}

impl SettleReport {
    pub fn service_rate(&self) -> f64 {
        self.bets as f64 / self.service_secs
    }

    pub fn ceiling_rate(&self) -> f64 {
        self.bets as f64 / self.ceiling_secs
    }
}

impl std::fmt::Display for SettleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "settle: {} bets, batch {}", self.bets, self.batch)?;
        writeln!(f, "  resultcenter          {:>9.0} bets/s  ({:.2} s)", self.service_rate(), self.service_secs)?;
        writeln!(f, "    {}", self.service_cost)?;
        writeln!(f, "  ceiling (script only) {:>9.0} bets/s  ({:.2} s)", self.ceiling_rate(), self.ceiling_secs)?;
        writeln!(f, "    {}", self.ceiling_cost)?;
        write!(f, "  ratio                 {:>9.2}", self.service_rate() / self.ceiling_rate())?;
        if let Some(d) = &self.durable {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

/// Runs the settle benchmark with `bets` bets (users × 10) and batches of `batch`; with `verify`,
/// then checks the run against MySQL ([`crate::durable`]).
pub async fn settle(mut cfg: Config, bets: usize, batch: usize, verify: bool) -> anyhow::Result<SettleReport> {
    cfg.redis.prefix = crate::fresh_prefix();
    cfg.resultcenter.batch = batch;
    cfg.resultcenter.workers = 1;
    cfg.node.id = "bench".into();
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let users = (bets as u64).div_ceil(10);
    let mut result = run(&cfg, &redis, users, batch).await;
    if let (true, Ok(report)) = (verify, &mut result) {
        match crate::durable::check(&cfg).await {
            Ok(d) => report.durable = Some(d),
            Err(e) => result = Err(e),
        }
    }
    crate::cleanup(&redis).await;
    redis.close().await;
    result
}

async fn run(cfg: &Config, redis: &Redis, users: u64, batch: usize) -> anyhow::Result<SettleReport> {
    // The ceiling first: the script alone on its own book.
    let ceiling = seed::book(redis, "lol", 1, users, 10).await?;
    close(redis, ceiling.match_id).await?;
    let _: i64 = redis.pool.del(redis.keys.settle()).await?;
    let meter = Meter::start(redis).await?;
    let started = Instant::now();
    drive_script(redis, ceiling.match_id, batch).await?;
    let ceiling_secs = started.elapsed().as_secs_f64();
    let ceiling_cost = meter.finish(redis, ceiling.bets.len() as u64, Here::Only("bench (the script alone)")).await?;

    let book = seed::book(redis, "lol", 1_000_000, users, 10).await?;
    let shutdown = Shutdown::new();
    let stats = Arc::new(resultcenter::Stats::default());
    let (c, s, st) = (cfg.clone(), shutdown.clone(), stats.clone());
    let service = tokio::spawn(async move { resultcenter::run_with(c, s, st).await });
    // Let it start (connect, load scripts, block on the queue) before the clock runs.
    while redis.pool.hlen::<i64, _>(redis.keys.consumers(&redis.keys.settle())).await? == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let meter = Meter::start(redis).await?;
    let started = Instant::now();
    close(redis, book.match_id).await?;
    // Until the match is finished (every shard settled and the catalogue record credited), not
    // until the first job is acked: a split match's parts settle their shards one after another.
    while common::matches::load(redis, book.match_id).await?.is_none_or(|m| m.state != MatchState::Credited) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let service_secs = started.elapsed().as_secs_f64();
    let service_cost = meter.finish(redis, book.bets.len() as u64, Here::Only("resultcenter")).await?;
    shutdown.shutdown(Duration::from_secs(10)).await;
    service.await??;
    Ok(SettleReport {
        bets: book.bets.len(),
        batch,
        service_secs,
        ceiling_secs,
        service_cost,
        ceiling_cost,
        durable: None,
    })
}

/// Starts the match and sets winner "a" (which queues the settle job).
async fn close(redis: &Redis, mid: u64) -> anyhow::Result<()> {
    step(redis, mid, Action::Start, None).await?;
    step(redis, mid, Action::Result, Some("a")).await
}

/// Calls settle_batch.lua back to back, shard by shard, until every shard is empty, then
/// match_finish.lua (what resultcenter does, minus the queue, the job and the service).
async fn drive_script(redis: &Redis, mid: u64, batch: usize) -> anyhow::Result<()> {
    let finals = &[Action::Settled, Action::Credited];
    let (mut settled, mut paid) = (0u64, 0u64);
    for shard in 0..common::shards::SHARDS {
        let mut cursor = 0;
        loop {
            let (bets, next) = common::bets::open_page(redis, shard, mid, cursor, batch as u64).await?;
            cursor = next;
            let args = settle_batch::Args { mid, shard, job: Job::Settle, now_ms: 1, finals, bets: &bets };
            match settle_batch::call(redis, &args).await? {
                Outcome::Settled { remaining: 0, .. } | Outcome::NoCopy { remaining: 0 } => break,
                Outcome::Settled { .. } => {}
                other => anyhow::bail!("settle_batch.lua answered {other:?} in shard {shard}"),
            }
        }
        let counters: Vec<Option<u64>> =
            redis.pool.hmget(redis.keys.match_copy(shard, mid), vec!["settled", "paid"]).await?;
        settled += counters[0].unwrap_or(0);
        paid += counters[1].unwrap_or(0);
    }
    let args = match_finish::Args { mid, kind: "lol", finals, settled, paid, now_ms: 1 };
    match match_finish::call(redis, &args).await? {
        match_finish::Outcome::Finished { .. } => Ok(()),
        other => anyhow::bail!("match_finish.lua answered {other:?}"),
    }
}
