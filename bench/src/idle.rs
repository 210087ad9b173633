//! Idle connections: what one connect process spends in resident memory per open WebSocket.
//!
//! connect runs as a child process (`matchday connect`, so its RSS is connect's alone) under a
//! fresh key prefix, on 127.0.0.1 with a port it picks and reports in its (JSON) log. Its RSS is
//! read with no connection, then N clients connect from 127.0.0.2, .3, … (one address holds at
//! most ~28,000 ephemeral ports) through a bounded number of dialers, and stay idle: each is a
//! small task that only reads, so connect's pings are answered. Once connect's own gauge shows
//! them all and a ping interval has gone by, its RSS is read again until it stops moving; the
//! difference over N is the figure. Socket buffers and TCP state live in the kernel, not in RSS.
//!
//! Each connection is one open file on both sides, so N is capped by the open-files limit
//! (raised to the hard limit first); the report says when and why.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::{Config, Redis};
use futures_util::StreamExt;
use matchday_client::{Client, Options};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::child::{ChildConnect, slab_kib};

/// The target: this many idle connections on one connect process…
pub const TARGET_CONNECTIONS: usize = 100_000;
/// …at no more than this much resident memory each.
pub const TARGET_BYTES_PER_CONN: f64 = 6.0 * 1024.0;
/// Open files each process keeps for everything but the connections (listeners, Redis, stdio…).
const FD_MARGIN: u64 = 256;
/// Connections from one source address at most (and at most 70 % of its ephemeral ports).
const PER_SOURCE: usize = 20_000;
/// Dialers at once.
const DIALERS: usize = 256;
/// How long one connect + handshake may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a held client waits for its connection to close (the run ends long before).
const HOLD_AT_MOST: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct IdleOptions {
    /// Connections to open (capped by the open-files limit).
    pub connections: usize,
    /// Time limit of the opening phase, seconds.
    pub seconds: u64,
    /// The `matchday` binary to run `connect` from (default: this executable).
    pub program: Option<PathBuf>,
    /// Print how many are open to stderr every second.
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// Connections asked for, and the most the open-files limit allows (both processes hold one
    /// file per connection).
    pub requested: usize,
    pub cap: usize,
    /// Why fewer than requested were attempted, if they were.
    pub capped: Option<String>,
    pub nofile_soft: u64,
    pub nofile_hard: u64,
    /// Source addresses the clients were spread over (127.0.0.2 and up).
    pub source_addrs: usize,
    /// Connections attempted, and those whose WebSocket handshake succeeded.
    pub attempted: usize,
    pub handshakes_ok: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    /// Client connections that ended before the measurement (closed by connect or lost).
    pub dropped: usize,
    /// Open at the measurement (handshakes_ok - dropped): the N of the per-connection figure.
    pub connections: usize,
    /// Open connections by connect's own gauge (`matchday_connect_connections`) at the measurement.
    pub connect_reported: u64,
    /// Time to open them, and the rate.
    pub open_secs: f64,
    pub opened_per_sec: f64,
    /// connect's resident memory (VmRSS) with no connection, and with them all open.
    pub rss_base_kib: u64,
    pub rss_kib: u64,
    /// The anonymous part of it (heap, stacks), before and after.
    pub rss_anon_base_kib: u64,
    pub rss_anon_kib: u64,
    /// (rss - rss_base) / connections.
    pub per_conn_bytes: f64,
    pub per_conn_kib: f64,
    /// Kernel slab memory change over the whole machine (both ends of every socket, and anything
    /// else running), per connection: outside RSS, an approximation only.
    pub kernel_slab_per_conn_bytes: f64,
    pub connect_ping_interval_ms: u64,
    /// TARGET_CONNECTIONS open; ≤ TARGET_BYTES_PER_CONN each; both.
    pub target_count_reached: bool,
    pub within_target_bytes: bool,
    pub target_reached: bool,
}

impl IdleReport {
    /// Every attempted connection handshook, stayed open, and connect counted it.
    pub fn is_correct(&self) -> bool {
        self.attempted == self.cap.min(self.requested)
            && self.handshakes_ok == self.attempted
            && self.dropped == 0
            && self.connect_reported == self.connections as u64
    }

    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The one line a script parses.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT connections={} requested={} rss_base_kib={} rss_kib={} per_conn_bytes={:.0} per_conn_kib={:.2} \
             opened_per_sec={:.0} target_connections={TARGET_CONNECTIONS} target_count_reached={} \
             within_target_bytes={} target_reached={}",
            self.connections,
            self.requested,
            self.rss_base_kib,
            self.rss_kib,
            self.per_conn_bytes,
            self.per_conn_kib,
            self.opened_per_sec,
            self.target_count_reached,
            self.within_target_bytes,
            self.target_reached,
        )
    }
}

