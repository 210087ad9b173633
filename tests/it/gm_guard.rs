//! gm's guards (issue 17): secrets refused at start (the real binary, `gm` and `up`, and the shipped
//! templates), the header-read timeout (a client that never finishes its headers is cut), the
//! request timeout, the concurrency limit (503 + Retry-After, no queue), the body limit (413 in the
//! API's error shape on every route), and the payment callback on a listener of its own.

use std::net::SocketAddr;
use std::process::Stdio;

use crate::BIN;
use common::{Config, Shutdown};
use fred::prelude::*;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{ADMIN, DEADLINE, PAYMENT_SECRET, TestEnv, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts gm for `cfg` on port 0, with the payment provider's listener when `payments`.
async fn spawn(cfg: Config, payments: bool, shutdown: &Shutdown) -> (SocketAddr, Option<SocketAddr>) {
    let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = api.local_addr().unwrap();
    let payments = if payments { Some(TcpListener::bind("127.0.0.1:0").await.unwrap()) } else { None };
    let paddr = payments.as_ref().map(|l| l.local_addr().unwrap());
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move { gm::run(cfg, gm::Listeners { api, payments }, s).await.expect("gm failed") });
    (addr, paddr)
}

/// Reads until the server closes the connection (EOF or reset), at most [`DEADLINE`]; what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    match tokio::time::timeout(DEADLINE, read_all).await {
        Ok(()) => Ok(got),
        Err(_) => Err(format!("the server still held the connection after {DEADLINE:?}")),
    }
}

