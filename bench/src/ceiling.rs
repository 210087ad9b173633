//! The place-bet ceiling: the Redis commands one bet costs on the real path, sent straight to Redis
//! by `tasks` concurrent loops — no WebSocket, no connect, no logic. One iteration is:
//! LPUSH the frame to the group queue (what connect does), LMOVE it into the task's inflight list
//! (logic's claim), take a bet id (an INCRBY per block of ids, as logic does) and EVALSHA
//! place_bet.lua (the handler), EVALSHA ack.lua pushing the reply element to an l2c list (logic's
//! ack), RPOP the reply (connect's reply claim).
//! What this sustains is what Redis alone does with a bet's work on this machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::store::{ack, place_bet};
use common::{Config, Redis};
use fred::prelude::*;
use fred::types::lists::LMoveDirection;
use hdrhistogram::Histogram;
use protocol::body::{BetPlaced, PlaceBet, ReqId};
use protocol::codec::{encode_frame, encode_routed};
use protocol::{InternalHead, ReplyHead, Route, msg};
use serde::Serialize;

/// Stake of every bet the benchmarks place.
pub(crate) const STAKE: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct CeilingReport {
    pub tasks: usize,
    pub bets: u64,
    pub secs: f64,
    pub bets_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
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
            "ceiling (Redis alone, {} tasks): {:.0} bets/s  ({} bets in {:.2} s; one bet p50 {} µs, p99 {} µs)",
            self.tasks, self.bets_per_sec, self.bets, self.secs, self.p50_us, self.p99_us
        )
    }
}

/// Runs the ceiling under its own fresh key prefix (removed afterwards): `tasks` loops for
/// `seconds`, or until `total` bets when given.
pub async fn ceiling(mut cfg: Config, tasks: usize, seconds: u64, total: Option<u64>) -> anyhow::Result<CeilingReport> {
    cfg.redis.prefix = crate::fresh_prefix();
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let result = run(&redis, cfg.node.group, tasks, seconds, total).await;
    crate::cleanup(&redis).await;
    redis.close().await;
    result
}

async fn run(
    redis: &Redis,
    group: u32,
    tasks: usize,
    seconds: u64,
    total: Option<u64>,
) -> anyhow::Result<CeilingReport> {
    let tasks = tasks.max(1);
    let mid = seed::open_match(redis, "lol").await?;
    for uid in 1..=tasks as u64 {
        seed::fund(redis, uid, 1_000_000_000).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(AtomicU64::new(0));
    let budget = total.unwrap_or(u64::MAX);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        let (redis, stop, issued) = (redis.clone(), stop.clone(), issued.clone());
        handles.push(tokio::spawn(async move {
            task(&redis, group, mid, t as u64 + 1, deadline, budget, &stop, &issued).await
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
                stop.store(true, Ordering::Relaxed);
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(CeilingReport {
        tasks,
        bets,
        secs,
        bets_per_sec: bets as f64 / secs,
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
    })
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

#[allow(clippy::too_many_arguments)]
async fn task(
    redis: &Redis,
    group: u32,
    mid: u64,
    uid: u64,
    deadline: Instant,
    budget: u64,
    stop: &AtomicBool,
    issued: &AtomicU64,
) -> anyhow::Result<(u64, Histogram<u64>)> {
    let k = &redis.keys;
    let node = format!("ceiling{uid}");
    let queue = k.c2l(group);
    let inflight = k.inflight(&queue, &node);
    let l2c = k.l2c(&node);
    let mut hist = new_histogram();
    let mut seq: u32 = 0;
    let mut done = 0;
    // As logic takes bet ids: a block per INCRBY.
    let bet_ids = common::ids::IdBlock::new(k.bet_seq(), logic::BET_ID_BLOCK);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < budget
    {
        seq += 1;
        let t0 = Instant::now();
        let now = common::time::now_ms();
        let head = InternalHead {
            id: msg::PLACE_BET,
            seq,
            ver: None,
            node: node.clone(),
            conn: uid,
            uid: Some(uid),
            sid: Some("ceiling".into()),
            group,
            addr: "127.0.0.1:1".into(),
            ts: now,
            trace: format!("{node}-{seq}"),
        };
        let body = PlaceBet {
            match_id: mid,
            option: "a".into(),
            stake: STAKE,
            odds_ver: 1,
            req_id: ReqId::Number(seq.into()),
        };
        let frame = Bytes::from(encode_frame(&head, &body)?);
        // connect: queue in
        let _: i64 = redis.pool.lpush(&queue, frame.clone()).await?;
        // logic: claim (any frame: every task pushed one before it claims, so the queue is never empty)
        let claimed: Option<Bytes> =
            redis.pool.lmove(&queue, &inflight, LMoveDirection::Right, LMoveDirection::Left).await?;
        let claimed = claimed.ok_or_else(|| anyhow::anyhow!("the queue was empty after a push"))?;
        // logic: the place-bet handler
        let bid = bet_ids.next(redis).await?;
        let req_id = seq.to_string();
        let args =
            place_bet::Args { uid, mid, option: "a", stake: STAKE, odds_ver: 1, req_id: &req_id, bid, now_ms: now };
        let placed = match place_bet::call(redis, &args).await? {
            place_bet::Outcome::Placed { bid, balance, odds, .. } => BetPlaced { bet_id: bid, balance, odds },
            other => anyhow::bail!("place_bet.lua answered {other:?}"),
        };
        let reply = encode_frame(&ReplyHead { id: msg::PLACE_BET, seq, code: 0 }, &placed)?;
        let element = Bytes::from(encode_routed(&Route::to(uid), &reply)?);
        // logic: ack + reply out
        let ack = ack::Args { inflight: &inflight, frame: claimed, reply: Some((&l2c, element)), reply_ttl_ms: 0 };
        match ack::call(redis, &ack).await? {
            ack::Outcome::Acked => {}
            other => anyhow::bail!("ack.lua answered {other:?}"),
        }
        // connect: reply claim
        let popped: Option<Bytes> = redis.pool.rpop(&l2c, None).await?;
        anyhow::ensure!(popped.is_some(), "no reply on {l2c}");
        hist.record(t0.elapsed().as_micros().max(1) as u64)?;
        done += 1;
    }
    Ok((done, hist))
}
