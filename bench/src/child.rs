//! `matchday connect` as a child process of `bench idle`: started with the bench's config through
//! environment variables, its listen addresses read from its JSON log, its resident memory read
//! from /proc and its connection gauge from /metrics, stopped with SIGTERM.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use common::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long connect may take to start, and to stop after SIGTERM.
const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

/// Resident memory of a process, from /proc/PID/status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Memory {
    pub(crate) rss_kib: u64,
    pub(crate) anon_kib: u64,
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
pub(crate) fn slab_kib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("Slab:"))?;
    line["Slab:".len()..].split_whitespace().next()?.parse().ok()
}

/// `matchday connect` as a child process, with its listen and admin addresses.
pub(crate) struct ChildConnect {
    child: Child,
    pid: u32,
    pub(crate) ws: SocketAddr,
    admin: SocketAddr,
    /// The last lines of its log, for errors.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ChildConnect {
    /// Starts connect for `cfg` on 127.0.0.1 (ports picked by the kernel, read from its log).
    pub(crate) async fn start(program: &Path, cfg: &Config) -> anyhow::Result<ChildConnect> {
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
            .env("MATCHDAY__CONNECT__MAX_CONNECTIONS_PER_ADDR", c.max_connections_per_addr.to_string())
            .env("MATCHDAY__CONNECT__LOGIN_TIMEOUT_MS", c.login_timeout_ms.to_string())
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
    pub(crate) async fn stable_memory(&mut self) -> anyhow::Result<Memory> {
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
    pub(crate) async fn connections(&self) -> anyhow::Result<u64> {
        let admin = matchday_client::Gm::new(&format!("http://{}", self.admin)).with_timeout(Duration::from_secs(10));
        let text = admin
            .send(matchday_client::gm::Request::new("GET", "/metrics"))
            .await
            .context("reading connect's /metrics")?
            .text;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("matchday_connect_connections "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64))
    }

    /// SIGTERM, then wait; killed if it has not stopped in time.
    pub(crate) async fn stop(&mut self) {
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
