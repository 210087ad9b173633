//! End-to-end: connect and logic on port 0 against the real Redis, driven by real WebSocket clients.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use protocol::{ClientHead, msg};
use serde_json::json;
use test_support::proxy::Proxy;
use test_support::raw::{self, RawWs, Read};
use test_support::{Client, Stack, TestEnv, eventually, spawn_connect, spawn_logic};

const PW: &str = "secret-pw";

#[tokio::test]
async fn a_hundred_concurrent_clients_register_log_in_and_read_their_balance() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;
    let grant = stack.cfg.logic.signup_grant;
    let runs = (0..100).map(|i| {
        let addr = stack.addr;
        async move {
            let mut c = Client::connect(addr).await;
            let name = format!("player{i:03}");
            let uid = c.register(&name, PW).await;
            let session = c.login(&name, PW).await;
            assert_eq!(session["user_id"].as_u64(), Some(uid));
            assert_eq!(session["balance"].as_i64(), Some(grant));
            let balance = c.call(msg::BALANCE, json!({})).await;
            assert_eq!((balance.code(), balance.body["balance"].as_i64()), (0, Some(grant)));
            uid
        }
    });
    let mut uids = join_all(runs).await;
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 100, "100 distinct users");
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn sessions_login_resume_logout() {
    sessions_story(TestEnv::new().await).await;
}

