//! The local Redis Cluster (`scripts/cluster.sh`, docs/scaling.md): the shard tags hash where the
//! cluster says they do, spread evenly over its primaries, the one Redis client reaches it from its
//! `redis-cluster://` URL, and the reliable queue runs on it, each of its scripts in one slot.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::queue::{Consumer, QueueKeys, Reaper};
use common::shards::{self, SHARDS};
use common::store::scripts::cross_slot_calls;
use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};
use test_support::redis_server::cluster_url;
use test_support::{TestEnv, eventually};

#[tokio::test]
async fn the_shard_tags_hash_where_the_cluster_says_and_its_primaries_hold_them_evenly() {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.redis.clone();
    cfg.url = cluster_url().await;
    let redis = common::Redis::new(&cfg).expect("a clustered client from the URL");
    redis.ready().await.expect("the cluster answers");

    // Which primary serves each slot, as the cluster itself says (CLUSTER SHARDS would do too).
    let nodes: String = redis
        .pool
        .custom(CustomCommand::new_static("CLUSTER", ClusterHash::FirstKey, false), vec!["NODES"])
        .await
        .unwrap();
    let mut ranges: Vec<(String, u16, u16)> = Vec::new();
    for line in nodes.lines().filter(|l| l.contains("master") && !l.contains("fail")) {
        let fields: Vec<&str> = line.split(' ').collect();
        for range in &fields[8..] {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            ranges.push((fields[1].to_owned(), a.parse().unwrap(), b.parse().unwrap()));
        }
    }
    let mut per_primary: HashMap<String, u32> = HashMap::new();
    for s in 0..SHARDS {
        let key = format!("{{{}}}:wallet:7", shards::tag(s));
        let slot: u16 = redis
            .pool
            .custom(CustomCommand::new_static("CLUSTER", ClusterHash::FirstKey, false), vec!["KEYSLOT", key.as_str()])
            .await
            .unwrap();
        assert_eq!(slot, shards::slot(&key), "{key}: the cluster and matchday agree on its slot");
        let (primary, _, _) = ranges.iter().find(|(_, a, b)| (*a..=*b).contains(&slot)).expect("every slot is served");
        *per_primary.entry(primary.clone()).or_default() += 1;
    }
    let even = f64::from(SHARDS) / per_primary.len() as f64;
    assert_eq!(per_primary.len(), 3, "{per_primary:?}");
    for (primary, n) in &per_primary {
        assert!((f64::from(*n) - even).abs() <= 0.2 * even, "{primary} holds {n} of {SHARDS} shards: {per_primary:?}");
    }
    redis.close().await;
}

/// The reliable queue on the cluster: claim, ack with its reply, dead-letter, and the reaper's
/// return of a killed consumer's frame (by its closed connection) — each script in one slot.
#[tokio::test]
async fn the_queue_takes_acks_answers_and_returns_frames_on_the_cluster_each_script_in_one_slot() {
    let env = TestEnv::on(&cluster_url().await).await;
    let k = env.keys();
    let q = QueueKeys::new(k, k.c2l(1), &env.cfg.queue);
    let heartbeat = k.node("logic", "on-cluster");
    let _: () = env.redis.pool.set(&heartbeat, "1", Some(Expiration::EX(60)), None, false).await.unwrap();
    let start = |worker: &'static str| {
        let (redis, q, heartbeat) = (env.redis.clone(), q.clone(), heartbeat.clone());
        async move {
            Consumer::start(&redis, q, worker, &heartbeat, 8, Duration::from_millis(100), Duration::from_secs(60))
                .await
                .unwrap()
        }
    };
    let mut consumer = start("w").await;
    for frame in ["f1", "f2", "f3"] {
        let _: i64 = env.redis.pool.lpush(&q.queue, frame).await.unwrap();
    }
    let taken = consumer.take().await.unwrap();
    assert_eq!(taken, vec![Bytes::from("f1"), Bytes::from("f2"), Bytes::from("f3")], "one claim, oldest first");
    let replies = k.l2c(1, "node-a");
    assert!(consumer.ack(&taken[0], Some((&replies, b"reply 1"))).await.unwrap());
    assert!(consumer.dead_letter(&taken[1]).await.unwrap());
    let answered: Vec<Bytes> = env.redis.pool.lrange(&replies, 0, -1).await.unwrap();
    assert_eq!(answered, vec![Bytes::from("reply 1")]);
    let dead: Vec<Bytes> = env.redis.pool.lrange(&q.dead, 0, -1).await.unwrap();
    assert_eq!(dead, vec![Bytes::from("f2")]);

    // The consumer's connection goes with f3 still held; its heartbeat lives on.
    let (name, inflight) = (consumer.connection_name().to_owned(), consumer.inflight_key().to_owned());
    consumer.leave().await.unwrap();
    let node_of_queue = CustomCommand::new_static("CLIENT", ClusterHash::Custom(shards::slot(&q.queue)), false);
    eventually("the queue's node no longer lists the connection", || async {
        let list: String = env.redis.pool.custom(node_of_queue.clone(), vec!["LIST"]).await.ok()?;
        (!list.contains(&format!("name={name} "))).then_some(())
    })
    .await;
    let reaper = Reaper::new(&env.redis, q.clone(), "reaper", 3, Duration::from_millis(50), Duration::ZERO);
    let reaped = reaper.reap_once().await.unwrap();
    assert_eq!((reaped.requeued, reaped.dead), (1, 0));
    assert_eq!(env.llen(&inflight).await, 0);
    let mut next = start("w2").await;
    assert_eq!(next.take().await.unwrap(), vec![Bytes::from("f3")], "the returned frame is taken again");
    assert!(next.ack(&Bytes::from("f3"), None).await.unwrap());
    next.leave().await.unwrap();

    let queue_scripts = ["claim.lua", "ack.lua", "dead_letter.lua", "requeue.lua"];
    let crossed: Vec<_> =
        cross_slot_calls().into_iter().filter(|c| queue_scripts.contains(&c.script.as_str())).collect();
    assert!(crossed.is_empty(), "queue scripts called with keys of more than one slot: {crossed:?}");
}

