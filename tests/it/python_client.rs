//! The README's promise, checked: `matchday up` (the real binary) serves a client written in
//! another language. Runs clients/python/smoke.py (websockets + msgpack) against it, in
//! MessagePack binary frames and JSON text frames, then stops the server with SIGINT.
//!
//! The Python interpreter comes from MATCHDAY_TEST_PYTHON, else `.venv/bin/python` (both set up by
//! scripts/deps.sh); without one the test fails and says how to get it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MATCHDAY_TEST_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with websockets and msgpack: run scripts/deps.sh (it creates .venv), or set MATCHDAY_TEST_PYTHON"
    );
    venv
}

#[test]
fn a_python_client_talks_to_matchday_up() {
    smoke(&[], "");
}

/// `matchday up --redis-cluster` runs the whole system on the local Redis Cluster (started by
/// scripts/cluster.sh when it is not running), and the same client passes the same checks.
#[test]
fn a_python_client_talks_to_matchday_up_on_the_redis_cluster() {
    smoke(&["--redis-cluster"], "c");
}

/// `matchday up --tls` serves wss:// with a development certificate; the client trusts the CA it
/// prints and passes the same checks over TLS.
#[test]
fn a_python_client_talks_to_matchday_up_over_wss() {
    smoke(&["--tls"], "t");
}

/// Runs `matchday up` with `args`, the Python smoke client against it, and stops it with SIGINT;
/// `tag` keeps the key prefix, database and folder apart from the other run's.
fn smoke(args: &[&str], tag: &str) {
    let prefix = format!("test:py{tag}{}:", std::process::id());
    let database = format!("mdt_py{tag}{}", std::process::id());
    let var = std::env::temp_dir().join(format!("matchday-py{tag}-{}", std::process::id()));
    let mut up = Command::new(env!("CARGO_BIN_EXE_matchday"))
        .arg("up")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("MATCHDAY__REDIS__PREFIX", &prefix)
        .env("MATCHDAY__CONNECT__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__GM__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__MYSQL__URL", format!("mysql://root@127.0.0.1:3306/{database}"))
        .env("MATCHDAY__UP__VAR_DIR", &var)
        .env("MATCHDAY__LOGIC__ARGON2_MEMORY_KIB", "1024")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start matchday up");
    let stdout = up.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let tls = args.contains(&"--tls");
    let (mut url, mut ca) = (None, None);
    // The addresses, up to the line that ends them.
    loop {
        let line = lines.next().expect("matchday up printed its addresses").expect("read stdout");
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("WebSocket") {
            url = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("TLS CA") {
            ca = rest.split_whitespace().next().map(str::to_owned);
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "matchday up printed no addresses");
    }
    let url = url.expect("a WebSocket address");
    let scheme = if tls { "wss" } else { "ws" };
    assert!(url.starts_with(&format!("{scheme}://127.0.0.1:")) && url.ends_with("/ws"), "{url}");
    assert_eq!(ca.is_some(), tls, "the development CA is printed with --tls only");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/python/smoke.py");
    let out = Command::new(python()).arg(&script).arg(&url).args(ca).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    let _ = Command::new("kill").arg("-INT").arg(up.id().to_string()).status();
    let status = up.wait().expect("wait for matchday up");
    if args.contains(&"--redis-cluster") {
        // Every node of the local cluster (scripts/cluster.sh's ports), following redirects.
        for port in 7380..=7385 {
            cleanup(&["-c", "-p", &port.to_string()], &prefix);
        }
    } else {
        cleanup(&[], &prefix);
    }
    let _ = Command::new("mysql")
        .args(["-uroot", "-h127.0.0.1", "-e", &format!("DROP DATABASE IF EXISTS {database}")])
        .output();
    let _ = std::fs::remove_dir_all(&var);
    assert!(out.status.success(), "the Python client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert_eq!(stdout.matches("ok ").count(), 24, "every check ran:\n{stdout}");
    assert!(status.success(), "matchday up exits cleanly on SIGINT: {status}");
}

/// Deletes the keys under `prefix` from the Redis `server` names (redis-cli's options), one at a
/// time (on a cluster each key may be in another slot).
fn cleanup(server: &[&str], prefix: &str) {
    let keys = Command::new("redis-cli").args(server).args(["--scan", "--pattern", &format!("{prefix}*")]).output();
    if let Ok(out) = keys {
        for key in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = Command::new("redis-cli").args(server).arg("del").arg(key).output();
        }
    }
}