/// The status and JSON body of a raw HTTP/1.1 response.
fn parse(response: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(response);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A POST whose headers promise a 100-byte body of which only `{` is sent: the request is held
/// (its handler waits for the body) until more comes.
async fn held_post(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/matches HTTP/1.1\r\nHost: gm\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nConnection: close\r\n\r\n{{"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.gm.header_timeout_ms = 300;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn(cfg, false, &shutdown).await;
    assert_eq!(Gm::new(addr).get("/api/whoami", ADMIN).await.status, 200, "a whole request is served");

    // Half a request head, then nothing: the server closes the connection, answering nothing.
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"GET /api/whoami HTTP/1.1\r\nHost: gm\r\nAuthorization: Bear").await.unwrap();
    let sent = read_until_closed(&mut partial).await.expect("a client that never finishes its headers is cut");
    assert!(sent.is_empty() || parse(&sent).0 >= 400, "{}", String::from_utf8_lossy(&sent));
    // Only half a request line.
    let mut line = TcpStream::connect(addr).await.unwrap();
    line.write_all(b"POST /api/mat").await.unwrap();
    read_until_closed(&mut line).await.expect("half a request line is cut too");
    // Nothing at all.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    read_until_closed(&mut silent).await.expect("a silent connection is cut too");
    assert_eq!(Gm::new(addr).get("/api/whoami", ADMIN).await.status, 200, "gm still serves");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_503_timeout() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.gm.request_timeout_ms = 300;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn(cfg, false, &shutdown).await;
    // The head is whole (the header timeout does not apply); the body never comes.
    let mut held = held_post(addr).await;
    let answer = read_until_closed(&mut held).await.expect("a held request is answered and closed");
    let (status, body) = parse(&answer);
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("timeout")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("300 ms"), "{body}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_get_503_busy_with_retry_after_at_once() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.gm.max_concurrent_requests = 1;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn(cfg, false, &shutdown).await;
    let gm = Gm::new(addr);
    assert_eq!(gm.get("/api/whoami", ADMIN).await.status, 200);

    // One request holds the only slot (it waits for its body); the next is refused, not queued.
    let mut held = held_post(addr).await;
    let refused = eventually("a second request is refused while the slot is held", || async {
        let r = gm.get("/api/whoami", ADMIN).await;
        (r.status == 503).then_some(r)
    })
    .await;
    assert_eq!(refused.error_code(), "busy", "{refused:?}");
    assert_eq!(refused.header("retry-after"), "1", "{refused:?}");
    assert_eq!(gm.get("/healthz", ADMIN).await.status, 503, "every route shares the limit");

    // The held request finishes (its body is not JSON: 400); the slot is free again.
    held.write_all(&[b' '; 99]).await.unwrap();
    let (status, body) = parse(&read_until_closed(&mut held).await.unwrap());
    assert_eq!(status, 400, "{body}");
    eventually("the slot is free once the held request is answered", || async {
        (gm.get("/api/whoami", ADMIN).await.status == 200).then_some(())
    })
    .await;
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_in_the_error_shape_on_every_route() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.gm.max_body_bytes = 1024;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn(cfg, false, &shutdown).await;
    let gm = Gm::new(addr);
    let big = json!({"type": "lol", "title": "x".repeat(2000)});

    // By Content-Length, on a route that reads JSON, one that reads no body, and the raw callback.
    for path in ["/api/matches", "/api/matches/1/approve", "/api/users/1/grant", "/api/ops/drain"] {
        let r = gm.post(path, ADMIN, &big).await;
        assert_eq!((r.status, r.error_code()), (413, "payload_too_large"), "{path}: {r:?}");
    }
    let r = gm.pay(&"o".repeat(2000), 1, 5).await;
    assert_eq!((r.status, r.error_code()), (413, "payload_too_large"), "{r:?}");

    // Chunked (no Content-Length): the limit holds on the bytes as they come.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let payload = serde_json::to_vec(&big).unwrap();
    let head = format!(
        "POST /api/matches HTTP/1.1\r\nHost: gm\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        payload.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&payload).await.unwrap();
    s.write_all(b"\r\n0\r\n\r\n").await.unwrap();
    let (status, body) = parse(&read_until_closed(&mut s).await.unwrap());
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");

    // Under the limit, a body is read as before (here: a validation error, naming the field).
    let r = gm.post("/api/matches", ADMIN, &json!({"type": "lol", "title": ""})).await;
    assert_eq!(r.status, 400, "{r:?}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_payment_callback_is_served_only_on_its_own_listener() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let cfg = env.node(1);
    let node_id = cfg.node.id.clone();
    let (api, payments) = spawn(cfg, true, &shutdown).await;
    let (staff, provider) = (Gm::new(api), Gm::new(payments.unwrap()));
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.user(3), [("id", "3"), ("username", "u3"), ("created_at", "1")]).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(3), [("balance", 100), ("ver", 0)]).await.unwrap();

    let order = staff.order(3, 250).await;
    let r = staff.pay(&order, 3, 250).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"), "the staff listener has no callback: {r:?}");
    let r = provider.pay(&order, 3, 250).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(350)), "{r:?}");

    // The provider's listener serves nothing else but /healthz.
    assert_eq!(provider.get_with("/healthz", &[]).await.status, 200);
    for path in ["/api/whoami", "/openapi.json", "/metrics", "/readyz", "/", "/api/nodes"] {
        let r = provider.get(path, ADMIN).await;
        assert_eq!((r.status, r.error_code()), (404, "not_found"), "{path} on the payments listener: {r:?}");
    }
    assert_eq!(staff.get("/api/whoami", ADMIN).await.status, 200);
    let doc = staff.get("/openapi.json", ADMIN).await;
    assert!(doc.body["paths"]["/api/payments/callback"].is_object(), "the document still describes the callback");
    let fields: std::collections::HashMap<String, String> = eventually("gm's heartbeat", || async {
        let key = env.keys().node("gm", &node_id);
        let f: std::collections::HashMap<String, String> = env.redis.pool.hgetall(key).await.ok()?;
        f.contains_key("payments_listen").then_some(f)
    })
    .await;
    assert_eq!(fields["payments_listen"], payments.unwrap().to_string());

    // gm.payments_listen set but no listener for it: gm refuses to start rather than serve the
    // callback on the staff listener.
    let mut cfg = env.node(1);
    cfg.gm.payments_listen = Some("127.0.0.1:1".parse().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = gm::run(cfg, listener, Shutdown::new()).await.unwrap_err().to_string();
    assert!(err.contains("gm.payments_listen"), "{err}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// Runs `matchday <args>` with `file` as its config and `envs`; it must exit (at most DEADLINE).
async fn refused(role: &str, file: Option<&str>, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("md-guard-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    if let Some(text) = file {
        let path = dir.join("matchday.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.arg(role)
        // Were it to start anyway: nothing on the usual ports, nothing in the usual key space.
        .env("MATCHDAY__GM__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__CONNECT__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__REDIS__PREFIX", format!("test:guard:{}:", std::process::id()))
        .env("MATCHDAY__UP__VAR_DIR", dir.join("var"))
        .env("MATCHDAY__MYSQL__URL", "mysql://root@127.0.0.1:3306/mdt_guard_never_created")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("matchday {role} started instead of refusing its config"))
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("listening") && !stderr.contains("is up"), "{role} got as far as serving: {stderr}");
    (out.status.code(), stderr)
}

#[tokio::test]
async fn gm_and_up_refuse_placeholder_and_short_secrets_before_binding() {
    test_support::test_config().validate().expect("the test tokens and payment secret pass the rules");
    let placeholder = "[[gm.tokens]]\nname = \"ops-admin\"\ntoken = \"CHANGE-ME-32-random-characters-0123456789\"\nrole = \"admin\"\n";
    let short_token =
        "[[gm.tokens]]\nname = \"dashboard\"\ntoken = \"0123456789abcdef0123456789abcde\"\nrole = \"viewer\"\n";
    for role in ["gm", "up"] {
        let (code, stderr) = refused(role, Some(placeholder), &[]).await;
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(
            stderr.contains(r#"gm.tokens["ops-admin"].token is still a CHANGE-ME placeholder"#),
            "{role}: {stderr}"
        );
        let (code, stderr) = refused(role, Some(short_token), &[]).await;
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(stderr.contains(r#"gm.tokens["dashboard"].token is shorter than 32 bytes"#), "{role}: {stderr}");
        let (code, stderr) = refused(role, None, &[("MATCHDAY__GM__PAYMENT_SECRET", "a-short-provider-secret")]).await;
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(stderr.contains("gm.payment_secret (MATCHDAY__GM__PAYMENT_SECRET) is shorter"), "{role}: {stderr}");
    }
}

#[tokio::test]
async fn the_unedited_systemd_templates_are_refused() {
    let root = env!("CARGO_MANIFEST_DIR");
    let toml = std::fs::read_to_string(format!("{root}/config/systemd/matchday.toml")).unwrap();
    let (code, stderr) = refused("gm", Some(&toml), &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(r#"gm.tokens["ops-admin"].token is still a CHANGE-ME placeholder"#), "{stderr}");

    // The environment file alone (tokens edited): its payment secret and passwords are placeholders.
    let env_file = std::fs::read_to_string(format!("{root}/config/systemd/matchday.env")).unwrap();
    let vars: Vec<(String, String)> = env_file
        .lines()
        .filter(|l| l.starts_with("MATCHDAY__"))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    assert!(vars.iter().any(|(k, v)| k == "MATCHDAY__GM__PAYMENTS_LISTEN" && !v.is_empty()), "{env_file}");
    let gm_listen = vars.iter().find(|(k, _)| k == "MATCHDAY__GM__LISTEN").map(|(_, v)| v.as_str()).unwrap();
    assert!(!gm_listen.starts_with("0.0.0.0"), "the template binds gm to an internal address: {gm_listen}");
    let mut envs: Vec<(&str, &str)> =
        vars.iter().filter(|(k, _)| !k.ends_with("__LISTEN")).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Each placeholder is named in turn as the one before it is edited.
    for (setting, edit) in [
        ("gm.payment_secret (MATCHDAY__GM__PAYMENT_SECRET)", ("MATCHDAY__GM__PAYMENT_SECRET", PAYMENT_SECRET)),
        ("redis.url (MATCHDAY__REDIS__URL)", ("MATCHDAY__REDIS__URL", "redis://127.0.0.1:6379/0")),
        (
            "mysql.url (MATCHDAY__MYSQL__URL)",
            ("MATCHDAY__MYSQL__URL", "mysql://root@127.0.0.1:3306/mdt_guard_never_created"),
        ),
    ] {
        let (code, stderr) = refused("gm", None, &envs).await;
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(setting) && stderr.contains("CHANGE-ME"), "{setting}: {stderr}");
        envs.retain(|(k, _)| *k != edit.0);
        envs.push(edit);
    }
}
