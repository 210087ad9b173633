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

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::{Config, Redis};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
/// How long connect may take to start, and to stop after SIGTERM.
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

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
async fn dial(server: SocketAddr, source: IpAddr) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::new(source, 0)).with_context(|| format!("binding a client socket to {source}"))?;
    let tcp = socket.connect(server).await.with_context(|| format!("connecting from {source}"))?;
    let ws_cfg = WebSocketConfig::default().read_buffer_size(256).write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(format!("ws://{server}/ws"), tcp, Some(ws_cfg))
        .await
        .context("WebSocket handshake")?;
    Ok(ws)
}

/// Keeps one client open and reading (which answers connect's pings) until it closes.
async fn hold(mut ws: WebSocketStream<TcpStream>, dropped: Arc<AtomicUsize>) {
    while let Some(Ok(_)) = ws.next().await {}
    dropped.fetch_add(1, Ordering::Relaxed);
}

/// Resident memory of a process, from /proc/PID/status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Memory {
    rss_kib: u64,
    anon_kib: u64,
}

fn read_memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading connect's /proc status")?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Ok(Memory {
        rss_kib: field("VmRSS:").context("no VmRSS in /proc status")?,
        anon_kib: field("RssAnon:").unwrap_or(0),
    })
}

/// Kernel slab memory of the whole machine (/proc/meminfo `Slab`), KiB.
fn slab_kib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("Slab:"))?;
    line["Slab:".len()..].split_whitespace().next()?.parse().ok()
}

/// `matchday connect` as a child process, with its listen and admin addresses.
struct ChildConnect {
    child: Child,
    pid: u32,
    ws: SocketAddr,
    admin: SocketAddr,
    /// The last lines of its log, for errors.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ChildConnect {
    /// Starts connect for `cfg` on 127.0.0.1 (ports picked by the kernel, read from its log).
    async fn start(program: &Path, cfg: &Config) -> anyhow::Result<ChildConnect> {
        let c = &cfg.connect;
        let mut command = Command::new(program);
        command
            .args(["connect", "--node-id", &cfg.node.id, "--group", &cfg.node.group.to_string()])
            .env("RUST_LOG", "info")
            .env("MATCHDAY__LOG__FORMAT", "json")
            .env("MATCHDAY__REDIS__URL", &cfg.redis.url)
            .env("MATCHDAY__REDIS__PREFIX", &cfg.redis.prefix)
            .env("MATCHDAY__REDIS__POOL_SIZE", cfg.redis.pool_size.to_string())
            .env("MATCHDAY__REDIS__COMMAND_TIMEOUT_MS", cfg.redis.command_timeout_ms.to_string())
            .env("MATCHDAY__QUEUE__HEARTBEAT_INTERVAL_MS", cfg.queue.heartbeat_interval_ms.to_string())
            .env("MATCHDAY__QUEUE__HEARTBEAT_TTL_MS", cfg.queue.heartbeat_ttl_ms.to_string())
            .env("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__CONNECT__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__CONNECT__MAX_FRAME_BYTES", c.max_frame_bytes.to_string())
            .env("MATCHDAY__CONNECT__OUTBOUND_QUEUE", c.outbound_queue.to_string())
            .env("MATCHDAY__CONNECT__PING_INTERVAL_MS", c.ping_interval_ms.to_string())
            .env("MATCHDAY__CONNECT__IDLE_TIMEOUT_MS", c.idle_timeout_ms.to_string())
            .env("MATCHDAY__CONNECT__RATE_BURST", c.rate_burst.to_string())
            .env("MATCHDAY__CONNECT__RATE_PER_SEC", c.rate_per_sec.to_string())
            .env("MATCHDAY__CONNECT__MAX_BAD_FRAMES", c.max_bad_frames.to_string())
            .env("MATCHDAY__CONNECT__REPLY_BATCH", c.reply_batch.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("starting {} connect", program.display()))?;
        let pid = child.id().context("connect exited at once")?;
        // Its log goes to stdout; its stderr (start-up errors) is ours.
        let stdout = child.stdout.take().context("connect's stdout")?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(read_log(stdout, log.clone(), tx));
        let addresses = tokio::time::timeout(CHILD_TIMEOUT, async {
            let (mut ws, mut admin) = (None, None);
            while let Some(heard) = rx.recv().await {
                match heard {
                    Listening::Ws(a) => ws = Some(a),
                    Listening::Admin(a) => admin = Some(a),
                }
                if let (Some(ws), Some(admin)) = (ws, admin) {
                    return Some((ws, admin));
                }
            }
            None
        })
        .await;
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut me = ChildConnect { child, pid, ws: unspecified, admin: unspecified, log };
        match addresses {
            Ok(Some((ws, admin))) => (me.ws, me.admin) = (ws, admin),
            _ => {
                me.stop().await;
                anyhow::bail!("connect did not start (its last log lines: {})", me.last_lines());
            }
        }
        Ok(me)
    }

    fn last_lines(&self) -> String {
        self.log.lock().expect("log lock").iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    /// RSS once it stops moving (two reads a second apart within 64 KiB; at most 10 reads).
    async fn stable_memory(&mut self) -> anyhow::Result<Memory> {
        let mut last = read_memory(self.pid)?;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(Some(status)) = self.child.try_wait() {
                anyhow::bail!("connect exited ({status}); its last log lines: {}", self.last_lines());
            }
            let now = read_memory(self.pid)?;
            let settled = now.rss_kib.abs_diff(last.rss_kib) <= 64;
            last = now;
            if settled {
                break;
            }
        }
        Ok(last)
    }

    /// Open connections by connect's gauge on /metrics.
    async fn connections(&self) -> anyhow::Result<u64> {
        let mut tcp = TcpStream::connect(self.admin).await.context("connecting to connect's /metrics")?;
        tcp.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.admin).as_bytes())
            .await?;
        let mut text = String::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_string(&mut text)).await??;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("matchday_connect_connections "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64))
    }

    /// SIGTERM, then wait; killed if it has not stopped in time.
    async fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        match tokio::time::timeout(CHILD_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if !status.success() => {
                tracing::warn!(%status, "bench idle: connect exited with an error; its last log lines: {}", self.last_lines());
            }
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("bench idle: connect did not stop in {CHILD_TIMEOUT:?}; killed");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// What connect's log says it listens on.
enum Listening {
    Ws(SocketAddr),
    Admin(SocketAddr),
}

/// Reads connect's JSON log (its stdout) to its end: reports the listen addresses, relays warnings and errors
/// to stderr, keeps the last lines.
async fn read_log(
    stdout: tokio::process::ChildStdout,
    log: Arc<Mutex<VecDeque<String>>>,
    tx: tokio::sync::mpsc::UnboundedSender<Listening>,
) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let parsed: Option<serde_json::Value> = serde_json::from_str(&line).ok();
        if let Some(v) = &parsed {
            let message = v["message"].as_str().unwrap_or("");
            let listen = v["listen"].as_str().and_then(|a| a.parse::<SocketAddr>().ok());
            match (listen, message) {
                (Some(a), m) if m.starts_with("connect listening") => {
                    let _ = tx.send(Listening::Ws(a));
                }
                (Some(a), m) if m.starts_with("admin server") => {
                    let _ = tx.send(Listening::Admin(a));
                }
                _ => {}
            }
            if matches!(v["level"].as_str(), Some("WARN" | "ERROR")) {
                eprintln!("connect: {line}");
            }
        } else {
            eprintln!("connect: {line}");
        }
        let mut log = log.lock().expect("log lock");
        if log.len() == 20 {
            log.pop_front();
        }
        log.push_back(line);
    }
}
