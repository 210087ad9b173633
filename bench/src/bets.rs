//! Place-bet throughput end to end. By default connect, logic and gm run in this process under a
//! fresh key prefix; with a [`Target`] the bench drives a running deployment instead (its WebSocket
//! address, its gm and an admin token). Either way the bench is a staff tool and a set of players:
//! it makes one match through gm and opens it, registers (101) and logs in (102) N WebSocket
//! clients, funds each through gm (a grant), reads each balance (202), then places bets (401):
//! - closed loop (default): each client keeps W bets in flight;
//! - fixed arrival rate (`rate`): bets are due at a steady total rate, spread evenly over the
//!   clients, whatever the replies do (a client never waits for a reply before sending, so a slow
//!   server cannot slow the load down and hide its own latency). Latency runs from the send; how
//!   late the bench itself sent (its timers fire on a 1 ms wheel) is reported apart, as send lag.
//!
//! Every reply is matched to its request by seq. Reports bets/s, latency percentiles (HDR
//! histogram) and errors by code, then checks the money: each client's balance afterwards is its
//! balance before less the stakes accepted, and gm's match holds exactly the accepted bets and
//! stakes. With `ceiling`, the Redis-only ceiling ([`crate::ceiling`]) and the minimal ceiling
//! ([`crate::minimal`]) run afterwards with the same number of requests in flight, and the report
//! carries the ratio. Each series carries its [`Cost`] (Redis per bet, each process's CPU, the
//! wall), from the configured Redis's counters (in target mode, when that Redis answers).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Config, Redis};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use crate::ceiling::{self, STAKE, new_histogram};
use crate::cost::{Cost, Here, Meter};
use crate::load::{BenchClient, Plan};
use crate::loops::CeilingReport;
use crate::minimal;
use crate::services::{in_process_config, with_services};
use crate::staff::Staff;

/// Clients signed up at once.
const SIGNUP_CONCURRENCY: usize = 32;

