//! Place-bet throughput end to end: connect and logic run in this process under a fresh key prefix;
//! N WebSocket clients register (101) and log in (102) through the protocol, then each places bets
//! (401) on one open match in a closed loop with W requests in flight, every reply matched to its
//! request by seq. Reports bets/s, latency percentiles (HDR histogram) and errors by code, then
//! checks that no coin was lost or created and that Redis holds exactly the bets that were accepted.
//! With `ceiling`, the Redis-only ceiling ([`crate::ceiling`]) runs afterwards with the same number
//! of requests in flight, and the report carries the ratio.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use protocol::body::{BalanceReply, BetPlaced, Credentials, Empty, PlaceBet, ReqId};
use protocol::codec::{decode_body, encode_frame, split_frame};
use protocol::{ClientHead, ReplyHead, msg};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ceiling::{self, CeilingReport, STAKE, new_histogram};
use crate::fixtures;

/// How long a reply may take before the run fails.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);
/// The sign-up grant the bench configures (enough for every bet a client can place in a run).
const GRANT: i64 = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct BetsOptions {
    pub clients: usize,
    pub window: usize,
    pub seconds: u64,
    /// Stop after this many bets in all (instead of after `seconds`).
    pub bets: Option<u64>,
    /// Also run the ceiling (same in-flight count) and report the ratio.
    pub ceiling: bool,
    /// Print the bets placed so far to stderr every second.
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BetsReport {
    pub clients: usize,
    pub window: usize,
    pub bets_ok: u64,
    pub secs: f64,
    pub bets_per_sec: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// Replies with a non-zero code, by code.
    pub errors: BTreeMap<u16, u64>,
    /// Replies whose seq matched no request in flight, and requests never answered.
    pub unmatched: u64,
    pub grants: i64,
    pub balances: i64,
    pub stakes_accepted: i64,
    pub conserved: bool,
    pub bets_in_redis: u64,
    pub ceiling: Option<CeilingReport>,
}

impl BetsReport {
    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn ratio(&self) -> Option<f64> {
        self.ceiling.as_ref().map(|c| self.bets_per_sec / c.bets_per_sec)
    }

    /// Every request answered once, no error code, money conserved, Redis holds the accepted bets.
    pub fn is_correct(&self) -> bool {
        self.unmatched == 0 && self.errors.is_empty() && self.conserved && self.bets_in_redis == self.bets_ok
    }

    /// The one line a script parses.
    pub fn result_line(&self) -> String {
        let mut line = format!(
            "RESULT bets_per_sec={:.0} p50_us={} p90_us={} p99_us={} p999_us={} errors={} unmatched={} conserved={}",
            self.bets_per_sec,
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.p999_us,
            self.errors.values().sum::<u64>(),
            self.unmatched,
            self.conserved && self.bets_in_redis == self.bets_ok,
        );
        if let (Some(c), Some(r)) = (&self.ceiling, self.ratio()) {
            line.push_str(&format!(" ceiling_per_sec={:.0} ratio={r:.3}", c.bets_per_sec));
        }
        line
    }
}

impl std::fmt::Display for BetsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "bets: {} clients, window {}", self.clients, self.window)?;
        writeln!(f, "  placed      {} bets in {:.2} s = {:.0} bets/s", self.bets_ok, self.secs, self.bets_per_sec)?;
        writeln!(
            f,
            "  latency     p50 {} µs  p90 {} µs  p99 {} µs  p99.9 {} µs  max {} µs",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us
        )?;
        writeln!(f, "  errors      {:?}  unmatched {}", self.errors, self.unmatched)?;
        writeln!(
            f,
            "  money       grants {} = balances {} + stakes {}: {}",
            self.grants,
            self.balances,
            self.stakes_accepted,
            if self.conserved { "conserved" } else { "NOT CONSERVED" }
        )?;
        writeln!(f, "  bets        {} in Redis, {} accepted", self.bets_in_redis, self.bets_ok)?;
        if let (Some(c), Some(r)) = (&self.ceiling, self.ratio()) {
            writeln!(f, "  {c}")?;
            writeln!(f, "  ratio       {r:.3} (E2E / ceiling)")?;
        }
        write!(f, "{}", self.result_line())
    }
}

