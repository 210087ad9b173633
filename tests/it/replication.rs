//! `redis.wait_replicas`: a change (a sign-up, a grant) is answered only once a replica holds it,
//! and a replica that does not acknowledge in `redis.wait_timeout_ms` delays the answer by that
//! much, no more. A private primary and replica (test_support::redis_server); the replica is
//! stalled with SIGSTOP.

use std::time::Duration;

use common::Shutdown;
use fred::prelude::*;
use serde_json::json;
use test_support::http::Gm;
use test_support::redis_server::RedisServer;
use test_support::{ADMIN, Stack, TestEnv, eventually};

/// How long a stalled replica is left stalled once the change is made: the time a server that does
/// not wait would need to answer (it answers within milliseconds). A server that waits passes
/// whatever this is; one that does not fails unless it is slower than this to answer.
const STALL: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_answered_only_once_the_replica_holds_it() {
    let primary = RedisServer::start().await;
    let replica = RedisServer::replica_of(&primary).await;
    let env = TestEnv::on(&primary.url()).await;
    let mut cfg = env.cfg.clone();
    cfg.redis.wait_replicas = 1;
    cfg.redis.wait_timeout_ms = 60_000;
    let stack = Stack::spawn(cfg.clone()).await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(test_support::spawn_gm(cfg, &shutdown).await);
    let k = env.keys().clone();

    // A sign-up while the replica is stalled: made on the primary, not answered.
    replica.pause();
    let mut client = stack.client().await;
    let register = tokio::spawn(async move {
        let uid = client.register("rita", "pw-rita-123").await;
        (uid, client)
    });
    let uname = k.uname("rita");
    eventually("the sign-up is made on the primary", || async {
        (env.redis.pool.exists::<i64, _>(&uname).await.ok()? == 1).then_some(())
    })
    .await;
    tokio::time::sleep(STALL).await;
    assert!(!register.is_finished(), "the sign-up was answered while no replica held it");
    replica.resume();
    let (uid, _client) = register.await.expect("register task");
    let on_replica = replica_client(&replica).await;
    let exists: i64 = on_replica.exists(k.user(uid)).await.expect("EXISTS on the replica");
    assert_eq!(exists, 1, "answered, so the replica holds the user");

    // A staff grant likewise: 200 only once the replica holds the credit.
    replica.pause();
    let grant = tokio::spawn(async move {
        gm.post(&format!("/api/users/{uid}/grant"), ADMIN, &json!({"amount": 700, "reason": "wait test"})).await
    });
    let wallet = k.wallet(uid);
    let signup = env.cfg.logic.signup_grant;
    eventually("the grant is made on the primary", || async {
        let balance: Option<i64> = env.redis.pool.hget(&wallet, "balance").await.ok()?;
        (balance == Some(signup + 700)).then_some(())
    })
    .await;
    tokio::time::sleep(STALL).await;
    assert!(!grant.is_finished(), "the grant was answered while no replica held it");
    replica.resume();
    let res = grant.await.expect("grant task");
    assert_eq!(res.status, 200, "{res:?}");
    let balance: Option<i64> = on_replica.hget(k.wallet(uid), "balance").await.expect("HGET on the replica");
    assert_eq!(balance, Some(signup + 700));

    stack.stop().await;
    shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_stalled_replica_delays_an_answer_by_the_timeout_and_no_more() {
    let primary = RedisServer::start().await;
    let replica = RedisServer::replica_of(&primary).await;
    let env = TestEnv::on(&primary.url()).await;

    // Not configured: no WAIT at all.
    assert_eq!(env.redis.replicated().await.expect("replicated"), None);

    let mut cfg = env.cfg.redis.clone();
    cfg.wait_replicas = 1;
    cfg.wait_timeout_ms = 100;
    let redis = common::Redis::new(&cfg).expect("client");
    redis.ready().await.expect("ready");
    assert_eq!(redis.replicated().await.expect("replicated"), Some(1), "a live replica acknowledges");
    replica.pause();
    assert_eq!(redis.replicated().await.expect("replicated"), Some(0), "a stalled one does not; the wait ends");
    replica.resume();
    redis.close().await;
}

async fn replica_client(replica: &RedisServer) -> Client {
    let client = Builder::from_config(Config::from_url(&replica.url()).expect("url")).build().expect("client");
    client.init().await.expect("connect to the replica");
    client
}
