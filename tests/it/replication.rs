//! `redis.wait_replicas`: a change (a sign-up, a grant) is answered only once a replica holds it,
//! and a replica that does not acknowledge in `redis.wait_timeout_ms` delays the answer by that
//! much, no more. A private primary and replica (test_support::redis_server), and a private Redis
//! Cluster (test_support::redis_cluster), where the wait goes to the primary that holds the
//! change; replicas are stalled with SIGSTOP.

use std::time::Duration;

use common::Shutdown;
use fred::prelude::*;
use serde_json::json;
use test_support::http::Gm;
use test_support::redis_cluster::RedisCluster;
use test_support::redis_server::RedisServer;
use test_support::{ADMIN, Stack, TestEnv, eventually};

/// How long a stalled replica is left stalled once the change is made: the time a server that does
/// not wait would need to answer (it answers within milliseconds). A server that waits passes
/// whatever this is; one that does not fails unless it is slower than this to answer.
const STALL: Duration = Duration::from_millis(300);

/// connect, logic and gm on the Redis at `url`, each answering a change only once a replica holds
/// it (and waiting for it as long as a test may need).
struct Waiting {
    env: TestEnv,
    stack: Stack,
    shutdown: Shutdown,
    gm: Gm,
}

impl Waiting {
    async fn on(url: &str) -> Waiting {
        let env = TestEnv::on(url).await;
        let mut cfg = env.cfg.clone();
        cfg.redis.wait_replicas = 1;
        cfg.redis.wait_timeout_ms = 60_000;
        let stack = Stack::spawn(cfg.clone()).await;
        let shutdown = Shutdown::new();
        let gm = Gm::new(test_support::spawn_gm(cfg, &shutdown).await);
        Waiting { env, stack, shutdown, gm }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_answered_only_once_the_replica_holds_it() {
    let primary = RedisServer::start().await;
    let replica = RedisServer::replica_of(&primary).await;
    let Waiting { env, stack, shutdown, gm } = Waiting::on(&primary.url()).await;
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
    let on_replica = replica_client(&replica.url()).await;
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
    assert_eq!(env.redis.replicated(&[]).await.expect("replicated"), None);

    let mut cfg = env.cfg.redis.clone();
    cfg.wait_replicas = 1;
    cfg.wait_timeout_ms = 100;
    let redis = common::Redis::new(&cfg).expect("client");
    redis.ready().await.expect("ready");
    assert_eq!(redis.replicated(&[]).await.expect("replicated"), Some(1), "a live replica acknowledges");
    replica.pause();
    assert_eq!(redis.replicated(&[]).await.expect("replicated"), Some(0), "a stalled one does not; the wait ends");
    replica.resume();
    redis.close().await;
}

/// On a Redis Cluster a change is answered once the replica of the primary that holds it has it:
/// a grant waits while that replica is stalled, and does not wait for a stalled replica of a
/// primary it did not write to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_a_change_waits_for_the_replica_of_the_primary_that_holds_it() {
    let mut cluster = RedisCluster::start().await;
    let Waiting { env, stack, shutdown, gm } = Waiting::on(&cluster.url()).await;
    let k = env.keys().clone();
    let uid = stack.client().await.register("rita", "pw-rita-123").await;
    let wallet = k.wallet(uid);
    let home = cluster.primary_of(common::shards::slot(&wallet)).await;
    let global = cluster.primary_of(common::shards::slot(&k.sched())).await;
    let grant = |amount: i64| {
        let (gm, path) = (gm.clone(), format!("/api/users/{uid}/grant"));
        tokio::spawn(async move { gm.post(&path, ADMIN, &json!({"amount": amount, "reason": "wait test"})).await })
    };

    // The replica of another primary stalled: the grant (in the user's shard) does not wait for it.
    let primaries: Vec<u16> = cluster.nodes().await.iter().filter(|n| n.primary).map(|n| n.port).collect();
    if let Some(&other) = primaries.iter().find(|p| **p != home && **p != global) {
        let replica = cluster.replica_of(other).await;
        cluster.pause(replica);
        let res = tokio::time::timeout(Duration::from_secs(20), grant(100)).await;
        cluster.resume(replica);
        let res = res.expect("the grant waited for the replica of a primary it did not write to").expect("grant task");
        assert_eq!(res.status, 200, "{res:?}");
    }

    // The replica of the user's primary stalled: made on the primary, answered only once it resumes.
    let replica = cluster.replica_of(home).await;
    let on_replica = replica_client(&format!("redis://127.0.0.1:{replica}")).await;
    let _: () = on_replica.custom(fred::cmd!("READONLY"), Vec::<String>::new()).await.expect("READONLY");
    // (The balance is read before the grant is sent: read after, it could hold the grant already.)
    let before: i64 = env.redis.pool.hget(&wallet, "balance").await.expect("balance");
    cluster.pause(replica);
    let granted = grant(700);
    let signup = env.cfg.logic.signup_grant;
    eventually("the grant is made on the primary", || async {
        let balance: Option<i64> = env.redis.pool.hget(&wallet, "balance").await.ok()?;
        (balance == Some(before + 700)).then_some(())
    })
    .await;
    tokio::time::sleep(STALL).await;
    assert!(!granted.is_finished(), "the grant was answered while the replica of its primary did not hold it");
    cluster.resume(replica);
    let res = granted.await.expect("grant task");
    assert_eq!(res.status, 200, "{res:?}");
    let balance: Option<i64> = on_replica.hget(&wallet, "balance").await.expect("HGET on the replica");
    assert_eq!(balance, Some(before + 700), "answered, so the replica holds the grant");
    assert!(before >= signup);

    stack.stop().await;
    shutdown.shutdown(Duration::from_secs(5)).await;
}

async fn replica_client(url: &str) -> Client {
    let client = Builder::from_config(Config::from_url(url).expect("url")).build().expect("client");
    client.init().await.expect("connect to the replica");
    client
}
