//! For `matchday up` on a developer machine: if Redis or MariaDB does not answer at the configured
//! (local) address, start a private instance under `up.var_dir` and stop it on exit; if the server
//! is not installed, say exactly what to install or configure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use common::Config;
use common::config::AppendFsync;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

#[derive(Clone, Copy, Debug)]
pub enum Dependency {
    Redis,
    Mysql,
}

impl Dependency {
    fn name(self) -> &'static str {
        match self {
            Dependency::Redis => "Redis",
            Dependency::Mysql => "MariaDB",
        }
    }

    fn url(self, cfg: &Config) -> &str {
        match self {
            Dependency::Redis => &cfg.redis.url,
            Dependency::Mysql => &cfg.mysql.url,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Dependency::Redis => 6379,
            Dependency::Mysql => 3306,
        }
    }

    fn setting(self) -> &'static str {
        match self {
            Dependency::Redis => "redis.url (MATCHDAY__REDIS__URL)",
            Dependency::Mysql => "mysql.url (MATCHDAY__MYSQL__URL)",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Dependency::Redis => "redis-server",
            Dependency::Mysql => "mariadb-server",
        }
    }
}

/// A server this process started; stopped with [`Private::stop`] (or killed when dropped).
pub struct Private {
    name: &'static str,
    child: Child,
}

impl Private {
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(_) => println!("stopped the private {}", self.name),
            Err(_) => {
                let _ = self.child.kill().await;
                println!("killed the private {} (it did not stop in 15 s)", self.name);
            }
        }
    }
}

/// The local Redis Cluster of a checkout's `scripts/cluster.sh`, started (or found running): its
/// `redis-cluster://` URL. It keeps running after `matchday up` ends (`scripts/cluster.sh down`
/// stops it).
pub async fn local_cluster() -> anyhow::Result<String> {
    let script = Path::new("scripts/cluster.sh");
    if !script.is_file() {
        bail!(
            "--redis-cluster starts the local cluster with scripts/cluster.sh, run from a matchday checkout; \
             elsewhere set redis.url to your cluster's redis-cluster://host:port?node=host:port URL"
        );
    }
    let out = Command::new("bash").arg(script).arg("up").output().await.context("cannot run scripts/cluster.sh up")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("scripts/cluster.sh up failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    }
    let url = text.lines().find_map(|l| l.strip_prefix("redis.url = ")).context("scripts/cluster.sh printed no URL")?;
    println!("Redis Cluster: 3 primaries and 3 replicas (scripts/cluster.sh; `scripts/cluster.sh down` stops it)");
    Ok(url.to_owned())
}

/// Makes sure `dep` answers; starts a private instance when it does not and can be started (never
/// for a Redis Cluster, which `--redis-cluster` or `scripts/cluster.sh up` starts).
pub async fn ensure(dep: Dependency, cfg: &mut Config) -> anyhow::Result<Option<Private>> {
    let (host, port) = host_port(dep.url(cfg), dep.default_port());
    if answers(&host, port).await {
        return Ok(None);
    }
    if dep.url(cfg).starts_with("redis-cluster://") {
        bail!(
            "the Redis Cluster does not answer at {host}:{port}; start it (matchday up --redis-cluster, or \
             scripts/cluster.sh up for the local one) or point {} elsewhere",
            dep.setting()
        );
    }
    let local = matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1" | "[::1]");
    if !local {
        bail!("{} does not answer at {host}:{port}; start it or point {} elsewhere", dep.name(), dep.setting());
    }
    let var = absolute(&cfg.up.var_dir)?;
    let private = match dep {
        Dependency::Redis => {
            start_redis(&var.join("redis"), bind_address(&host), port, cfg.up.redis_appendfsync).await?
        }
        Dependency::Mysql => start_mariadb(&var.join("mysql"), bind_address(&host), port).await?,
    };
    let Some(mut private) = private else {
        bail!(
            "{} does not answer at {host}:{port} and is not installed. Install it \
             (Debian/Ubuntu: sudo apt-get install {}) or set {} to a running server.",
            dep.name(),
            dep.package(),
            dep.setting()
        );
    };
    for _ in 0..100 {
        if answers(&host, port).await {
            println!("started a private {} on {host}:{port} (data in {})", dep.name(), var.display());
            return Ok(Some(private));
        }
        if let Ok(Some(status)) = private.child.try_wait() {
            bail!("the private {} exited ({status}); see its log under {}", dep.name(), var.display());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    private.stop().await;
    bail!("the private {} did not answer within 20 s; see its log under {}", dep.name(), var.display())
}

async fn start_redis(dir: &Path, bind: &str, port: u16, fsync: AppendFsync) -> anyhow::Result<Option<Private>> {
    let Some(bin) = find("redis-server") else { return Ok(None) };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string(), "--bind", bind, "--appendonly", "yes", "--save", ""])
        .args(["--appendfsync", fsync.as_str()])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .args(["--daemonize", "no"]);
    own_process_group(&mut cmd);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start redis-server")?;
    Ok(Some(Private { name: "Redis", child }))
}

async fn start_mariadb(dir: &Path, bind: &str, port: u16) -> anyhow::Result<Option<Private>> {
    let Some(bin) = find("mariadbd").or_else(|| find("mysqld")) else { return Ok(None) };
    let data = dir.join("data");
    let root = is_root().await;
    if !data.join("mysql").exists() {
        std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
        let install = find("mariadb-install-db")
            .or_else(|| find("mysql_install_db"))
            .context("mariadb-install-db is missing (Debian/Ubuntu: sudo apt-get install mariadb-server)")?;
        let mut cmd = Command::new(install);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if root {
            cmd.arg("--user=root");
        }
        let out = cmd.output().await.context("cannot run mariadb-install-db")?;
        if !out.status.success() {
            bail!("mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let mut cmd = Command::new(bin);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--port={port}"))
        .arg(format!("--bind-address={bind}"))
        .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", dir.join("error.log").display()));
    if root {
        cmd.arg("--user=root");
    }
    own_process_group(&mut cmd);
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).kill_on_drop(true).spawn().context("cannot start mariadbd")?;
    Ok(Some(Private { name: "MariaDB", child }))
}

/// Ctrl-C in a terminal signals the whole foreground process group: keep the servers out of it, so
/// they outlive the services' graceful shutdown and are stopped by [`Private::stop`] after it.
fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(not(unix))]
    let _ = cmd;
}