/// Register, log in, resume on a new connection, log out: on `env`'s Redis (one, or the cluster:
/// `cluster::the_sign_in_path_runs_on_the_cluster_each_script_in_one_slot`).
pub(crate) async fn sessions_story(env: TestEnv) {
    let stack = Stack::spawn(env.node(1)).await;
    let mut c = stack.client().await;
    let ping = c.call(msg::PING, json!({})).await;
    assert_eq!(ping.code(), 0);
    assert!(ping.body["ts"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(c.call(msg::PROFILE, json!({})).await.code(), 4, "profile before login");
    assert_eq!(c.call(msg::BALANCE, json!({})).await.code(), 4, "balance before login");

    let uid = c.register("Trinity", PW).await;
    assert_eq!(
        c.call(msg::REGISTER, json!({"username": "trinity", "password": PW})).await.code(),
        1002,
        "names are case-insensitive"
    );
    assert_eq!(c.call(msg::LOGIN, json!({"username": "trinity", "password": "wrong-pw"})).await.code(), 1001);
    assert_eq!(c.call(msg::LOGIN, json!({"username": "nobody", "password": PW})).await.code(), 1001);
    let session = c.login("TRINITY", PW).await;
    let token = session["token"].as_str().unwrap().to_owned();
    let profile = c.call(msg::PROFILE, json!({})).await;
    assert_eq!(profile.code(), 0);
    assert_eq!((profile.body["user_id"].as_u64(), profile.body["username"].as_str()), (Some(uid), Some("Trinity")));
    assert_eq!(env.scan(&format!("{{*}}:online:{uid}")).await.len(), 1, "the user is online");

    // A new connection resumes with the token.
    let mut c2 = stack.client().await;
    let resumed = c2.call(msg::RESUME, json!({"token": token})).await;
    assert_eq!((resumed.code(), resumed.body["user_id"].as_u64()), (0, Some(uid)));
    assert_eq!(c2.call(msg::BALANCE, json!({})).await.body["balance"].as_i64(), Some(stack.cfg.logic.signup_grant));
    assert_eq!(c2.call(msg::RESUME, json!({"token": "f00"})).await.code(), 1008);

    // Logout ends the session: the token no longer resumes, and the connection is logged out.
    assert_eq!(c2.call(msg::LOGOUT, json!({})).await.code(), 0);
    assert_eq!(c2.call(msg::PROFILE, json!({})).await.code(), 4);
    let mut c3 = stack.client().await;
    assert_eq!(c3.call(msg::RESUME, json!({"token": token})).await.code(), 1008);
    drop((c, c2, c3));
    eventually("the user is offline once every connection is gone", || async {
        env.scan(&format!("{{*}}:online:{uid}")).await.is_empty().then_some(())
    })
    .await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn error_codes_in_messagepack_and_json_alike() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;
    let mut c = stack.client().await;
    // MessagePack binary frames.
    assert_eq!(c.call(999, json!({})).await.code(), 3, "unknown msgId (before login: connect answers)");
    assert_eq!(c.call(msg::REGISTER, json!({"username": 5})).await.code(), 7, "body of the wrong shape");
    assert_eq!(c.call(msg::REGISTER, json!(["not", "a", "map"])).await.code(), 7);
    c.send_binary(b"\xc1garbage".to_vec()).await;
    let r = c.recv().await;
    assert_eq!((r.head.id, r.head.seq, r.code()), (0, 0, 2), "garbage bytes");
    // JSON text frames get JSON text answers.
    assert_eq!(c.call_json(msg::PING, json!({})).await.code(), 0);
    assert_eq!(c.call_json(999, json!({})).await.code(), 3);
    assert_eq!(c.call_json(msg::REGISTER, json!({"username": []})).await.code(), 7);
    assert_eq!(c.call_json(msg::PROFILE, json!({})).await.code(), 4);
    c.send_text("{not json".into()).await;
    assert_eq!(c.recv().await.code(), 2);
    let uid = c.call_json(msg::REGISTER, json!({"username": "jsonista", "password": PW})).await;
    assert_eq!(uid.code(), 0);
    assert_eq!(c.call_json(msg::LOGIN, json!({"username": "jsonista", "password": PW})).await.code(), 0);
    let bal = c.call_json(msg::BALANCE, json!({})).await;
    assert_eq!(bal.body["balance"].as_i64(), Some(stack.cfg.logic.signup_grant));
    assert_eq!(c.call_json(999, json!({})).await.code(), 3, "unknown msgId (after login: logic answers)");
    assert_eq!(c.call(899, json!({})).await.code(), 3);
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn limits_close_oversized_frames_and_abusers_and_rate_limit_bursts() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.max_frame_bytes = 1024;
    cfg.connect.rate_burst = 20;
    cfg.connect.rate_per_sec = 1;
    cfg.connect.max_bad_frames = 3;
    let stack = Stack::spawn(cfg).await;

    let mut big = stack.client().await;
    big.send_binary(vec![0x92; 4096]).await;
    assert_eq!(big.closed().await, Some(1009), "too large");

    let mut abuser = stack.client().await;
    for _ in 0..4 {
        abuser.send_binary(b"junk".to_vec()).await;
    }
    for _ in 0..4 {
        assert_eq!(abuser.recv().await.code(), 2);
    }
    assert_eq!(abuser.closed().await, Some(1008), "closed after repeated bad frames");

    // A burst of 30 pings: the first 20 pass, the rest are refused with 5 (1 token per second refills).
    let mut bursty = stack.client().await;
    for seq in 1..=30u32 {
        let f = protocol::codec::encode_frame(&ClientHead { id: msg::PING, seq, ver: None }, &json!({})).unwrap();
        bursty.send_binary(f).await;
    }
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(bursty.recv().await.code());
    }
    // The burst of 20 always passes; of the other 10, only those a refilled token (1/s) lets through.
    let limited = codes.iter().filter(|c| **c == 5).count();
    assert!((5..=10).contains(&limited), "rate limited {limited} of 30: {codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 30 - limited);
    stack.stop().await;
}

#[tokio::test]
async fn an_idle_client_is_closed_and_shutdown_says_going_away() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.ping_interval_ms = 100;
    cfg.connect.idle_timeout_ms = 300;
    let stack = Stack::spawn(cfg).await;
    // A client that has gone quiet (not even answering pings): a raw socket after the handshake.
    let mut idle = RawWs::connect(stack.addr).await;
    let mut before_close = Vec::new();
    let close = loop {
        match idle.read().await {
            Read::Frame { opcode: raw::CLOSE, payload, .. } => break payload,
            Read::Frame { opcode, .. } => before_close.push(opcode),
            Read::Eof => panic!("the connection ended without a close frame, after {before_close:?}"),
        }
    };
    assert_eq!(close.get(..2), Some(&1000u16.to_be_bytes()[..]), "closed with 1000 (idle timeout): {close:?}");
    assert_eq!(before_close.first(), Some(&raw::PING), "it was pinged first: {before_close:?}");

    let mut c = stack.client().await;
    assert_eq!(c.call(msg::PING, json!({})).await.code(), 0);
    let shutdown = stack.shutdown.clone();
    let stopping = tokio::spawn(stack.stop());
    assert_eq!(c.closed().await, Some(1001));
    stopping.await.unwrap();
    assert!(shutdown.is_cancelled());
}

#[tokio::test]
async fn while_redis_is_unreachable_clients_get_code_6_at_once_and_connect_recovers() {
    let env = TestEnv::new().await;
    let redis_addr = "127.0.0.1:6379".parse().unwrap();
    let proxy = Proxy::start(redis_addr).await;
    // connect reaches Redis through the proxy; logic directly.
    let mut connect_cfg = env.node(1);
    connect_cfg.redis.url = format!("redis://{}/0", proxy.addr);
    connect_cfg.redis.reconnect_max_ms = 200;
    let shutdown = common::Shutdown::new();
    let (addr, _) = spawn_connect(connect_cfg.clone(), &shutdown).await;
    let mut logic_cfg = env.node(1);
    logic_cfg.node.id = connect_cfg.node.id.clone();
    spawn_logic(logic_cfg, &shutdown);

    let mut c = Client::connect(addr).await;
    assert_eq!(c.call(msg::PING, json!({})).await.code(), 0);
    proxy.cut();
    let started = Instant::now();
    let r = c.call(msg::PING, json!({})).await;
    assert_eq!(r.code(), 6, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "answered at once, not after a hang: {:?}", started.elapsed());
    proxy.restore();
    // connect reconnects by itself: pings are answered again within the deadline.
    let deadline = Instant::now() + test_support::DEADLINE;
    while c.call(msg::PING, json!({})).await.code() != 0 {
        assert!(Instant::now() < deadline, "connect did not reconnect to Redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn only_the_ws_path_upgrades() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;
    let err = test_support::matchday_client::Client::connect(&format!("ws://{}/other", stack.addr))
        .await
        .err()
        .expect("refused");
    assert_eq!(err.refusal().map(|r| r.status), Some(404), "{err}");
    stack.stop().await;
}
