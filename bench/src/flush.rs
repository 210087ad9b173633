//! Flush rate and lag of dbsvr. Three runs against a scratch MySQL database:
//! 1. drain: a backlog of change records (a book of bets) flushed by dbsvr — records/s;
//! 2. ceiling: the same records written straight to MySQL with dbsvr's statements and batch size,
//!    no queue and no service — what MySQL alone does;
//! 3. steady: bets placed at a fixed rate while dbsvr runs — the flush lag (age of the oldest record
//!    not yet in MySQL), sampled every 100 ms.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use sqlx::Connection;

#[derive(Debug)]
pub struct FlushReport {
    pub records: u64,
    pub batch: usize,
    pub drain_secs: f64,
    pub ceiling_secs: f64,
    pub steady_bets_per_sec: u64,
    pub steady_records_per_sec: f64,
    pub lag_p50_ms: u64,
    pub lag_p99_ms: u64,
    pub lag_max_ms: u64,
}

impl std::fmt::Display for FlushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let drain = self.records as f64 / self.drain_secs;
        let ceiling = self.records as f64 / self.ceiling_secs;
        writeln!(f, "flush: {} records, batch {}", self.records, self.batch)?;
        writeln!(f, "  dbsvr (drain a backlog)     {drain:>9.0} records/s  ({:.2} s)", self.drain_secs)?;
        writeln!(f, "  ceiling (MySQL writes only) {ceiling:>9.0} records/s  ({:.2} s)", self.ceiling_secs)?;
        writeln!(f, "  ratio                       {:>9.2}", drain / ceiling)?;
        write!(
            f,
            "  steady {} bets/s ({:.0} records/s): lag p50 {} ms, p99 {} ms, max {} ms",
            self.steady_bets_per_sec, self.steady_records_per_sec, self.lag_p50_ms, self.lag_p99_ms, self.lag_max_ms
        )
    }
}

/// Runs the three measurements with a backlog of `bets` bets (users × 10) and a steady load of
/// `rate` bets/s for `seconds`.
pub async fn flush(mut cfg: Config, bets: usize, rate: u64, seconds: u64) -> anyhow::Result<FlushReport> {
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    cfg.redis.prefix = format!("bench:{id}:");
    cfg.node.id = "bench".into();
    let (_, server) = dbsvr::schema::split_url(&cfg.mysql.url)?;
    let db = |name: &str| format!("{}{name}", server.trim_end_matches('/').to_owned() + "/");
    let (main_db, ceiling_db) = (format!("mdbench_{id}"), format!("mdbench_{id}_c"));
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let result = async {
        dbsvr::schema::migrate(&db(&main_db)).await?;
        dbsvr::schema::migrate(&db(&ceiling_db)).await?;
        cfg.mysql.url = db(&main_db);
        measure(&cfg, &redis, &db(&ceiling_db), bets, rate, seconds).await
    }
    .await;
    if let Ok(mut c) = sqlx::MySqlConnection::connect(&server).await {
        for name in [&main_db, &ceiling_db] {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut c).await;
        }
    }
    if let Ok(keys) = redis.scan("*").await {
        for chunk in keys.chunks(500) {
            let _: Result<i64, _> = redis.pool.del(chunk.to_vec()).await;
        }
    }
    redis.close().await;
    result
}

async fn measure(
    cfg: &Config,
    redis: &Redis,
    ceiling_url: &str,
    bets: usize,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<FlushReport> {
    let batch = cfg.dbsvr.batch_max;
    let users = (bets as u64).div_ceil(10);
    let book = seed::book(redis, "lol", 1, users, 10).await?;
    let lanes = redis.keys.outboxes();
    let mut records: Vec<Bytes> = Vec::new();
    for lane in &lanes {
        records.extend(redis.pool.lrange::<Vec<Bytes>, _>(lane, 0, -1).await?);
    }

    // 2. The ceiling: dbsvr's own statements, batch by batch, oldest first, straight to MySQL.
    // The rows of each record (a bet's record writes several), batches of `batch` records.
    let rows: Vec<Vec<dbsvr::rows::Row>> = records
        .iter()
        .rev()
        .map(|r| dbsvr::rows::decode(r).map_err(|e| anyhow::anyhow!(e)))
        .collect::<Result<_, _>>()?;
    let pool = common::mysql::pool(ceiling_url, cfg.dbsvr.pool_size)?;
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let chunk: Vec<dbsvr::rows::Row> = chunk.iter().flatten().cloned().collect();
        let mut tx = pool.begin().await?;
        dbsvr::write::write(&mut tx, &chunk).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        tx.commit().await?;
    }
    let ceiling_secs = started.elapsed().as_secs_f64();
    pool.close().await;

    // 1. Drain the backlog with dbsvr: the backlog is set aside until dbsvr is up and waiting,
    // then put back in one step, and the clock starts.
    // Each lane's records go aside under a name in the lane's own slot.
    let aside = |lane: &str| format!("{lane}:aside");
    for lane in &lanes {
        if redis.pool.exists::<i64, _>(lane).await? == 1 {
            let _: () = redis.pool.rename(lane, aside(lane)).await?;
        }
    }
    let shutdown = Shutdown::new();
    let stats = Arc::new(dbsvr::Stats::default());
    let (c, s, st) = (cfg.clone(), shutdown.clone(), stats.clone());
    let service = tokio::spawn(async move { dbsvr::run_with(c, s, st).await });
    while common::service::pending(redis, &lanes).await?.consumers < lanes.len() as u64 {
        anyhow::ensure!(!service.is_finished(), "dbsvr stopped at start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for lane in &lanes {
        if redis.pool.exists::<i64, _>(aside(lane)).await? == 1 {
            let _: () = redis.pool.rename(aside(lane), lane).await?;
        }
    }
    let started = Instant::now();
    let total = records.len() as u64;
    while stats.flushed.load(Ordering::Relaxed) < total {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "dbsvr did not drain the backlog in 5 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drain_secs = started.elapsed().as_secs_f64();

    // 3. Steady load: bets at `rate`/s on the same match for `seconds`, lag sampled every 100 ms.
    let before = stats.flushed.load(Ordering::Relaxed);
    let load_started = Instant::now();
    let (r, mid) = (redis.clone(), book.match_id);
    let producer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let per_tick = (rate / 100).max(1);
        let mut n = 0u64;
        while load_started.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            let placing = (0..per_tick).map(|i| seed::place(&r, mid, 1 + (n + i) % users, "a", 1));
            for result in futures_util::future::join_all(placing).await {
                result?;
            }
            n += per_tick;
        }
        anyhow::Ok(n)
    });
    let mut lags = Vec::new();
    while !producer.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        lags.push(common::service::lanes_depth_and_age(redis, &lanes).await?.1);
    }
    let placed = producer.await??;
    let elapsed = load_started.elapsed().as_secs_f64();
    while common::service::lanes_depth_and_age(redis, &lanes).await?.0 > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let steady_records = stats.flushed.load(Ordering::Relaxed) - before;
    shutdown.shutdown(Duration::from_secs(10)).await;
    service.await??;
    lags.sort_unstable();
    let pct = |p: f64| lags.get(((lags.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    Ok(FlushReport {
        records: total,
        batch,
        drain_secs,
        ceiling_secs,
        steady_bets_per_sec: (placed as f64 / elapsed) as u64,
        steady_records_per_sec: steady_records as f64 / elapsed,
        lag_p50_ms: pct(0.5),
        lag_p99_ms: pct(0.99),
        lag_max_ms: lags.last().copied().unwrap_or(0),
    })
}
