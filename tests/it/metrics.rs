//! `/metrics` is scraped after real traffic through every service, and holds the families operators
//! watch: frames in and out, queue depth and oldest-frame age, handler latency per msgId, replies by
//! code, live connections, outbox backlog and lag, settle rate, pushes.

use common::Shutdown;
use protocol::msg;
use serde_json::json;
use test_support::http::Gm;
use test_support::{
    OPERATOR, Stack, TestDb, TestEnv, VIEWER, eventually, spawn_dbsvr, spawn_gm, spawn_pushsvr, spawn_resultcenter,
};

const FAMILIES: &[&str] = &[
    "matchday_connect_connections",
    "matchday_connect_frames_forwarded_total",
    "matchday_connect_frames_refused_total",
    "matchday_connect_frames_out_total",
    "matchday_logic_frames_total",
    "matchday_logic_handler_seconds",
    "matchday_queue_depth",
    "matchday_queue_oldest_age_seconds",
    "matchday_bets_placed_total",
    "matchday_settle_bets_total",
    "matchday_push_events_total",
    "matchday_dbsvr_records_total",
    "matchday_dbsvr_backlog",
    "matchday_dbsvr_lag_seconds",
    "matchday_dbsvr_batch_seconds_bucket",
    "matchday_gm_requests_total",
    "matchday_gm_request_seconds_bucket",
    "matchday_build_info",
];

#[tokio::test]
async fn metrics_hold_every_family_after_real_traffic() {
    // The recorder first: what is recorded before it exists is not kept.
    common::telemetry::prometheus();
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let mut cfg = env.node(1);
    cfg.mysql.url = db.url.clone();
    let stack = Stack::spawn(cfg.clone()).await;
    let services = Shutdown::new();
    let gm = Gm::new(spawn_gm(cfg.clone(), &services).await);
    spawn_resultcenter(env.node(1), &services);
    spawn_pushsvr(env.node(1), &services);
    let mut dbsvr_cfg = env.node(1);
    dbsvr_cfg.mysql.url = db.url.clone();
    spawn_dbsvr(dbsvr_cfg, &services);

    let body = json!({
        "type": "lol", "title": "A vs B", "teams": ["A", "B"], "start_at": 1_900_000_000_000u64,
        "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}],
        "min_stake": 10, "max_stake": 1000
    });
    let mid = gm.post("/api/matches", OPERATOR, &body).await.body["match_id"].as_u64().unwrap();
    for a in ["approve", "open"] {
        assert_eq!(gm.post(&format!("/api/matches/{mid}/{a}"), OPERATOR, &json!({})).await.status, 200);
    }
    let mut c = stack.client().await;
    assert_eq!(c.call(msg::PROFILE, json!({})).await.code(), 4, "a refusal by connect");
    c.register("scraped", "secret-pw").await;
    c.login("scraped", "secret-pw").await;
    let bet = json!({"match_id": mid, "option": "a", "stake": 50, "odds_ver": 1, "req_id": "m1"});
    assert_eq!(c.call(msg::PLACE_BET, bet).await.code(), 0);
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    assert_eq!(gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await.status, 200);
    eventually("the match is credited", || async {
        (gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["state"].as_i64() == Some(9)).then_some(())
    })
    .await;

    let text = eventually("every family is exported", || async {
        let text = gm.get_with("/metrics", &[]).await.text;
        // Every service's queue watcher has reported (each starts once its consumers are up).
        let queues = ["q:c2l:{1}", "q:settle:{g}", "q:notify", "q:outbox"]; // a sharded queue's lanes together
        let watched = queues.iter().all(|q| text.contains(&format!(r#"matchday_queue_depth{{queue="{q}"}}"#)));
        (watched && FAMILIES.iter().all(|f| text.contains(f))).then_some(text)
    })
    .await;
    assert!(text.contains(r#"matchday_logic_frames_total{msg="401",code="0"}"#), "replies by msg and code:\n{text}");
    assert!(text.contains(r#"matchday_connect_frames_refused_total{code="4"}"#));
    // Latencies are histograms (they add up across processes), with the buckets of the range.
    assert!(text.contains(r#"matchday_logic_handler_seconds_bucket{msg="401",le="0.001"}"#), "{text}");
    assert!(!text.contains("quantile="), "no summaries:\n{text}");
    // gm's requests by route pattern (not by path) and status, and their latency.
    let approve = r#"matchday_gm_requests_total{method="POST",route="/api/matches/{id}/approve",status="200"}"#;
    assert!(text.contains(approve), "{text}");
    assert!(
        text.contains(r#"matchday_gm_request_seconds_bucket{method="POST",route="/api/matches/{id}/open",le="0.1"}"#)
    );
    assert!(text.contains(&format!(r#"matchday_build_info{{version="{}""#, env!("CARGO_PKG_VERSION"))), "{text}");
    for line in text.lines().filter(|l| l.starts_with("matchday_")) {
        // The label names of the sample, e.g. `msg` and `code` in `x{msg="401",code="0"} 3`.
        let labels = line.split_once('{').and_then(|(_, rest)| rest.rsplit_once('}')).map_or("", |(l, _)| l);
        let names = labels.split(',').filter_map(|pair| pair.split_once('=')).map(|(name, _)| name.trim());
        for name in names {
            assert!(!["uid", "user", "user_id", "username", "token"].contains(&name), "no per-user labels: {line}");
        }
    }
    drop(c);
    stack.stop().await;
    assert!(services.shutdown(std::time::Duration::from_secs(10)).await);
}
