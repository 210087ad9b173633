//! The Redis-only series ([`crate::ceiling`], [`crate::minimal`]): `tasks` concurrent loops, each
//! doing one request after another straight against Redis under a fresh key prefix (removed
//! afterwards), for a time or a number of requests, each timed; the report carries what the window
//! cost ([`crate::cost`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Config, Redis};
use serde::Serialize;

use crate::ceiling::new_histogram;
use crate::cost::{Cost, Here, Meter};

/// A Redis-only series: bets per second, the latency of one, and the cost.
#[derive(Debug, Clone, Serialize)]
pub struct CeilingReport {
    /// Which series ("ceiling", "minimal ceiling").
    pub name: String,
    pub tasks: usize,
    pub bets: u64,
    pub secs: f64,
    pub bets_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub cost: Cost,
}

impl CeilingReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

impl std::fmt::Display for CeilingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} tasks): {:.0} bets/s  ({} bets in {:.2} s; one bet p50 {} µs, p99 {} µs)\n    {}",
            self.name, self.tasks, self.bets_per_sec, self.bets, self.secs, self.p50_us, self.p99_us, self.cost
        )
    }
}

/// What a series is: its name, what it sets up before the clock runs, and one request.
pub(crate) trait Series: Send + Sync + 'static {
    const NAME: &'static str;
    /// Set-up under the run's prefix (matches, funded users 1..=tasks).
    fn prepare(redis: &Redis, cfg: &Config, tasks: usize) -> impl Future<Output = anyhow::Result<Self>> + Send
    where
        Self: Sized;
    /// Request `n` (0, 1, …) of task `task` (1..=tasks).
    fn one(&self, redis: &Redis, task: u64, n: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs series `S` with `tasks` loops for `seconds`, or until `total` requests when given.
pub(crate) async fn run<S: Series>(
    mut cfg: Config,
    tasks: usize,
    seconds: u64,
    total: Option<u64>,
) -> anyhow::Result<CeilingReport> {
    cfg.redis.prefix = crate::fresh_prefix();
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let result = measure::<S>(&redis, &cfg, tasks.max(1), seconds, total).await;
    crate::cleanup(&redis).await;
    redis.close().await;
    result
}

async fn measure<S: Series>(
    redis: &Redis,
    cfg: &Config,
    tasks: usize,
    seconds: u64,
    total: Option<u64>,
) -> anyhow::Result<CeilingReport> {
    let series = Arc::new(S::prepare(redis, cfg, tasks).await?);
    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    let budget = total.unwrap_or(u64::MAX);
    let meter = Meter::start(redis).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut handles = Vec::with_capacity(tasks);
    for task in 1..=tasks as u64 {
        let (redis, series, stop, issued) = (redis.clone(), series.clone(), stop.clone(), issued.clone());
        handles.push(tokio::spawn(async move {
            let mut hist = new_histogram();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed)
                && Instant::now() < deadline
                && issued.fetch_add(1, Ordering::Relaxed) < budget
            {
                let t0 = Instant::now();
                if let Err(e) = series.one(&redis, task, n).await {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                hist.record(t0.elapsed().as_micros().max(1) as u64)?;
                n += 1;
            }
            Ok((n, hist))
        }));
    }
    let mut hist = new_histogram();
    let mut bets = 0;
    let mut first_err = None;
    for h in handles {
        match h.await? {
            Ok((n, hh)) => {
                bets += n;
                hist.add(&hh)?;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64();
    let cost = meter.finish(redis, bets, Here::Only("load generator")).await?;
    Ok(CeilingReport {
        name: S::NAME.to_owned(),
        tasks,
        bets,
        secs,
        bets_per_sec: bets as f64 / secs,
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
        cost,
    })
}