/// Admin views (status, gm's queue and node lists) find keys by SCAN: on the cluster the pass
/// covers every primary, so keys in all 64 shards are found.
#[tokio::test]
async fn a_scan_on_the_cluster_finds_keys_on_every_primary() {
    let env = TestEnv::on(&cluster_url().await).await;
    let prefix = env.keys().prefix().to_owned();
    let mut written: Vec<String> = (0..SHARDS).map(|s| format!("{prefix}{{{}}}:scanned", shards::tag(s))).collect();
    for key in &written {
        let _: () = env.redis.pool.set(key, "1", Some(Expiration::EX(60)), None, false).await.unwrap();
    }
    let mut found = env.redis.scan("{*}:scanned").await.unwrap();
    found.sort();
    written.sort();
    assert_eq!(found, written);
    let first = env.redis.any_key("{*}:scanned").await.unwrap();
    assert!(first.is_some_and(|k| written.contains(&k)));
}

/// A consumer of every lane of the outbox on the cluster (dbsvr's): its sweeps reach every primary,
/// and it takes and acks a frame from each of the 65 lanes, each claim and ack in its lane's slot.
#[tokio::test]
async fn a_consumer_of_all_the_outbox_lanes_takes_from_every_primary() {
    let env = TestEnv::on(&cluster_url().await).await;
    let k = env.keys();
    let lanes: Vec<QueueKeys> = k.outboxes().into_iter().map(|q| QueueKeys::new(k, q, &env.cfg.queue)).collect();
    for (i, lane) in lanes.iter().enumerate() {
        let _: i64 = env.redis.pool.lpush(&lane.queue, format!("record {i}")).await.unwrap();
    }
    let mut consumer = Consumer::start_lanes(
        &env.redis,
        lanes.clone(),
        "w",
        "hb",
        8,
        Duration::from_millis(20),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let mut taken = Vec::new();
    while taken.len() < lanes.len() {
        for frame in consumer.take().await.unwrap() {
            assert!(consumer.ack(&frame, None).await.unwrap());
            taken.push(String::from_utf8(frame.to_vec()).unwrap());
        }
    }
    taken.sort();
    let mut expected: Vec<String> = (0..lanes.len()).map(|i| format!("record {i}")).collect();
    expected.sort();
    assert_eq!(taken, expected);
    consumer.leave().await.unwrap();
    let crossed: Vec<_> =
        cross_slot_calls().into_iter().filter(|c| c.keys.iter().any(|(key, _)| key.starts_with(k.prefix()))).collect();
    assert!(crossed.is_empty(), "this test's scripts called with keys of more than one slot: {crossed:?}");
}

/// Register, log in, resume and log out through connect and logic on the cluster: a user's keys,
/// its name's index and its sessions are in one shard, the sign-in counters in `{auth}`, so every
/// script of the path runs in one slot.
#[tokio::test]
async fn the_sign_in_path_runs_on_the_cluster_each_script_in_one_slot() {
    let env = TestEnv::on(&cluster_url().await).await;
    let prefix = env.keys().prefix().to_owned();
    crate::e2e::sessions_story(env).await;
    let crossed: Vec<_> =
        cross_slot_calls().into_iter().filter(|c| c.keys.iter().any(|(key, _)| key.starts_with(&prefix))).collect();
    assert!(crossed.is_empty(), "scripts called with keys of more than one slot: {crossed:?}");
}

/// Staff drive a match through gm on the cluster — create, approve, open, change the odds, start,
/// set the result — and announce now and later: the catalogue, its indexes, `sched`, the
/// settlement queue and the global lanes share `{g}`, so every script of these runs in one slot.
#[tokio::test]
async fn staff_drive_a_match_on_the_cluster_each_script_in_one_slot() {
    use serde_json::json;
    use test_support::http::Gm;
    use test_support::{OPERATOR, spawn_gm};
    let env = TestEnv::on(&cluster_url().await).await;
    let prefix = env.keys().prefix().to_owned();
    let shutdown = common::Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let spec = json!({
        "type": "lol", "title": "T1 vs GEN", "teams": ["T1", "GEN"], "start_at": 1_900_000_000_000u64,
        "options": [{"key": "a", "label": "T1", "odds": 1850}, {"key": "b", "label": "GEN", "odds": 2100}],
        "min_stake": 10, "max_stake": 5000, "external_id": "feed-1",
        "markets": [{"name": "First blood", "options": [{"key": "a", "label": "T1", "odds": 1900}, {"key": "b", "label": "GEN", "odds": 1900}]}]
    });
    let created = gm.post("/api/matches", OPERATOR, &spec).await;
    assert_eq!(created.status, 201, "{created:?}");
    let mid = created.body["match_id"].as_u64().unwrap();
    let market = created.body["markets"][1]["match_id"].as_u64().unwrap();
    for action in ["approve", "open"] {
        let r = gm.post(&format!("/api/matches/{mid}/{action}"), OPERATOR, &json!({})).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
    }
    let r = gm.post(&format!("/api/matches/{mid}/markets/{market}/open"), OPERATOR, &json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let more = json!({"name": "Total maps", "options": [{"key": "over", "label": "Over", "odds": 1800}, {"key": "under", "label": "Under", "odds": 1900}]});
    assert_eq!(gm.post(&format!("/api/matches/{mid}/markets"), OPERATOR, &more).await.status, 201);
    let odds = json!({"options": [{"key": "a", "odds": 1700}]});
    let r = gm.call("PUT", &format!("/api/matches/{mid}/odds"), Some(OPERATOR), Some(&odds)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    let r = gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = gm.post(&format!("/api/matches/{mid}/markets/{market}/result"), OPERATOR, &json!({"winner": "b"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(gm.post("/api/announcements", OPERATOR, &json!({"text": "now"})).await.status, 202);
    let later = json!({"text": "later", "at": 1_900_000_000_000u64});
    assert_eq!(gm.post("/api/announcements", OPERATOR, &later).await.status, 202);
    let view = gm.get(&format!("/api/matches/{mid}"), OPERATOR).await;
    assert_eq!((view.body["result"].as_str(), view.body["odds_ver"].as_u64()), (Some("a"), Some(2)), "{view:?}");
    assert_eq!(env.llen(&env.keys().settle()).await, 2, "the settle jobs of the match and its market are queued");
    let crossed: Vec<_> =
        cross_slot_calls().into_iter().filter(|c| c.keys.iter().any(|(key, _)| key.starts_with(&prefix))).collect();
    assert!(crossed.is_empty(), "scripts called with keys of more than one slot: {crossed:?}");
    shutdown.shutdown(Duration::from_secs(5)).await;
}

/// Bets and their settlement on the cluster: users in every shard bet through the production
/// scripts (each reading its shard's copy of the match), staff start the match and set the result
/// through gm (every shard's copy follows before gm answers), and resultcenter settles each shard's
/// open bets and finishes the match in the catalogue — every bet paid once, every balance exact, and
/// every script of it in one slot.
#[tokio::test]
async fn bets_are_placed_and_settled_on_the_cluster_each_script_in_one_slot() {
    use serde_json::json;
    use test_support::http::Gm;
    use test_support::{OPERATOR, spawn_gm, spawn_resultcenter};
    let env = TestEnv::on(&cluster_url().await).await;
    let prefix = env.keys().prefix().to_owned();
    let shutdown = common::Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let (mid, book) = crate::settle::book(&env, &gm, 200, 3).await;
    let shards: std::collections::BTreeSet<u16> = book.bets.iter().map(|b| shards::of_uid(b.uid)).collect();
    assert!(shards.len() > 48, "bettors in most shards: {}", shards.len());
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    let r = gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    spawn_resultcenter(env.node(1), &shutdown);
    crate::settle::wait_finished(&gm, mid, 9).await;
    crate::settle::check_settled(&env, &gm, mid, &book, Some("a")).await;
    let crossed: Vec<_> =
        cross_slot_calls().into_iter().filter(|c| c.keys.iter().any(|(key, _)| key.starts_with(&prefix))).collect();
    assert!(crossed.is_empty(), "scripts called with keys of more than one slot: {crossed:?}");
    shutdown.shutdown(Duration::from_secs(5)).await;
}

/// A test's keys are deleted when its environment drops, on every primary of the cluster (a
/// many-key DEL across slots is refused there, and a SCAN covers one node): the shared cluster
/// otherwise fills up run after run, and every SCAN of a later test walks what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_leaves_no_key_behind_on_the_cluster() {
    let env = TestEnv::on(&cluster_url().await).await;
    let cfg = env.cfg.redis.clone();
    for shard in 0..SHARDS {
        let _: i64 = env.redis.pool.incr(env.keys().user_seq(shard)).await.unwrap();
    }
    assert_eq!(env.redis.scan("*").await.unwrap().len(), usize::from(SHARDS));
    drop(env);
    let redis = common::Redis::new(&cfg).expect("client");
    redis.ready().await.expect("ready");
    assert_eq!(redis.scan("*").await.unwrap(), Vec::<String>::new(), "keys left under {}", cfg.prefix);
    redis.close().await;
}