/// The address a private server listens on: the loopback address the URL names.
fn bind_address(host: &str) -> &'static str {
    if host.trim_start_matches('[').trim_end_matches(']') == "::1" { "::1" } else { "127.0.0.1" }
}

async fn answers(host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(tokio::time::timeout(Duration::from_secs(1), TcpStream::connect((host, port))).await, Ok(Ok(_)))
}

/// Host and port of a `scheme://[user[:pw]@]host[:port][/...]` URL.
fn host_port(url: &str, default_port: u16) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']').unwrap_or((v6, ""));
        let port = p.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default_port);
        return (format!("[{h}]"), port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(default_port)),
        None => (authority.to_owned(), default_port),
    }
}

/// An executable on PATH or in the sbin directories (where Debian puts mariadbd).
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

async fn is_root() -> bool {
    match Command::new("id").arg("-u").output().await {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim() == "0",
        Err(_) => false,
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_owned());
    }
    Ok(std::env::current_dir().context("cannot read the current directory")?.join(p))
}

#[cfg(test)]
mod tests {
    use super::{bind_address, host_port};

    #[test]
    fn parses_urls() {
        assert_eq!(host_port("redis://127.0.0.1:6380/0", 6379), ("127.0.0.1".into(), 6380));
        assert_eq!(host_port("redis://:secret@localhost/0", 6379), ("localhost".into(), 6379));
        assert_eq!(host_port("mysql://root@127.0.0.1:3307/matchday", 3306), ("127.0.0.1".into(), 3307));
        assert_eq!(host_port("redis://[::1]:7000", 6379), ("[::1]".into(), 7000));
    }

    #[test]
    fn binds_the_named_loopback() {
        assert_eq!(bind_address("[::1]"), "::1");
        assert_eq!(bind_address("127.0.0.1"), "127.0.0.1");
        assert_eq!(bind_address("localhost"), "127.0.0.1");
    }
}