impl std::fmt::Display for IdleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.connections;
        writeln!(f, "idle: {n} WebSocket connections held by one connect process")?;
        writeln!(
            f,
            "  asked       {} (open-files limit {} / hard {}: at most {} here)",
            self.requested, self.nofile_soft, self.nofile_hard, self.cap
        )?;
        if let Some(why) = &self.capped {
            writeln!(f, "  CAPPED      {why}")?;
        }
        writeln!(
            f,
            "  opened      {} of {} in {:.2} s = {:.0}/s, from {} source addresses; {} failed, {} dropped",
            self.handshakes_ok,
            self.attempted,
            self.open_secs,
            self.opened_per_sec,
            self.source_addrs,
            self.failed,
            self.dropped
        )?;
        if let Some(e) = &self.first_error {
            writeln!(f, "  first error {e}")?;
        }
        writeln!(f, "  connect     reports {} open (gauge matchday_connect_connections)", self.connect_reported)?;
        writeln!(
            f,
            "  RSS         {} KiB idle -> {} KiB (anon {} -> {} KiB), measured after a ping round ({} ms)",
            self.rss_base_kib, self.rss_kib, self.rss_anon_base_kib, self.rss_anon_kib, self.connect_ping_interval_ms
        )?;
        writeln!(
            f,
            "  per conn    {:.0} bytes = {:.2} KiB resident in connect (target {:.0} KiB: {:.2}x); kernel, outside RSS: ~{:.0} bytes (slab, both ends, machine-wide)",
            self.per_conn_bytes,
            self.per_conn_kib,
            TARGET_BYTES_PER_CONN / 1024.0,
            self.per_conn_bytes / TARGET_BYTES_PER_CONN,
            self.kernel_slab_per_conn_bytes,
        )?;
        writeln!(
            f,
            "  target      {TARGET_CONNECTIONS} connections: {}; ≤ {:.0} KiB each: {}",
            if self.target_count_reached { "reached" } else { "NOT reached" },
            TARGET_BYTES_PER_CONN / 1024.0,
            if self.within_target_bytes { "yes" } else { "no" },
        )?;
        write!(f, "{}", self.result_line())
    }
}

/// Runs `bench idle`: connect as a child process for `cfg` (prefix, addresses and log format
/// overridden), N idle clients, RSS before and after; keys removed afterwards.
pub async fn idle(mut cfg: Config, opts: IdleOptions) -> anyhow::Result<IdleReport> {
    let limits = common::limits::raise_open_files().context("reading the open-files limit")?;
    let cap = usize::try_from(limits.soft.saturating_sub(FD_MARGIN)).unwrap_or(usize::MAX);
    let plan = Plan { requested: opts.connections, n: opts.connections.min(cap), cap, limits };
    if let Some(why) = plan.capped() {
        eprintln!("bench idle: CAPPED: {why}");
    }
    cfg.redis.prefix = crate::fresh_prefix();
    cfg.node.id = format!("bench-idle{}", &cfg.redis.prefix[6..14]);
    // Every idle client comes from this host and never logs in: lift the per-address cap and the
    // login deadline (docs/security.md) for the measurement.
    cfg.connect.max_connections_per_addr = u32::MAX;
    cfg.connect.login_timeout_ms = 24 * 3600 * 1000;
    cfg.validate()?;
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let program = match &opts.program {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("finding the matchday executable")?,
    };
    let result = match ChildConnect::start(&program, &cfg).await {
        Ok(mut child) => {
            let result = measure(&mut child, &cfg, &opts, &plan).await;
            child.stop().await;
            result
        }
        Err(e) => Err(e),
    };
    crate::cleanup(&redis).await;
    redis.close().await;
    result
}

/// How many connections, and why no more.
struct Plan {
    requested: usize,
    n: usize,
    cap: usize,
    limits: common::limits::OpenFiles,
}

impl Plan {
    fn capped(&self) -> Option<String> {
        (self.n < self.requested).then(|| {
            format!(
                "{} connections need {} open files in connect and as many here, but the open-files limit is {} \
                 (hard {}), so {} are opened. To hold more, {}",
                self.requested,
                self.requested as u64 + FD_MARGIN,
                self.limits.soft,
                self.limits.hard,
                self.n,
                common::limits::RAISE_HINT
            )
        })
    }
}

