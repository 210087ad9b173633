//! The README's promise, checked: `matchday up` (the real binary) serves a client written in
//! another language. Runs clients/python/smoke.py (websockets + msgpack) against it, in
//! MessagePack binary frames and JSON text frames, then stops the server with SIGINT.
//!
//! The Python interpreter comes from MATCHDAY_TEST_PYTHON, else `.venv/bin/python` (both set up by
//! scripts/deps.sh); without one the test fails and says how to get it.

use std::path::PathBuf;
use std::process::Command;

use crate::up::Up;

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
/// `tag` keeps the key prefix, database and folder apart from the other runs'.
fn smoke(args: &[&str], tag: &str) {
    let up = Up::start(args, &format!("py{tag}"));
    let tls = args.contains(&"--tls");
    let scheme = if tls { "wss" } else { "ws" };
    let url = up.ws_url.clone();
    assert!(url.starts_with(&format!("{scheme}://127.0.0.1:")) && url.ends_with("/ws"), "{url}");
    assert_eq!(up.ca.is_some(), tls, "the development CA is printed with --tls only");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/python/smoke.py");
    let out = Command::new(python()).arg(&script).arg(&url).args(up.ca.clone()).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = up.stop();
    assert!(out.status.success(), "the Python client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert_eq!(stdout.matches("ok ").count(), 24, "every check ran:\n{stdout}");
    assert!(status.success(), "matchday up exits cleanly on SIGINT: {status}");
}