/// A running deployment to drive instead of the in-process one.
#[derive(Debug, Clone)]
pub struct Target {
    /// The WebSocket endpoints, e.g. `ws://10.0.0.5:7001/ws` (client i uses endpoint i mod n).
    pub ws: Vec<String>,
    /// gm's base address, e.g. `http://10.0.0.5:7002`.
    pub gm: String,
    /// A gm admin token (the bench creates a match and grants coins).
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct BetsOptions {
    pub clients: usize,
    /// Bets in flight per client (closed loop); in rate mode, the most a client lets pile up.
    pub window: usize,
    pub seconds: u64,
    /// Stop after this many bets in all (instead of after `seconds`).
    pub bets: Option<u64>,
    /// Fixed arrival rate, bets per second in all (instead of the closed loop).
    pub rate: Option<u64>,
    /// Also run the ceiling (same in-flight count) and report the ratio.
    pub ceiling: bool,
    /// Print the bets placed so far to stderr every second.
    pub progress: bool,
    /// Drive this deployment instead of starting connect, logic and gm in process.
    pub target: Option<Target>,
    /// After the run (in process only): flush it to a scratch MySQL database, verify, restore and
    /// verify again ([`crate::durable`]).
    pub verify: bool,
    /// In process: a connect and a logic for each of these groups (clients spread evenly over
    /// them), so that the queues of several groups load the primaries of a cluster; empty: one, of
    /// the config's group.
    pub groups: Vec<u32>,
}

impl BetsOptions {
    /// A closed loop of `clients` × `window` in process, for `seconds` or `bets` in all.
    pub fn closed(clients: usize, window: usize, seconds: u64, bets: Option<u64>) -> BetsOptions {
        BetsOptions {
            clients,
            window,
            seconds,
            bets,
            rate: None,
            ceiling: false,
            progress: false,
            target: None,
            verify: false,
            groups: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BetsReport {
    pub clients: usize,
    /// Bets placed through each WebSocket endpoint the clients were spread over (in process: one
    /// endpoint per group, in the order of the groups).
    pub bets_per_endpoint: Vec<u64>,
    pub window: usize,
    /// The arrival rate asked for (bets/s), in rate mode.
    pub rate: Option<u64>,
    /// Bets due but not sent because the client already had `window` waiting (rate mode).
    pub skipped: u64,
    /// How late the bench sent the bets after they were due (rate mode): p99 and max.
    pub send_lag_p99_us: u64,
    pub send_lag_max_us: u64,
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
    /// Sum of the clients' balances after their grant, before the first bet.
    pub balances_before: i64,
    /// Sum of the clients' balances after the run.
    pub balances_after: i64,
    pub stakes_accepted: i64,
    /// balances_before == balances_after + stakes_accepted
    pub conserved: bool,
    /// The match's bet count and pool total as gm reports them.
    pub bets_in_match: u64,
    pub pool_total: i64,
    /// What the load window cost (none in target mode when the configured Redis does not answer).
    pub cost: Option<Cost>,
    pub ceiling: Option<CeilingReport>,
    pub minimal_ceiling: Option<CeilingReport>,
    /// With `--verify`: the run against MySQL, verified and restored.
    pub durable: Option<crate::DurableReport>,
}

impl BetsReport {
    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn ratio(&self) -> Option<f64> {
        self.ceiling.as_ref().map(|c| self.bets_per_sec / c.bets_per_sec)
    }

    /// The match holds exactly the accepted bets and stakes.
    pub fn match_agrees(&self) -> bool {
        self.bets_in_match == self.bets_ok && self.pool_total == self.stakes_accepted
    }

    /// Every request answered once, no error code, money conserved, the match holds the accepted bets.
    pub fn is_correct(&self) -> bool {
        self.unmatched == 0
            && self.errors.is_empty()
            && self.conserved
            && self.match_agrees()
            && self.durable.as_ref().is_none_or(crate::DurableReport::is_clean)
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
            self.conserved && self.match_agrees(),
        );
        if let Some(rate) = self.rate {
            line.push_str(&format!(" rate={rate} skipped={} send_lag_p99_us={}", self.skipped, self.send_lag_p99_us));
        }
        if let Some(c) = &self.cost {
            line.push_str(&format!(
                " redis_us_per_bet={:.1} redis_cmds_per_bet={:.1} redis_cpu={:.2}",
                c.redis.us_per_request, c.redis.commands_per_request, c.redis.cpu_share
            ));
        }
        if let (Some(c), Some(r)) = (&self.ceiling, self.ratio()) {
            line.push_str(&format!(" ceiling_per_sec={:.0} ratio={r:.3}", c.bets_per_sec));
        }
        if let Some(m) = &self.minimal_ceiling {
            line.push_str(&format!(
                " minimal_per_sec={:.0} minimal_redis_us_per_bet={:.1}",
                m.bets_per_sec, m.cost.redis.us_per_request
            ));
        }
        line
    }
}

impl std::fmt::Display for BetsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rate {
            Some(rate) => writeln!(
                f,
                "bets: {} clients, fixed rate {rate} bets/s (at most {} waiting each)",
                self.clients, self.window
            )?,
            None => writeln!(f, "bets: {} clients, closed loop, window {}", self.clients, self.window)?,
        }
        if self.bets_per_endpoint.len() > 1 {
            let each: Vec<String> = self.bets_per_endpoint.iter().map(u64::to_string).collect();
            writeln!(f, "  endpoints   {} (bets placed through each connect endpoint)", each.join(" / "))?;
        }
        writeln!(f, "  placed      {} bets in {:.2} s = {:.0} bets/s", self.bets_ok, self.secs, self.bets_per_sec)?;
        if self.rate.is_some() {
            writeln!(f, "  skipped     {} bets due while the client had its window full", self.skipped)?;
            writeln!(
                f,
                "  send lag    p99 {} µs  max {} µs (the bench's own lateness, not in the latency)",
                self.send_lag_p99_us, self.send_lag_max_us
            )?;
        }
        writeln!(
            f,
            "  latency     p50 {} µs  p90 {} µs  p99 {} µs  p99.9 {} µs  max {} µs",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us
        )?;
        writeln!(f, "  errors      {:?}  unmatched {}", self.errors, self.unmatched)?;
        writeln!(
            f,
            "  money       balances before {} = after {} + stakes {}: {}",
            self.balances_before,
            self.balances_after,
            self.stakes_accepted,
            if self.conserved { "conserved" } else { "NOT CONSERVED" }
        )?;
        writeln!(
            f,
            "  match       {} bets, pool {} (gm); {} bets, {} staked accepted: {}",
            self.bets_in_match,
            self.pool_total,
            self.bets_ok,
            self.stakes_accepted,
            if self.match_agrees() { "agree" } else { "DISAGREE" }
        )?;
        if let Some(c) = &self.cost {
            writeln!(f, "  cost        {c}")?;
        }
        if let (Some(c), Some(r)) = (&self.ceiling, self.ratio()) {
            writeln!(f, "  {c}")?;
            writeln!(f, "  ratio       {r:.3} (E2E / ceiling)")?;
        }
        if let Some(m) = &self.minimal_ceiling {
            writeln!(f, "  {m}")?;
        }
        if let Some(d) = &self.durable {
            writeln!(f, "  {d}")?;
        }
        write!(f, "{}", self.result_line())
    }
}

/// Runs `bench bets`: against `opts.target`, or in process (connect, logic and gm for `cfg` under a
/// fresh prefix, ports and limits overridden for the bench, keys removed afterwards).
pub async fn bets(cfg: Config, opts: BetsOptions) -> anyhow::Result<BetsReport> {
    let mut report = match &opts.target {
        Some(_) if opts.verify => anyhow::bail!("--verify runs in process only (it needs the run's MySQL)"),
        Some(_) if !opts.groups.is_empty() => anyhow::bail!("--groups runs in process only (a deployment has its own)"),
        Some(target) if target.ws.is_empty() => anyhow::bail!("no WebSocket address to drive"),
        Some(target) => {
            let redis = metered_redis(&cfg).await;
            let report = drive(target, &opts, redis.as_ref(), Here::Only("load generator")).await;
            if let Some(r) = redis {
                r.close().await;
            }
            report?
        }
        None => in_process(cfg.clone(), &opts).await?,
    };
    if opts.ceiling {
        let in_flight = opts.clients * opts.window.max(1);
        report.ceiling = Some(ceiling::ceiling(cfg.clone(), in_flight, opts.seconds, opts.bets).await?);
        report.minimal_ceiling = Some(minimal::minimal(cfg, in_flight, opts.seconds, opts.bets).await?);
    }
    Ok(report)
}

/// The configured Redis, to read its counters when driving a deployment: none (and a warning) when
/// it does not answer within a few seconds.
async fn metered_redis(cfg: &Config) -> Option<Redis> {
    let redis = Redis::new(&cfg.redis).ok()?;
    match tokio::time::timeout(Duration::from_secs(5), redis.ready()).await {
        Ok(Ok(())) => Some(redis),
        _ => {
            tracing::warn!("bench: the configured Redis does not answer; the report has no Redis cost");
            None
        }
    }
}

async fn in_process(cfg: Config, opts: &BetsOptions) -> anyhow::Result<BetsReport> {
    let (cfg, token) = in_process_config(cfg)?;
    let redis = Redis::new(&cfg.redis)?;
    let redis = &redis;
    let cfg = &cfg;
    with_services(cfg, &opts.groups, |ws, gm| async move {
        redis.ready().await?;
        let mut report = drive(&Target { ws, gm, token }, opts, Some(redis), Here::LoadAndServices).await?;
        if opts.verify {
            report.durable = Some(crate::durable::check(cfg).await?);
        }
        Ok(report)
    })
    .await
}

/// Makes the match, signs up and funds the clients, runs the load (its cost read from `redis`'s
/// counters when given, with `here` running in this process), checks the money.
async fn drive(target: &Target, opts: &BetsOptions, redis: Option<&Redis>, here: Here) -> anyhow::Result<BetsReport> {
    let clients = opts.clients.max(1);
    let window = opts.window.max(1);
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let staff = Staff::new(&target.gm, &target.token);
    let (mid, odds_ver) = staff.open_match(&format!("bench {run_id}"), STAKE).await?;
    // Client i on endpoint i mod n; `endpoint_of[k]` is the endpoint of conns[k] (signed up in any order).
    let (endpoint_of, mut conns): (Vec<usize>, Vec<BenchClient>) = futures_util::stream::iter(0..clients)
        .map(|i| {
            let endpoint = i % target.ws.len();
            let (staff, ws) = (&staff, target.ws[endpoint].as_str());
            async move {
                let c = BenchClient::funded(ws, staff, &format!("b{run_id}x{i}"), mid, odds_ver).await?;
                anyhow::Ok((endpoint, c))
            }
        })
        .buffer_unordered(SIGNUP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let balances_before: i64 = conns.iter().map(|c| c.balance_before).sum();

    let issued = Arc::new(AtomicU64::new(0));
    let placed = Arc::new(AtomicU64::new(0));
    let ticker = opts.progress.then(|| {
        let placed = placed.clone();
        crate::progress(
            move || placed.load(Ordering::Relaxed),
            |now, last_second| format!("bench bets: {now} placed, {last_second} in the last second"),
        )
    });
    let meter = match redis {
        Some(r) => Some(Meter::start(r).await?),
        None => None,
    };
    let started = Instant::now();
    let plan = Plan {
        window,
        deadline: started + Duration::from_secs(if opts.bets.is_some() { 3600 } else { opts.seconds }),
        budget: opts.bets.unwrap_or(u64::MAX),
        issued,
        placed,
    };
    let mut handles = Vec::with_capacity(clients);
    for (i, mut c) in conns.drain(..).enumerate() {
        let plan = plan.clone();
        // In rate mode each client sends every clients/rate seconds, the clients evenly staggered.
        let pace = opts.rate.map(|rate| {
            let every = Duration::from_secs_f64(clients as f64 / rate.max(1) as f64);
            (started + every.mul_f64(i as f64 / clients as f64), every)
        });
        handles.push(tokio::spawn(async move {
            let outcome = match pace {
                Some((first, every)) => c.open_loop(&plan, first, every).await,
                None => c.closed_loop(&plan).await,
            };
            (c, outcome)
        }));
    }
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
    let ok_so_far: u64 = loop_outcomes.iter().map(|o| o.ok).sum();
    let cost = match (meter, redis) {
        (Some(m), Some(r)) => Some(m.finish(r, ok_so_far, here).await?),
        _ => None,
    };
    let mut hist = new_histogram();
    let mut lag = new_histogram();
    let mut errors = BTreeMap::new();
    let (mut ok, mut unmatched, mut skipped) = (0u64, 0u64, 0u64);
    let mut bets_per_endpoint = vec![0; target.ws.len()];
    for (o, &endpoint) in loop_outcomes.iter().zip(&endpoint_of) {
        bets_per_endpoint[endpoint] += o.ok;
        if let Some(h) = &o.hist {
            hist.add(h)?;
        }
        if let Some(h) = &o.send_lag {
            lag.add(h)?;
        }
        ok += o.ok;
        unmatched += o.unmatched;
        skipped += o.skipped;
        for (code, n) in &o.errors {
            *errors.entry(*code).or_insert(0) += n;
        }
    }
    let stakes = ok as i64 * STAKE;
    let mut balances_after = 0;
    for c in &mut conns {
        balances_after += c.c.balance().await?;
    }
    let view = staff.match_view(mid).await?;
    Ok(BetsReport {
        clients,
        bets_per_endpoint,
        window,
        rate: opts.rate,
        skipped,
        send_lag_p99_us: lag.value_at_quantile(0.99),
        send_lag_max_us: lag.max(),
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
        balances_before,
        balances_after,
        stakes_accepted: stakes,
        conserved: balances_before == balances_after + stakes,
        bets_in_match: view.bet_count,
        pool_total: view.pool.values().sum(),
        cost,
        ceiling: None,
        minimal_ceiling: None,
        durable: None,
    })
}