/// Baseline, open, settle, measure. The clients are closed when this returns.
async fn measure(
    child: &mut ChildConnect,
    cfg: &Config,
    opts: &IdleOptions,
    plan: &Plan,
) -> anyhow::Result<IdleReport> {
    let n = plan.n;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = child.stable_memory().await?;
    let slab_base = slab_kib();

    let sources = source_addresses(n);
    let mut holders = JoinSet::new();
    let dropped = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let ticker = opts.progress.then(|| {
        let opened = opened.clone();
        crate::progress(
            move || opened.load(Ordering::Relaxed) as u64,
            move |now, last_second| format!("bench idle: {now} of {n} open, {last_second} in the last second"),
        )
    });
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(opts.seconds.max(1));
    let ws_addr = child.ws;
    let mut dials = futures_util::stream::iter(0..n)
        .map(|i| {
            let source = sources[i % sources.len()];
            async move { tokio::time::timeout(DIAL_TIMEOUT, dial(ws_addr, source)).await.map_err(anyhow::Error::from)? }
        })
        .buffer_unordered(DIALERS);
    let (mut attempted, mut failed, mut first_error) = (0, 0, None);
    loop {
        let next = tokio::select! {
            next = dials.next() => next,
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("bench idle: the opening phase ran out of time ({} s)", opts.seconds);
                break;
            }
        };
        let Some(dialed) = next else { break };
        attempted += 1;
        match dialed {
            Ok(ws) => {
                opened.fetch_add(1, Ordering::Relaxed);
                holders.spawn(hold(ws, dropped.clone()));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    drop(dials);
    let open_secs = started.elapsed().as_secs_f64();
    if let Some(t) = ticker {
        t.abort();
    }
    let handshakes_ok = opened.load(Ordering::Relaxed);

    // connect counts a connection once its handshake is done on its side; then let one ping round
    // go by so every connection has sent a ping and read the pong, and read RSS until it settles.
    let gauge_deadline = Instant::now() + Duration::from_secs(30);
    while child.connections().await.unwrap_or(0) < (handshakes_ok - dropped.load(Ordering::Relaxed)) as u64
        && Instant::now() < gauge_deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ping = Duration::from_millis(cfg.connect.ping_interval_ms);
    tokio::time::sleep(ping.min(Duration::from_secs(60)) + Duration::from_secs(1)).await;
    let after = child.stable_memory().await?;
    let slab_after = slab_kib();
    let connect_reported = child.connections().await?;
    let dropped = dropped.load(Ordering::Relaxed);
    let live = handshakes_ok - dropped;

    // connect closes its side first (1001 on shutdown), so the clients' ports are not left in
    // TIME_WAIT; the holders end as their connections close, the rest are aborted.
    child.stop().await;
    holders.shutdown().await;

    let per_conn = |after: u64, before: u64| {
        if live == 0 { 0.0 } else { (after as f64 - before as f64) * 1024.0 / live as f64 }
    };
    let per_conn_bytes = per_conn(after.rss_kib, base.rss_kib);
    let target_count_reached = live >= TARGET_CONNECTIONS && connect_reported >= TARGET_CONNECTIONS as u64;
    let within_target_bytes = live > 0 && per_conn_bytes <= TARGET_BYTES_PER_CONN;
    Ok(IdleReport {
        requested: plan.requested,
        cap: plan.cap,
        capped: plan.capped(),
        nofile_soft: plan.limits.soft,
        nofile_hard: plan.limits.hard,
        source_addrs: sources.len(),
        attempted,
        handshakes_ok,
        failed,
        first_error,
        dropped,
        connections: live,
        connect_reported,
        open_secs,
        opened_per_sec: handshakes_ok as f64 / open_secs,
        rss_base_kib: base.rss_kib,
        rss_kib: after.rss_kib,
        rss_anon_base_kib: base.anon_kib,
        rss_anon_kib: after.anon_kib,
        per_conn_bytes,
        per_conn_kib: per_conn_bytes / 1024.0,
        kernel_slab_per_conn_bytes: match (slab_base, slab_after) {
            (Some(b), Some(a)) => per_conn(a, b),
            _ => 0.0,
        },
        connect_ping_interval_ms: cfg.connect.ping_interval_ms,
        target_count_reached,
        within_target_bytes,
        target_reached: target_count_reached && within_target_bytes,
    })
}

/// 127.0.0.2, .3, …: enough that none needs more than PER_SOURCE ephemeral ports, at least two.
fn source_addresses(n: usize) -> Vec<IpAddr> {
    let ports = ephemeral_ports().unwrap_or(28_232);
    let per_source = PER_SOURCE.min(ports * 7 / 10).max(1);
    let count = n.div_ceil(per_source).clamp(2, 250);
    (0..count).map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k as u8))).collect()
}

/// The size of the ephemeral port range (`net.ipv4.ip_local_port_range`).
fn ephemeral_ports() -> Option<usize> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = range.split_whitespace().map(|p| p.parse::<usize>().ok());
    let (low, high) = (it.next()??, it.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// One client: TCP from `source`, then the WebSocket handshake on /ws, with small buffers (this
/// process holds N of them too).
async fn dial(server: SocketAddr, source: IpAddr) -> anyhow::Result<Client> {
    let opts =
        Options { bind: Some(source), read_buffer_bytes: 256, reply_timeout: HOLD_AT_MOST, ..Options::default() };
    Client::connect_with(&format!("ws://{server}/ws"), opts).await.with_context(|| format!("connecting from {source}"))
}

/// Keeps one client open and reading (which answers connect's pings) until it closes.
async fn hold(mut c: Client, dropped: Arc<AtomicUsize>) {
    let _ = c.wait_closed().await;
    dropped.fetch_add(1, Ordering::Relaxed);
}
