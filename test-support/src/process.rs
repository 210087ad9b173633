//! Services as separate `matchday <role>` processes, for tests that send them real signals. Each
//! runs with the test's Redis prefix and queue timings (environment), a config file with the test's
//! staff tokens, and ports picked by the OS; its output is kept for the failure message.

use std::collections::HashMap;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Config;
use fred::prelude::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{ADMIN, OPERATOR, PAYMENT_SECRET, TestEnv, VIEWER, eventually};

/// One running `matchday <role>`.
pub struct Process {
    pub role: String,
    pub node_id: String,
    child: Child,
    log: Arc<Mutex<String>>,
    _config: tempfile::NamedTempFile,
}

impl Process {
    /// Starts `<program> <role> --node-id <id>` (program: the test's
    /// `env!("CARGO_BIN_EXE_matchday")`) for `env` (its prefix and queue timings), with `extra`
    /// environment settings (e.g. `("MATCHDAY__MYSQL__URL", url)`).
    pub fn spawn(program: &str, env: &TestEnv, role: &str, extra: &[(&str, &str)]) -> Process {
        let cfg = &env.cfg;
        let node_id = format!("{role}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut file = tempfile::NamedTempFile::new().expect("config file");
        std::io::Write::write_all(&mut file, staff_toml().as_bytes()).expect("write config");
        let mut cmd = Command::new(program);
        cmd.arg("--config").arg(file.path()).arg(role).args(["--node-id", &node_id]);
        for (k, v) in settings(cfg) {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.env("RUST_LOG", "info").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.kill_on_drop(true).spawn().expect("start matchday");
        let log = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for stream in [Box::new(out) as Box<dyn tokio::io::AsyncRead + Unpin + Send>, Box::new(err)] {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().expect("log");
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Process { role: role.to_owned(), node_id, child, log, _config: file }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the process is running")
    }

    /// Waits for the process's heartbeat (it is serving); returns its fields (pid, listen, ...).
    pub async fn ready(&self, env: &TestEnv) -> HashMap<String, String> {
        let key = env.keys().node(&self.role, &self.node_id);
        let pid = self.pid().to_string();
        let what = format!("{} {} is up", self.role, self.node_id);
        eventually(&what, || async {
            let fields: HashMap<String, String> = env.redis.pool.hgetall(&key).await.ok()?;
            (fields.get("pid") == Some(&pid)).then_some(fields)
        })
        .await
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).expect("signal the process");
    }

    /// Waits for the process to exit, at most `within`; panics with its output if it does not.
    pub async fn exited(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for the process"),
            Err(_) => panic!("{} did not exit within {within:?}; its output:\n{}", self.role, self.output()),
        }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.log.lock().expect("log").clone()
    }
}

/// The environment that points a process at the test's Redis prefix with its timings.
fn settings(cfg: &Config) -> Vec<(&'static str, String)> {
    let q = &cfg.queue;
    vec![
        ("MATCHDAY__REDIS__URL", cfg.redis.url.clone()),
        ("MATCHDAY__REDIS__PREFIX", cfg.redis.prefix.clone()),
        ("MATCHDAY__NODE__GROUP", cfg.node.group.to_string()),
        ("MATCHDAY__QUEUE__HEARTBEAT_INTERVAL_MS", q.heartbeat_interval_ms.to_string()),
        ("MATCHDAY__QUEUE__HEARTBEAT_TTL_MS", q.heartbeat_ttl_ms.to_string()),
        ("MATCHDAY__QUEUE__REAP_INTERVAL_MS", q.reap_interval_ms.to_string()),
        ("MATCHDAY__LOGIC__BLOCK_TIMEOUT_MS", cfg.logic.block_timeout_ms.to_string()),
        ("MATCHDAY__LOGIC__ARGON2_MEMORY_KIB", cfg.logic.argon2_memory_kib.to_string()),
        ("MATCHDAY__LOGIC__ARGON2_ITERATIONS", cfg.logic.argon2_iterations.to_string()),
        (
            "MATCHDAY__LOGIC__PASSWORD_ATTEMPTS_PER_ADDR_PER_MIN",
            cfg.logic.password_attempts_per_addr_per_min.to_string(),
        ),
        ("MATCHDAY__LOGIC__PASSWORD_HASHES_PER_SEC", cfg.logic.password_hashes_per_sec.to_string()),
        ("MATCHDAY__LOGIC__REGISTER_MAX_PER_ADDR", cfg.logic.register_max_per_addr.to_string()),
        ("MATCHDAY__LOGIC__LOGIN_MAX_FAILURES_PER_ADDR", cfg.logic.login_max_failures_per_addr.to_string()),
        ("MATCHDAY__LOGIC__MAX_QUEUED_HASHES", cfg.logic.max_queued_hashes.to_string()),
        ("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0".into()),
        ("MATCHDAY__CONNECT__LISTEN", "127.0.0.1:0".into()),
        ("MATCHDAY__GM__LISTEN", "127.0.0.1:0".into()),
    ]
}

/// The test's staff tokens and payment secret, as a config file (lists do not fit the environment).
fn staff_toml() -> String {
    let mut toml = format!("[gm]\npayment_secret = \"{PAYMENT_SECRET}\"\n");
    for (name, token, role) in [("vera", VIEWER, "viewer"), ("otto", OPERATOR, "operator"), ("ada", ADMIN, "admin")] {
        toml.push_str(&format!("[[gm.tokens]]\nname = \"{name}\"\ntoken = \"{token}\"\nrole = \"{role}\"\n"));
    }
    toml
}
