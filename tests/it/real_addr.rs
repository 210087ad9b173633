//! The client's real address behind a proxy (docs/operations.md, "Behind a proxy"): from a trusted
//! proxy, the address its PROXY header or `X-Forwarded-For` gives is the one connect counts
//! connections by and writes into every frame's head (what logic limits and logs); from any other
//! peer such a header changes nothing.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use test_support::Stack;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws = WebSocketStream<TcpStream>;

/// A connect and a logic that trust `proxies` (with the PROXY protocol when `proxy_protocol`),
/// at most one connection per address group, and two failed logins per address.
async fn stack(proxies: &[&str], proxy_protocol: bool) -> Stack {
    let mut cfg = test_support::test_config();
    cfg.connect.trusted_proxies = proxies.iter().map(|p| p.to_string()).collect();
    cfg.connect.proxy_protocol = proxy_protocol;
    cfg.connect.max_connections_per_addr = 1;
    cfg.logic.login_max_failures_per_addr = 2;
    Stack::spawn(cfg).await
}

/// An upgrade with `X-Forwarded-For: xff` (when given).
async fn upgrade_xff(addr: SocketAddr, xff: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(x) = xff {
        req.headers_mut().insert("x-forwarded-for", x.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::client_async(req, TcpStream::connect(addr).await.unwrap()).await?;
    Ok(ws)
}

/// [`upgrade_xff`] once a slot closed a moment ago is free again (the server gives it back when
/// it has seen the close, just after the client did).
async fn upgrade_xff_eventually(addr: SocketAddr, xff: Option<&str>) -> Ws {
    test_support::eventually("a connection once the closed one's slot is back", || async {
        upgrade_xff(addr, xff).await.ok()
    })
    .await
}

/// An upgrade on a connection that starts with a PROXY v2 header naming `client`.
async fn upgrade_proxied(addr: SocketAddr, client: SocketAddr) -> Result<Ws, tungstenite::Error> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let header = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (client, SocketAddr::from(([127, 0, 0, 1], addr.port()))),
    );
    tcp.write_all(&header.build().unwrap()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp).await?;
    Ok(ws)
}

/// Sends one JSON frame and returns the reply's code.
async fn call(ws: &mut Ws, id: u16, body: Value) -> u64 {
    ws.send(Message::text(json!([{ "id": id, "seq": 1 }, body]).to_string())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a reply").unwrap().unwrap();
    let frame: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    frame[0]["code"].as_u64().unwrap()
}

/// Two failed logins from `ws`'s address, then the third attempt's code (5 once the address is
/// locked out: logic counts by the address connect wrote into the frames).
async fn third_failed_login(ws: &mut Ws) -> u64 {
    let wrong = json!({ "username": "nobody_here", "password": "wrong-password" });
    for _ in 0..2 {
        assert_eq!(call(ws, 102, wrong.clone()).await, 1001);
    }
    call(ws, 102, wrong).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_x_forwarded_for_is_the_address_counted_and_limited() {
    let stack = stack(&["127.0.0.1/32"], false).await;
    let mut a = upgrade_xff(stack.addr, Some("203.0.113.9")).await.expect("client A");
    // One connection per address: A's second is refused, B (another client behind the same proxy) is not.
    assert!(upgrade_xff(stack.addr, Some("203.0.113.9")).await.is_err(), "A's second connection");
    let mut b = upgrade_xff(stack.addr, Some("198.51.100.7")).await.expect("client B");
    // The failed-login limit locks out A's address, not the proxy's: B still gets its own answers.
    assert_eq!(third_failed_login(&mut a).await, 5);
    assert_eq!(call(&mut b, 102, json!({ "username": "nobody_here", "password": "wrong-password" })).await, 1001);
    drop((a, b));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_an_untrusted_peer_x_forwarded_for_is_ignored() {
    let stack = stack(&["10.0.0.0/8"], false).await;
    let mut a = upgrade_xff(stack.addr, Some("203.0.113.9")).await.expect("the first");
    // Both count as the peer itself (127.0.0.1), whatever they claim.
    assert!(upgrade_xff(stack.addr, Some("198.51.100.7")).await.is_err(), "a spoofed header gets no second slot");
    assert_eq!(third_failed_login(&mut a).await, 5);
    drop(a);
    // The lock is on 127.0.0.1: a new connection claiming another address is still locked out.
    let mut c = upgrade_xff_eventually(stack.addr, Some("192.0.2.1")).await;
    assert_eq!(call(&mut c, 102, json!({ "username": "nobody_here", "password": "wrong-password" })).await, 5);
    drop(c);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_proxy_protocol_header_gives_the_client() {
    let stack = stack(&["127.0.0.1/32"], true).await;
    let (a, b) = ("203.0.113.9:40000".parse().unwrap(), "[2001:db8::7]:40001".parse().unwrap());
    let mut first = upgrade_proxied(stack.addr, a).await.expect("client A");
    assert!(upgrade_proxied(stack.addr, a).await.is_err(), "A's second connection");
    let mut other = upgrade_proxied(stack.addr, b).await.expect("client B");
    assert_eq!(third_failed_login(&mut first).await, 5);
    assert_eq!(call(&mut other, 102, json!({ "username": "nobody_here", "password": "wrong-password" })).await, 1001);
    // With the PROXY protocol on, a trusted peer's connection without a header is refused.
    assert!(upgrade_xff(stack.addr, None).await.is_err(), "no PROXY header");
    drop((first, other));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_an_untrusted_peer_a_proxy_protocol_header_is_not_read() {
    let stack = stack(&["10.0.0.0/8"], true).await;
    // Its header is not taken for a PROXY header: the upgrade sees bytes that are no HTTP request.
    assert!(upgrade_proxied(stack.addr, "203.0.113.9:40000".parse().unwrap()).await.is_err());
    // A plain upgrade from it is served, as itself.
    let mut ws = upgrade_xff_eventually(stack.addr, None).await;
    assert_eq!(call(&mut ws, 100, json!({})).await, 0);
    drop(ws);
    stack.stop().await;
}

/// gm's access log names the client a trusted proxy gives in `X-Forwarded-For`, and the peer
/// itself when the peer is not trusted (its header is then ignored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gm_logs_the_client_a_trusted_proxy_names_and_ignores_an_untrusted_peers_header() {
    use tokio::io::AsyncReadExt;
    let env = test_support::TestEnv::new().await;
    for (trusted, client) in [(r#"["127.0.0.1/32"]"#, "203.0.113.9"), (r#"["10.0.0.0/8"]"#, "127.0.0.1")] {
        let bin = env!("CARGO_BIN_EXE_matchday");
        let mut gm =
            test_support::process::Process::spawn(bin, &env, "gm", &[("MATCHDAY__GM__TRUSTED_PROXIES", trusted)]);
        let listen: SocketAddr = gm.ready(&env).await["listen"].parse().expect("gm's address");
        let mut tcp = TcpStream::connect(listen).await.unwrap();
        let request =
            "GET /api/whoami HTTP/1.1\r\nHost: gm\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        let line = test_support::eventually("gm logged the request", || async {
            gm.output().lines().find(|l| l.contains("gm request") && l.contains("/api/whoami")).map(str::to_owned)
        })
        .await;
        assert!(line.contains(&format!("client={client}")), "trusted {trusted}: {line}");
        gm.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(gm.exited(Duration::from_secs(20)).await.success(), "{}", gm.output());
    }
}