/// Runs `bench bets` in process: connect and logic for `cfg` (prefix, ports and limits overridden
/// for the bench), keys removed afterwards.
pub async fn bets(mut cfg: Config, opts: BetsOptions) -> anyhow::Result<BetsReport> {
    cfg.redis.prefix = crate::fresh_prefix();
    cfg.node.id = format!("bench{}", &cfg.redis.prefix[6..14]);
    cfg.connect.listen = "127.0.0.1:0".parse()?;
    cfg.connect.rate_burst = 1_000_000;
    cfg.connect.rate_per_sec = 1_000_000;
    cfg.logic.signup_grant = GRANT;
    cfg.logic.argon2_memory_kib = 64;
    cfg.logic.argon2_iterations = 1;
    cfg.validate()?;
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let shutdown = Shutdown::new();
    let result = run(&cfg, &redis, &shutdown, &opts).await;
    shutdown.shutdown(Duration::from_secs(10)).await;
    crate::cleanup(&redis).await;
    redis.close().await;
    let mut report = result?;
    if opts.ceiling {
        report.ceiling = Some(ceiling::ceiling(cfg, opts.clients * opts.window.max(1), opts.seconds, opts.bets).await?);
    }
    Ok(report)
}

async fn run(cfg: &Config, redis: &Redis, shutdown: &Shutdown, opts: &BetsOptions) -> anyhow::Result<BetsReport> {
    let listener = tokio::net::TcpListener::bind(cfg.connect.listen).await?;
    let server = connect::Server::new(cfg.clone(), listener)?;
    let addr = server.local_addr()?;
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move {
        if let Err(e) = server.run(s).await {
            tracing::error!(error = format!("{e:#}"), "bench: connect failed");
        }
    });
    let (c, s) = (cfg.clone(), shutdown.clone());
    shutdown.tracker.spawn(async move {
        if let Err(e) = logic::run(c, s).await {
            tracing::error!(error = format!("{e:#}"), "bench: logic failed");
        }
    });
    let mid = fixtures::open_match(redis, "lol").await?;
    let mut report = drive(addr, mid, opts).await?;
    report.bets_in_redis = redis.pool.zcard::<u64, _>(redis.keys.match_bets(mid)).await?;
    Ok(report)
}

