//! A private `redis-server` for tests that kill Redis: its own port and directory, appendonly on
//! with `appendfsync always` (what a money system runs, docs/operations.md), so a write Redis
//! answered survives a SIGKILL. Restarting it on the same port and directory reloads the AOF.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a redis-server (from PATH or /usr/bin) on a free port; waits until it answers PING.
    pub async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("a directory for the AOF");
        let mut server = RedisServer { port, dir, child: None };
        server.spawn().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: no shutdown, no final save — only what the AOF already holds survives.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }

    /// Starts it again on the same port and directory (it loads the AOF); waits for PING.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let program = ["redis-server", "/usr/bin/redis-server"]
            .into_iter()
            .find(|p| std::process::Command::new(p).arg("--version").output().is_ok())
            .expect("redis-server must be installed (scripts/deps.sh installs it)");
        let dir: PathBuf = self.dir.path().to_owned();
        let args = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.to_str().expect("utf-8 path"),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            "redis.log",
        ]
        .map(str::to_owned);
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + crate::DEADLINE;
        loop {
            if ping(self.port).await {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the private redis-server on {} did not start", self.port);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether Redis on `port` answers PING with PONG (not LOADING while it reads the AOF).
async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await, Ok(Ok(n)) if buf[..n].starts_with(b"+PONG"))
}
