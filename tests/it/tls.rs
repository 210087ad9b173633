//! TLS where it travels: Redis over `rediss://` with a private CA (the whole bet path's store), and
//! connect's `wss://` listener with its certificate. A throwaway CA signs the certificates
//! (`common::tls::development`); clients trust only it.

use std::sync::Arc;
use std::time::Duration;

use common::Redis;
use futures_util::{SinkExt, StreamExt};
use protocol::msg;
use serde_json::json;
use test_support::Stack;
use test_support::redis_server::RedisServer;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::Message;

/// A TLS connection to `addr` (as "localhost") trusting only the CA of the PEM file `ca`.
async fn tls_to(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in common::tls::certificates(ca).unwrap() {
        roots.add(cert).unwrap();
    }
    let client = tokio_rustls::rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await.expect("TLS handshake")
}

/// Every service reaches Redis through `rediss://` with `redis.tls_ca`: connect and logic serve a
/// sign-up, a login and a balance; a client that does not trust the CA gets no connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_run_on_redis_over_tls_trusting_a_private_ca() {
    let server = RedisServer::start_tls().await;
    let mut cfg = test_support::test_config();
    cfg.redis.url = server.tls_url();
    cfg.redis.tls_ca = server.tls_ca();
    let stack = Stack::spawn(cfg.clone()).await;
    let mut c = stack.client().await;
    let uid = c.register("tls_ada", "secret-pw").await;
    let session = c.login("tls_ada", "secret-pw").await;
    assert_eq!(session["user_id"].as_u64(), Some(uid));
    let r = c.call(msg::BALANCE, json!({})).await;
    assert_eq!((r.code(), r.body["balance"].as_i64()), (0, Some(cfg.logic.signup_grant)));
    // The state is in that Redis (read back over TLS).
    let redis = Redis::new(&cfg.redis).unwrap();
    redis.ready().await.unwrap();
    assert!(redis.keys.wallet(uid).starts_with(&cfg.redis.prefix));
    let balance: Option<i64> =
        fred::prelude::HashesInterface::hget(&redis.pool, redis.keys.wallet(uid), "balance").await.unwrap();
    assert_eq!(balance, Some(cfg.logic.signup_grant));
    redis.close().await;
    stack.stop().await;

    // Without the CA (the system's trust store) the certificate is refused: no command goes through.
    let mut untrusting = cfg.redis.clone();
    untrusting.tls_ca = String::new();
    let redis = Redis::new(&untrusting).unwrap();
    let ping = tokio::time::timeout(Duration::from_secs(3), redis.ready()).await;
    assert!(!matches!(ping, Ok(Ok(()))), "a client that does not trust the CA must not connect");
    // A CA for a URL without TLS is a mistake in the config, refused at start.
    let mut plain = cfg.redis.clone();
    plain.url = server.url();
    let err = Redis::new(&plain).err().expect("refused").to_string();
    assert!(err.contains("not a rediss:// URL"), "{err}");
}

/// With `connect.tls_cert` and `tls_key` the listener serves `wss://`: a client that trusts the
/// CA completes the TLS and WebSocket handshakes and is answered; a plain `ws://` upgrade on the
/// same port gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_serves_wss_with_its_certificate_and_refuses_plain_ws() {
    let dir = std::env::temp_dir().join(format!("md-wss-{}", uuid::Uuid::new_v4().simple()));
    let dev = common::tls::development(&dir, &["localhost", "127.0.0.1"]).unwrap();
    let mut cfg = test_support::test_config();
    cfg.connect.tls_cert = dev.cert.display().to_string();
    cfg.connect.tls_key = dev.key.display().to_string();
    let stack = Stack::spawn(cfg).await;

    let tls = tls_to(stack.addr, &dev.ca).await;
    let url = format!("wss://localhost:{}/ws", stack.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.expect("WebSocket upgrade over TLS");
    ws.send(Message::text(r#"[{"id":100,"seq":7},{}]"#)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a reply").unwrap().unwrap();
    let frame: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(
        (frame[0]["id"].as_u64(), frame[0]["seq"].as_u64(), frame[0]["code"].as_u64()),
        (Some(100), Some(7), Some(0))
    );
    drop(ws);

    let plain = tokio::net::TcpStream::connect(stack.addr).await.unwrap();
    let upgrade = tokio_tungstenite::client_async(format!("ws://127.0.0.1:{}/ws", stack.addr.port()), plain);
    let refused = tokio::time::timeout(Duration::from_secs(15), upgrade).await;
    assert!(matches!(refused, Ok(Err(_))), "a plain upgrade on a TLS listener fails");
    stack.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `GET /healthz` over TLS to `addr` is answered 200 "ok"; in plain HTTP on the same port it is not.
async fn assert_https_only(addr: std::net::SocketAddr, ca: &std::path::Path) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut tls = tls_to(addr, ca).await;
    tls.write_all(request).await.unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer}");
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), plain.read_to_end(&mut bytes)).await;
    assert!(!String::from_utf8_lossy(&bytes).contains("200 OK"), "plain HTTP is not served on an HTTPS listener");
}

/// With `gm.tls_cert` and `tls_key` gm serves HTTPS only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gm_serves_https_with_its_certificate() {
    let dir = std::env::temp_dir().join(format!("md-https-{}", uuid::Uuid::new_v4().simple()));
    let dev = common::tls::development(&dir, &["localhost"]).unwrap();
    let mut cfg = test_support::test_config();
    cfg.gm.tls_cert = dev.cert.display().to_string();
    cfg.gm.tls_key = dev.key.display().to_string();
    let shutdown = common::Shutdown::new();
    let addr = test_support::spawn_gm(cfg, &shutdown).await;
    assert_https_only(addr, &dev.ca).await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With `metrics.tls_cert` and `tls_key` a process's admin server (`/metrics`, `/healthz`,
/// `/readyz`) serves HTTPS only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_server_serves_https_with_its_certificate() {
    let dir = std::env::temp_dir().join(format!("md-admin-{}", uuid::Uuid::new_v4().simple()));
    let dev = common::tls::development(&dir, &["localhost"]).unwrap();
    let (cert, key) = (dev.cert.display().to_string(), dev.key.display().to_string());
    let front = common::http::Front::new("metrics", &cert, &key, &[], false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = common::Shutdown::new();
    let ready: common::telemetry::ReadyCheck = Arc::new(|| Box::pin(async { Ok(()) }));
    shutdown.tracker.spawn(common::telemetry::serve_admin(listener, front, ready, shutdown.clone()));
    assert_https_only(addr, &dev.ca).await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    std::fs::remove_dir_all(&dir).unwrap();
}