/// Registers and logs in the clients, runs the closed loop, reads the balances back.
async fn drive(addr: SocketAddr, mid: u64, opts: &BetsOptions) -> anyhow::Result<BetsReport> {
    let clients = opts.clients.max(1);
    let window = opts.window.max(1);
    let mut conns: Vec<BenchClient> = futures_util::stream::iter(0..clients)
        .map(|i| async move { BenchClient::signed_up(addr, &format!("bench{i}")).await })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let grants: i64 = conns.iter().map(|c| c.grant).sum();

    let issued = Arc::new(AtomicU64::new(0));
    let placed = Arc::new(AtomicU64::new(0));
    let ticker = opts.progress.then(|| {
        let placed = placed.clone();
        tokio::spawn(async move {
            let (mut last, mut tick) = (0, tokio::time::interval(Duration::from_secs(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = placed.load(Ordering::Relaxed);
                eprintln!("bench bets: {now} placed, {} in the last second", now - last);
                last = now;
            }
        })
    });
    let budget = opts.bets.unwrap_or(u64::MAX);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(if opts.bets.is_some() { 3600 } else { opts.seconds });
    let mut handles = Vec::with_capacity(clients);
    for mut c in conns.drain(..) {
        let (issued, placed) = (issued.clone(), placed.clone());
        handles.push(tokio::spawn(async move {
            let outcome = c.closed_loop(mid, window, deadline, budget, &issued, &placed).await;
            (c, outcome)
        }));
    }
    let mut hist = new_histogram();
    let mut loop_outcomes = Vec::with_capacity(clients);
    for h in handles {
        let (c, outcome) = h.await?;
        loop_outcomes.push(outcome?);
        conns.push(c);
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(t) = ticker {
        t.abort();
    }
    let mut errors = BTreeMap::new();
    let (mut ok, mut unmatched, mut stakes) = (0u64, 0u64, 0i64);
    for o in &loop_outcomes {
        hist.add(&o.hist)?;
        ok += o.ok;
        unmatched += o.unmatched;
        stakes += o.ok as i64 * STAKE;
        for (code, n) in &o.errors {
            *errors.entry(*code).or_insert(0) += n;
        }
    }
    let mut balances = 0;
    for c in &mut conns {
        balances += c.balance().await?;
    }
    Ok(BetsReport {
        clients,
        window,
        bets_ok: ok,
        secs,
        bets_per_sec: ok as f64 / secs,
        p50_us: hist.value_at_quantile(0.5),
        p90_us: hist.value_at_quantile(0.9),
        p99_us: hist.value_at_quantile(0.99),
        p999_us: hist.value_at_quantile(0.999),
        max_us: hist.max(),
        errors,
        unmatched,
        grants,
        balances,
        stakes_accepted: stakes,
        conserved: grants == balances + stakes,
        bets_in_redis: 0,
        ceiling: None,
    })
}

struct LoopOutcome {
    ok: u64,
    errors: BTreeMap<u16, u64>,
    unmatched: u64,
    hist: Histogram<u64>,
}

/// A minimal protocol client: MessagePack frames over one WebSocket.
struct BenchClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u32,
    grant: i64,
}

impl BenchClient {
    /// Connects, registers `username` (101) and logs in (102); the login's balance is the grant.
    async fn signed_up(addr: SocketAddr, username: &str) -> anyhow::Result<BenchClient> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
        let mut c = BenchClient { ws, seq: 0, grant: 0 };
        let creds = Credentials { username: username.into(), password: "bench-password".into() };
        let (code, _) = c.call(msg::REGISTER, &creds).await?;
        anyhow::ensure!(code == 0, "register {username}: code {code}");
        let (code, body) = c.call(msg::LOGIN, &creds).await?;
        anyhow::ensure!(code == 0, "login {username}: code {code}");
        c.grant = decode_body::<BalanceReply>(&body).map_err(anyhow::Error::msg)?.balance;
        Ok(c)
    }

    /// The balance now (202).
    async fn balance(&mut self) -> anyhow::Result<i64> {
        let (code, body) = self.call(msg::BALANCE, &Empty {}).await?;
        anyhow::ensure!(code == 0, "balance: code {code}");
        Ok(decode_body::<BalanceReply>(&body).map_err(anyhow::Error::msg)?.balance)
    }

    async fn send(&mut self, id: u16, body: &impl Serialize) -> anyhow::Result<u32> {
        self.seq += 1;
        let frame = encode_frame(&ClientHead { id, seq: self.seq, ver: None }, body)?;
        self.ws.feed(Message::Binary(frame.into())).await?;
        Ok(self.seq)
    }

    /// The next reply (pushes skipped): its head and body bytes.
    async fn recv(&mut self) -> anyhow::Result<(ReplyHead, Vec<u8>)> {
        loop {
            let m = tokio::time::timeout(REPLY_TIMEOUT, self.ws.next())
                .await
                .map_err(|_| anyhow::anyhow!("no reply in {REPLY_TIMEOUT:?}"))?
                .ok_or_else(|| anyhow::anyhow!("connection closed"))??;
            let Message::Binary(b) = m else { continue };
            let (head, body) = split_frame::<ReplyHead>(&b)?;
            if head.seq == 0 && head.id >= 900 {
                continue;
            }
            return Ok((head, body.to_vec()));
        }
    }

    async fn call(&mut self, id: u16, body: &impl Serialize) -> anyhow::Result<(u16, Vec<u8>)> {
        let seq = self.send(id, body).await?;
        self.ws.flush().await?;
        let (head, body) = self.recv().await?;
        anyhow::ensure!((head.id, head.seq) == (id, seq), "reply {head:?} to request {id}/{seq}");
        Ok((head.code, body))
    }

    /// Keeps `window` bets in flight until the deadline or the shared budget, then drains.
    async fn closed_loop(
        &mut self,
        mid: u64,
        window: usize,
        deadline: Instant,
        budget: u64,
        issued: &AtomicU64,
        placed: &AtomicU64,
    ) -> anyhow::Result<LoopOutcome> {
        let mut out = LoopOutcome { ok: 0, errors: BTreeMap::new(), unmatched: 0, hist: new_histogram() };
        let mut in_flight: HashMap<u32, Instant> = HashMap::with_capacity(window);
        let more = |issued: &AtomicU64| Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < budget;
        for _ in 0..window {
            if !more(issued) {
                break;
            }
            let seq = self.send_bet(mid).await?;
            in_flight.insert(seq, Instant::now());
        }
        self.ws.flush().await?;
        while !in_flight.is_empty() {
            let (head, body) = match self.recv().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "bench: {} requests unanswered", in_flight.len());
                    out.unmatched += in_flight.len() as u64;
                    break;
                }
            };
            let Some(sent) = in_flight.remove(&head.seq).filter(|_| head.id == msg::PLACE_BET) else {
                out.unmatched += 1;
                continue;
            };
            out.hist.record(sent.elapsed().as_micros().max(1) as u64)?;
            if head.code == 0 {
                decode_body::<BetPlaced>(&body).map_err(anyhow::Error::msg)?;
                out.ok += 1;
                placed.fetch_add(1, Ordering::Relaxed);
            } else {
                *out.errors.entry(head.code).or_insert(0) += 1;
            }
            if more(issued) {
                let seq = self.send_bet(mid).await?;
                self.ws.flush().await?;
                in_flight.insert(seq, Instant::now());
            }
        }
        Ok(out)
    }

    async fn send_bet(&mut self, mid: u64) -> anyhow::Result<u32> {
        let req_id = ReqId::Number(u64::from(self.seq) + 1);
        let bet = PlaceBet { match_id: mid, option: "a".into(), stake: STAKE, odds_ver: 1, req_id };
        self.send(msg::PLACE_BET, &bet).await
    }
}
