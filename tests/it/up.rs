//! `matchday up` (the real binary) as a client's test sees it: started with a key prefix, database
//! and folder of its own, its printed addresses read, stopped with SIGINT and cleaned up after.
//! Used by the clients in other languages (tests/it/python_client.rs, tests/it/ts_client.rs).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `matchday up` and what it printed.
pub struct Up {
    child: Child,
    /// `ws://…/ws`, or `wss://…/ws` with `--tls`.
    pub ws_url: String,
    /// `http://host:port` of gm.
    pub gm_url: String,
    /// The admin token `up` made for this run.
    pub gm_token: String,
    /// The development CA (`--tls`) clients must trust.
    pub ca: Option<String>,
    prefix: String,
    database: String,
    var: std::path::PathBuf,
    cluster: bool,
}

impl Up {
    /// Starts `matchday up <args>`; `tag` keeps its prefix, database and folder apart from other runs'.
    pub fn start(args: &[&str], tag: &str) -> Up {
        let pid = std::process::id();
        let (prefix, database) = (format!("test:{tag}{pid}:"), format!("mdt_{tag}{pid}"));
        let var = std::env::temp_dir().join(format!("matchday-{tag}-{pid}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_matchday"))
            .arg("up")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("MATCHDAY__REDIS__PREFIX", &prefix)
            .env("MATCHDAY__CONNECT__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__GM__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__WEB__LISTEN", "127.0.0.1:0")
            .env("MATCHDAY__LOGIC__AVATAR_DIR", var.join("avatars"))
            .env("MATCHDAY__MYSQL__URL", format!("mysql://root@127.0.0.1:3306/{database}"))
            .env("MATCHDAY__UP__VAR_DIR", &var)
            .env("MATCHDAY__LOGIC__ARGON2_MEMORY_KIB", "1024")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start matchday up");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let started = Instant::now();
        let (mut ws_url, mut gm_url, mut gm_token, mut ca) = (None, None, None, None);
        // The addresses, up to the line that ends them.
        loop {
            let line = lines.next().expect("matchday up printed its addresses").expect("read stdout");
            let first = |rest: &str| rest.split_whitespace().next().map(str::to_owned);
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("WebSocket") {
                ws_url = first(rest);
            } else if let Some(rest) = line.strip_prefix("gm API") {
                gm_url = first(rest).map(|api| api.trim_end_matches("/api").to_owned());
            } else if let Some(rest) = line.strip_prefix("gm token") {
                gm_token = first(rest);
            } else if let Some(rest) = line.strip_prefix("TLS CA") {
                ca = first(rest);
            } else if line.starts_with("Press Ctrl-C") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "matchday up printed no addresses");
        }
        // The rest of its output is drained, so a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Up {
            child,
            ws_url: ws_url.expect("a WebSocket address"),
            gm_url: gm_url.expect("gm's address"),
            gm_token: gm_token.expect("a gm token"),
            ca,
            prefix,
            database,
            var,
            cluster: args.contains(&"--redis-cluster"),
        }
    }

    /// SIGINT, the exit status, and the run's keys, database and folder removed.
    pub fn stop(mut self) -> ExitStatus {
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let status = self.child.wait().expect("wait for matchday up");
        if self.cluster {
            // Every node of the local cluster (scripts/cluster.sh's ports), following redirects.
            for port in 7380..=7385 {
                delete_keys(&["-c", "-p", &port.to_string()], &self.prefix);
            }
        } else {
            delete_keys(&[], &self.prefix);
        }
        let drop_db = format!("DROP DATABASE IF EXISTS {}", self.database);
        let _ = Command::new("mysql").args(["-uroot", "-h127.0.0.1", "-e", &drop_db]).output();
        let _ = std::fs::remove_dir_all(&self.var);
        status
    }
}

/// Deletes the keys under `prefix` from the Redis `server` names (redis-cli's options), one at a
/// time (on a cluster each key may be in another slot).
fn delete_keys(server: &[&str], prefix: &str) {
    let keys = Command::new("redis-cli").args(server).args(["--scan", "--pattern", &format!("{prefix}*")]).output();
    if let Ok(out) = keys {
        for key in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = Command::new("redis-cli").args(server).arg("del").arg(key).output();
        }
    }
}
