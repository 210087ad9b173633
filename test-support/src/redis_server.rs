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
    /// `--replicaof 127.0.0.1 <port>` for a replica.
    primary: Option<u16>,
    /// A TLS port besides the plain one, with a development certificate ([`RedisServer::start_tls`]).
    tls: Option<Box<(u16, common::tls::DevCert)>>,
}

impl RedisServer {
    /// Starts a redis-server (from PATH or /usr/bin) on a free port; waits until it answers PING.
    pub async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("a directory for the AOF");
        let mut server = RedisServer { port, dir, child: None, primary: None, tls: None };
        server.spawn().await;
        server
    }

    /// [`RedisServer::start`], also serving TLS on a port of its own with a certificate for
    /// 127.0.0.1 signed by a throwaway CA ([`RedisServer::tls_url`], [`RedisServer::tls_ca`]).
    pub async fn start_tls() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let tls_port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("a directory for the AOF");
        let dev = common::tls::development(&dir.path().join("tls"), &["127.0.0.1"]).expect("a development certificate");
        let mut server = RedisServer { port, dir, child: None, primary: None, tls: Some(Box::new((tls_port, dev))) };
        server.spawn().await;
        server
    }

    /// `rediss://` to the TLS port.
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.tls.as_ref().expect("started with start_tls").0)
    }

    /// The CA file that signed the TLS port's certificate.
    pub fn tls_ca(&self) -> String {
        self.tls.as_ref().expect("started with start_tls").1.ca.display().to_string()
    }

    /// A replica of `primary` (same settings, own port and directory); returns once its link to
    /// the primary is up and the initial sync is done.
    pub async fn replica_of(primary: &RedisServer) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("a directory for the AOF");
        let mut server = RedisServer { port, dir, child: None, primary: Some(primary.port), tls: None };
        server.spawn().await;
        let deadline = tokio::time::Instant::now() + crate::DEADLINE;
        while !info(port, "replication").await.contains("master_link_status:up") {
            assert!(tokio::time::Instant::now() < deadline, "the replica on {port} did not sync");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// SIGSTOP: the server holds its connections but answers nothing (a stalled replica).
    pub fn pause(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// SIGCONT after [`RedisServer::pause`].
    pub fn resume(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.as_ref().and_then(Child::id).expect("redis-server is running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).expect("signal redis-server");
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
        let replica = self.primary.map(|p| vec!["--replicaof".to_owned(), "127.0.0.1".to_owned(), p.to_string()]);
        let tls = self.tls.as_deref().map(|(port, dev)| {
            let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
            vec![
                "--tls-port".to_owned(),
                port.to_string(),
                "--tls-cert-file".to_owned(),
                path(&dev.cert),
                "--tls-key-file".to_owned(),
                path(&dev.key),
                "--tls-ca-cert-file".to_owned(),
                path(&dev.ca),
                "--tls-auth-clients".to_owned(),
                "no".to_owned(),
            ]
        });
        let child = Command::new(program)
            .args(args)
            .args(replica.unwrap_or_default())
            .args(tls.unwrap_or_default())
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

/// `INFO <section>` of the Redis on `port` (empty when it does not answer).
async fn info(port: u16, section: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return String::new() };
    if s.write_all(format!("INFO {section}\r\n").as_bytes()).await.is_err() {
        return String::new();
    }
    let mut buf = vec![0u8; 16 * 1024];
    match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        _ => String::new(),
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

/// The local Redis Cluster of `scripts/cluster.sh` (3 primaries, 3 replicas on ports 7380–7385),
/// started on first use in this test process and left running (`scripts/cluster.sh down` stops
/// it); returns its URL (`redis-cluster://…`).
pub async fn cluster_url() -> String {
    static URL: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    URL.get_or_init(|| async {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster.sh");
        let out = Command::new(&script).arg("up").output().await.expect("run scripts/cluster.sh up");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "scripts/cluster.sh up failed:\n{text}{}", String::from_utf8_lossy(&out.stderr));
        text.lines()
            .find_map(|l| l.strip_prefix("redis.url = "))
            .unwrap_or_else(|| panic!("no URL in the output of scripts/cluster.sh up:\n{text}"))
            .to_owned()
    })
    .await
    .clone()
}
