//! The reliable queue with real logic workers against the real Redis: redelivery after a worker
//! dies, sharing a queue between processes, isolation of groups, idempotent register, replies for
//! connections that have gone, and dead lists that are capped and expire.

use std::time::Duration;

use bytes::Bytes;
use common::Shutdown;
use common::queue::{Consumer, QueueKeys, Reaper};
use fred::prelude::*;
use protocol::codec::{decode_routed, encode_frame, split_frame};
use protocol::{InternalHead, ReplyHead, msg};
use serde_json::{Value, json};
use test_support::{Client, TestEnv, eventually, spawn_connect, spawn_logic, spawn_logic_with};

/// A frame as connect would queue it for group `group`, answering to node `node`.
fn frame(id: u16, seq: u32, node: &str, group: u32, body: Value) -> Vec<u8> {
    let head = InternalHead {
        id,
        seq,
        ver: None,
        node: node.into(),
        conn: 1000 + seq as u64,
        uid: None,
        sid: None,
        group,
        addr: "test".into(),
        ts: 0,
        trace: uuid::Uuid::new_v4().simple().to_string(),
    };
    encode_frame(&head, &body).unwrap()
}

/// The replies waiting on a node's list from group 1's logic, decoded.
async fn replies(env: &TestEnv, node: &str) -> Vec<(ReplyHead, Value)> {
    replies_of(env, 1, node).await
}

/// The replies waiting on a node's list from group `group`'s logic, decoded.
async fn replies_of(env: &TestEnv, group: u32, node: &str) -> Vec<(ReplyHead, Value)> {
    let raw: Vec<Bytes> = env.redis.pool.lrange(env.keys().l2c(group, node), 0, -1).await.unwrap();
    raw.iter()
        .map(|el| {
            let (_, f) = decode_routed(el).unwrap();
            let (head, body) = split_frame::<ReplyHead>(f).unwrap();
            (head, rmp_serde::from_slice(body).unwrap())
        })
        .collect()
}

async fn lpush(env: &TestEnv, key: &str, frames: Vec<Vec<u8>>) {
    let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
    let _: i64 = env.redis.pool.lpush(key, frames).await.unwrap();
}

#[tokio::test]
async fn a_frame_taken_by_a_worker_that_dies_is_delivered_again_and_answered_once() {
    let env = TestEnv::new().await;
    let cfg = env.node(1);
    let q = QueueKeys::new(env.keys(), env.keys().c2l(1), &env.cfg.queue);
    lpush(
        &env,
        &q.queue,
        vec![frame(msg::REGISTER, 1, "cn", 1, json!({"username": "lazarus", "password": "secret1"}))],
    )
    .await;

    // A worker takes the frame and dies before acking: its heartbeat key never comes back.
    let mut doomed = Consumer::start(
        &env.redis,
        q.clone(),
        "doomed",
        "no-such-heartbeat",
        8,
        Duration::from_millis(200),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let taken = doomed.take().await.unwrap();
    assert_eq!(taken.len(), 1);
    let inflight = doomed.inflight_key().to_owned();
    drop(doomed);
    assert_eq!(env.llen(&inflight).await, 1, "the frame waits in the dead worker's inflight list");

    // A live logic process reaps it and answers it.
    let shutdown = Shutdown::new();
    let stats = spawn_logic(cfg, &shutdown);
    eventually("the redelivered frame is answered", || async { (stats.handled() == 1).then_some(()) }).await;
    eventually("inflight and queue are empty", || async {
        (env.llen(&inflight).await == 0 && env.llen(&q.queue).await == 0).then_some(())
    })
    .await;
    let got = replies(&env, "cn").await;
    assert_eq!(got.len(), 1, "answered exactly once: {got:?}");
    assert_eq!(got[0].0.code, 0);
    let users = env.scan("{*}:user:*").await;
    assert_eq!(users.len(), 1, "one user created: {users:?}");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn a_retried_register_cannot_create_two_users() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let stats = spawn_logic(env.node(1), &shutdown);
    let q = env.keys().c2l(1);
    // The same frame twice (a producer retry), and the same username from other frames.
    let same = frame(msg::REGISTER, 1, "cn", 1, json!({"username": "Twin", "password": "secret1"}));
    let mut frames = vec![same.clone(), same];
    for seq in 2..10 {
        let name = if seq % 2 == 0 { "twin" } else { "TWIN" };
        frames.push(frame(msg::REGISTER, seq, "cn", 1, json!({"username": name, "password": "secret1"})));
    }
    lpush(&env, &q, frames).await;
    eventually("all ten frames answered", || async { (stats.handled() == 10).then_some(()) }).await;
    let got = replies(&env, "cn").await;
    let created: Vec<u64> =
        got.iter().filter(|(h, _)| h.code == 0).map(|(_, b)| b["user_id"].as_u64().unwrap()).collect();
    let taken = got.iter().filter(|(h, _)| h.code == 1002).count();
    assert!(!created.is_empty(), "{got:?}");
    assert!(created.iter().all(|u| *u == created[0]), "every success names the same user: {created:?}");
    assert_eq!(created.len() + taken, 10);
    assert!(created.len() <= 2, "only the two copies of the first frame can succeed: {got:?}");
    assert_eq!(env.scan("{*}:user:*").await.len(), 1);
    assert_eq!(env.scan("{*}:wallet:*").await.len(), 1);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn two_logic_processes_share_one_group_queue() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut a = env.node(1);
    a.logic.workers = 1;
    a.logic.batch = 1;
    let mut b = env.node(1);
    b.logic.workers = 1;
    b.logic.batch = 1;
    let (sa, sb) = (spawn_logic(a, &shutdown), spawn_logic(b, &shutdown));
    // Both are consuming once each has registered its consumer.
    let consumers = env.keys().consumers(&env.keys().c2l(1));
    eventually("both consumers registered", || async {
        let n: i64 = env.redis.pool.hlen(&consumers).await.unwrap();
        (n == 2).then_some(())
    })
    .await;
    let frames = (1..=200).map(|s| frame(msg::PING, s, "cn", 1, json!({}))).collect();
    lpush(&env, &env.keys().c2l(1), frames).await;
    eventually("200 frames answered", || async { (sa.handled() + sb.handled() == 200).then_some(()) }).await;
    assert!(sa.handled() > 0 && sb.handled() > 0, "both took a share: {} and {}", sa.handled(), sb.handled());
    let got = replies(&env, "cn").await;
    let mut seqs: Vec<u32> = got.iter().map(|(h, _)| h.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "each frame answered exactly once");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn frames_of_group_1_never_reach_group_2_workers() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let g2 = spawn_logic(env.node(2), &shutdown);
    lpush(&env, &env.keys().c2l(1), vec![frame(msg::PING, 1, "cn", 1, json!({}))]).await;
    // Group 2's workers answer a frame of their own group queued after group 1's frame…
    lpush(&env, &env.keys().c2l(2), vec![frame(msg::PING, 2, "cn", 2, json!({}))]).await;
    eventually("group 2 answered its frame", || async { (g2.handled() == 1).then_some(()) }).await;
    // …while group 1's frame is still untouched in its queue.
    assert_eq!(env.llen(&env.keys().c2l(1)).await, 1);
    assert_eq!(replies_of(&env, 2, "cn").await.iter().map(|(h, _)| h.seq).collect::<Vec<_>>(), vec![2]);
    assert!(replies(&env, "cn").await.is_empty(), "group 1 has answered nothing yet");

    let g1 = spawn_logic(env.node(1), &shutdown);
    eventually("group 1 answered its frame", || async { (g1.handled() == 1).then_some(()) }).await;
    assert_eq!(g2.handled(), 1);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn a_reply_for_a_closed_connection_is_dropped_and_counted() {
    let env = TestEnv::new().await;
    let cfg = env.node(1);
    let shutdown = Shutdown::new();
    let (addr, stats) = spawn_connect(cfg.clone(), &shutdown).await;
    // No logic yet: the ping waits in the queue while the client goes away.
    let mut client = Client::connect(addr).await;
    client
        .send_binary(encode_frame(&protocol::ClientHead { id: msg::PING, seq: 1, ver: None }, &json!({})).unwrap())
        .await;
    eventually("the frame is queued", || async { (env.llen(&env.keys().c2l(1)).await == 1).then_some(()) }).await;
    drop(client);
    eventually("the connection is gone", || async {
        (stats.connections.load(std::sync::atomic::Ordering::Relaxed) == 0).then_some(())
    })
    .await;
    let logic = spawn_logic(cfg, &shutdown);
    eventually("the reply was dropped and counted", || async {
        (connect::Stats::get(&stats.replies_dropped) == 1).then_some(())
    })
    .await;
    assert_eq!(logic.handled(), 1);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn an_undecodable_queue_element_goes_to_the_dead_list() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let stats = spawn_logic(env.node(1), &shutdown);
    let q = env.keys().c2l(1);
    lpush(&env, &q, vec![b"not a frame".to_vec(), frame(msg::PING, 1, "cn", 1, json!({}))]).await;
    eventually("the good frame is answered", || async { (stats.handled() == 1).then_some(()) }).await;
    let dead = env.keys().dead(&q);
    eventually("the bad one is dead-lettered", || async { (env.llen(&dead).await == 1).then_some(()) }).await;
    let kept: Vec<Bytes> = env.redis.pool.lrange(&dead, 0, -1).await.unwrap();
    assert_eq!(kept, vec![Bytes::from_static(b"not a frame")], "kept byte for byte for inspection");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_panicking_handler_answers_code_1_and_the_worker_lives_on() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    cfg.logic.workers = 1;
    let dispatch = logic::Dispatch::default().with(150, |_, _| Box::pin(async { panic!("boom") }));
    let stats = spawn_logic_with(cfg, &shutdown, dispatch);
    let q = env.keys().c2l(1);
    lpush(&env, &q, vec![frame(150, 1, "cn", 1, json!({})), frame(msg::PING, 2, "cn", 1, json!({}))]).await;
    eventually("both answered", || async { (stats.handled() == 2).then_some(()) }).await;
    lpush(&env, &q, vec![frame(msg::PING, 3, "cn", 1, json!({}))]).await;
    eventually("the only worker still answers", || async { (stats.handled() == 3).then_some(()) }).await;
    let mut got: Vec<(u32, u16)> = replies(&env, "cn").await.iter().map(|(h, _)| (h.seq, h.code)).collect();
    got.sort();
    assert_eq!(got, vec![(1, 1), (2, 0), (3, 0)]);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

/// The dead list's length and TTL (seconds; -1 none, -2 no key).
async fn dead_state(env: &TestEnv, dead: &str) -> (i64, i64) {
    let ttl: i64 = env.redis.pool.ttl(dead).await.unwrap();
    (env.llen(dead).await, ttl)
}

#[tokio::test]
async fn dead_lists_keep_at_most_dead_max_frames_and_expire_after_dead_ttl_s() {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.queue.clone();
    (cfg.dead_max, cfg.dead_ttl_s) = (3, 3600);
    let q = QueueKeys::new(env.keys(), env.keys().c2l(7), &cfg);

    // A consumer dead-letters frames it can never handle (dead_letter.lua).
    let consumer =
        Consumer::start(&env.redis, q.clone(), "w", "hb", 8, Duration::from_millis(100), Duration::from_secs(60))
            .await
            .unwrap();
    let frames: Vec<Bytes> = (0..5).map(|i| Bytes::from(format!("poison {i}"))).collect();
    lpush(&env, consumer.inflight_key(), frames.iter().map(|f| f.to_vec()).collect()).await;
    for f in &frames {
        assert!(consumer.dead_letter(f).await.unwrap());
        let (len, ttl) = dead_state(&env, &q.dead).await;
        assert!(len <= 3, "the dead list never exceeds dead_max: {len}");
        assert!((1..=3600).contains(&ttl), "every push sets the TTL: {ttl}");
    }
    let kept: Vec<Bytes> = env.redis.pool.lrange(&q.dead, 0, -1).await.unwrap();
    assert_eq!(kept, vec![frames[4].clone(), frames[3].clone(), frames[2].clone()], "the newest are kept");

    // The TTL is refreshed by the next push, not only set once.
    let _: bool = env.redis.pool.expire(&q.dead, 10, None).await.unwrap();
    lpush(&env, consumer.inflight_key(), vec![b"poison 5".to_vec()]).await;
    assert!(consumer.dead_letter(&Bytes::from_static(b"poison 5")).await.unwrap());
    assert!(dead_state(&env, &q.dead).await.1 > 10, "the push refreshed the TTL");
    consumer.leave().await.unwrap();

    // The reaper's dead-lettering (requeue.lua): a frame returned max_attempts times (here 1).
    let _: i64 = env.redis.pool.del(&q.dead).await.unwrap();
    let inflight = env.keys().inflight(&q.queue, "gone");
    lpush(&env, &inflight, (0..5).map(|i| format!("reaped {i}").into_bytes()).collect()).await;
    let _: i64 = env.redis.pool.hset(&q.consumers, (inflight.as_str(), "no-such-heartbeat")).await.unwrap();
    let reaper = Reaper::new(&env.redis, q.clone(), "reaper", 1, Duration::from_secs(5), Duration::ZERO);
    let reaped = reaper.reap_once().await.unwrap();
    assert_eq!((reaped.requeued, reaped.dead), (0, 5));
    let (len, ttl) = dead_state(&env, &q.dead).await;
    assert_eq!(len, 3, "capped at dead_max");
    assert!((1..=3600).contains(&ttl), "the reaper's push sets the TTL: {ttl}");
    let _: i64 = env.redis.pool.del(&q.dead).await.unwrap();
}

/// After a failover of the queue's primary every consumer's connection is missing from the promoted
/// replica until its process reconnects, though its heartbeat lives: for the grace period after the
/// reaper sees the queue's Redis change, only heartbeats judge (a live consumer's frames are not
/// bounced towards the dead list); after it, a consumer whose connection never came back is reaped.
/// The consumer here is a named raw connection to the old primary, so it never comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failover_consumers_are_judged_by_their_heartbeats_for_the_grace_period() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cluster = test_support::redis_cluster::RedisCluster::start().await;
    let env = TestEnv::on(&cluster.url()).await;
    let q = QueueKeys::new(env.keys(), env.keys().c2l(1), &env.cfg.queue);
    let slot = common::shards::slot(&q.queue);
    let primary = cluster.primary_of(slot).await;
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", primary)).await.unwrap();
    conn.write_all(b"CLIENT SETNAME held-by-a-live-consumer\r\n").await.unwrap();
    let mut ok = [0u8; 5];
    conn.read_exact(&mut ok).await.unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let heartbeat = env.keys().node("logic", "live-host");
    let _: () = env.redis.pool.set(&heartbeat, "1", Some(Expiration::EX(600)), None, false).await.unwrap();
    let inflight = env.keys().inflight(&q.queue, "live");
    let _: i64 = env
        .redis
        .pool
        .hset(&q.consumers, (inflight.as_str(), format!("{heartbeat} held-by-a-live-consumer")))
        .await
        .unwrap();
    lpush(&env, &inflight, vec![b"frame".to_vec()]).await;
    let grace = Duration::from_secs(2);
    let reaper = Reaper::new(&env.redis, q.clone(), "reaper", 3, Duration::from_millis(50), grace);
    let lease_lapsed = || async {
        eventually("the reaper's lease has lapsed", || async {
            (env.redis.pool.exists::<i64, _>(&q.lease).await.ok()? == 0).then_some(())
        })
        .await
    };
    eventually("the cluster has been up longer than the grace period", || async {
        let info: String = env.redis.pool.next().info(Some(fred::types::InfoKind::Server)).await.ok()?;
        let up: u64 = info.lines().find_map(|l| l.strip_prefix("uptime_in_seconds:"))?.trim().parse().ok()?;
        (up > grace.as_secs() + 1).then_some(())
    })
    .await;
    let none = reaper.reap_once().await.unwrap();
    assert_eq!((none.requeued, none.dead), (0, 0), "connected and beating");

    cluster.kill(primary).await;
    drop(conn);
    cluster.wait_failover(primary, slot).await;
    lease_lapsed().await;
    let after = loop {
        match reaper.reap_once().await {
            Ok(r) => break r,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await, // the client finds the new primary
        }
    };
    let changed = tokio::time::Instant::now();
    assert_eq!((after.requeued, after.dead), (0, 0), "right after the failover only the heartbeat judges");
    assert_eq!(env.llen(&inflight).await, 1);

    let reaped = eventually("the consumer whose connection never came back is reaped", || async {
        lease_lapsed().await;
        let r = reaper.reap_once().await.ok()?;
        (r.requeued == 1).then_some(r)
    })
    .await;
    assert_eq!(reaped.dead, 0);
    assert!(
        changed.elapsed() + Duration::from_millis(100) >= grace,
        "reaped {:?} after the failover",
        changed.elapsed()
    );
    assert_eq!(env.llen(&inflight).await, 0);
    assert_eq!(env.llen(&q.queue).await, 1, "the frame waits for another consumer");
}

/// A Redis that has just started (here: a new one) has no heartbeats: nobody is reaped until the
/// grace period has passed, so live consumers are not taken for dead while they reconnect; then the
/// frames of a consumer that is really gone go back as usual.
#[tokio::test]
async fn a_consumer_whose_connection_is_gone_is_reaped_at_once_though_its_heartbeat_lives() {
    let env = TestEnv::new().await;
    let q = QueueKeys::new(env.keys(), env.keys().c2l(1), &env.cfg.queue);
    // One process (its heartbeat alive for a minute) with two consumers, each holding a frame.
    let heartbeat = env.keys().node("logic", "killed-host");
    let _: () = env.redis.pool.set(&heartbeat, "1", Some(Expiration::EX(60)), None, false).await.unwrap();
    let start = |worker: &'static str| {
        let (redis, q, heartbeat) = (env.redis.clone(), q.clone(), heartbeat.clone());
        async move {
            Consumer::start(&redis, q, worker, &heartbeat, 1, Duration::from_millis(100), Duration::from_secs(60))
                .await
                .unwrap()
        }
    };
    let (mut alive, mut killed) = (start("alive").await, start("killed").await);
    lpush(&env, &q.queue, vec![b"frame 1".to_vec(), b"frame 2".to_vec()]).await;
    assert_eq!(alive.take().await.unwrap().len(), 1);
    assert_eq!(killed.take().await.unwrap().len(), 1);
    let reaper = Reaper::new(&env.redis, q.clone(), "reaper", 3, Duration::from_millis(50), Duration::ZERO);
    let none = reaper.reap_once().await.unwrap();
    assert_eq!((none.requeued, none.dead), (0, 0), "both consumers are connected and beating");

    // `killed` loses its connection holding its frame, as a SIGKILLed process does (leave() with a
    // frame in hand keeps the registration and closes the connection).
    let (name, inflight) = (killed.connection_name().to_owned(), killed.inflight_key().to_owned());
    killed.leave().await.unwrap();
    eventually("Redis no longer lists the connection", || async {
        let list: String = env.redis.pool.next().client_list::<String, String>(None, None).await.ok()?;
        (!list.contains(&format!("name={name} "))).then_some(())
    })
    .await;
    eventually("the reaper's lease from its first pass has lapsed", || async {
        (env.redis.pool.exists::<i64, _>(&q.lease).await.ok()? == 0).then_some(())
    })
    .await;
    let reaped = reaper.reap_once().await.unwrap();
    assert_eq!((reaped.requeued, reaped.dead), (1, 0), "its frame went back though its heartbeat lives");
    assert_eq!(env.llen(&inflight).await, 0);
    assert_eq!(env.llen(&q.queue).await, 1, "the frame waits for another consumer");
    assert_eq!(env.llen(alive.inflight_key()).await, 1, "the connected consumer keeps its frame");
    assert_eq!(alive.take().await.unwrap(), vec![Bytes::from("frame 2")], "and is handed the returned one");
}

#[tokio::test]
async fn the_reaper_waits_out_a_fresh_redis_before_taking_anyone_for_dead() {
    let server = test_support::redis_server::RedisServer::start().await;
    let env = TestEnv::on(&server.url()).await;
    let q = QueueKeys::new(env.keys(), env.keys().c2l(1), &env.cfg.queue);
    let inflight = env.keys().inflight(&q.queue, "gone");
    lpush(&env, &inflight, vec![b"held 0".to_vec(), b"held 1".to_vec()]).await;
    let _: i64 = env.redis.pool.hset(&q.consumers, (inflight.as_str(), "no-such-heartbeat")).await.unwrap();
    let lease = Duration::from_millis(50);

    let patient = Reaper::new(&env.redis, q.clone(), "patient", 3, lease, Duration::from_secs(3600));
    let first = patient.reap_once().await.unwrap();
    assert_eq!((first.requeued, first.dead), (0, 0), "Redis is younger than the grace period");
    let held: i64 = env.redis.pool.llen(&inflight).await.unwrap();
    assert_eq!(held, 2, "the frames stay with their consumer");

    let reaper = Reaper::new(&env.redis, q.clone(), "reaper", 3, lease, Duration::from_secs(2));
    let reaped = eventually("the reaper returns the frames once Redis is old enough", || async {
        let r = reaper.reap_once().await.unwrap();
        (r.requeued > 0).then_some(r)
    })
    .await;
    assert_eq!((reaped.requeued, reaped.dead), (2, 0));
    let queued: i64 = env.redis.pool.llen(&q.queue).await.unwrap();
    assert_eq!(queued, 2);
}

/// A consumer of a sharded queue's lanes (dbsvr, pushsvr) sweeps them: each take is one lane's
/// frames, acked to that lane's inflight list; a sweep that finds nothing returns empty; and a
/// dead consumer's frames go back to the lane each came from.
#[tokio::test]
async fn a_consumer_of_lanes_takes_each_lane_whole_and_its_frames_go_back_to_their_own_lane() {
    use common::shards::Home;
    let env = TestEnv::new().await;
    let k = env.keys();
    let homes = [Home::Shard(0), Home::Shard(1), Home::Global];
    let lanes: Vec<QueueKeys> = homes.iter().map(|h| QueueKeys::new(k, k.outbox(*h), &env.cfg.queue)).collect();
    lpush(&env, &lanes[0].queue, vec![b"s0 a".to_vec(), b"s0 b".to_vec()]).await;
    lpush(&env, &lanes[2].queue, vec![b"g a".to_vec()]).await;
    let start = |worker: &'static str| {
        let (redis, lanes) = (env.redis.clone(), lanes.clone());
        async move {
            Consumer::start_lanes(&redis, lanes, worker, "hb", 8, Duration::from_millis(20), Duration::from_secs(60))
                .await
                .unwrap()
        }
    };
    let mut consumer = start("w").await;
    assert_eq!(consumer.connection_name(), "", "a consumer of lanes has no blocking connection");
    for lane in &lanes {
        let registered: Option<String> =
            env.redis.pool.hget(&lane.consumers, k.inflight(&lane.queue, "w")).await.unwrap();
        assert_eq!(registered.as_deref(), Some("hb"), "registered in {} by its heartbeat alone", lane.queue);
    }
    let mut taken = Vec::new();
    while taken.len() < 3 {
        let frames = consumer.take().await.unwrap();
        let Some(first) = frames.first() else { continue };
        let lane = if first.starts_with(b"s0") { &lanes[0] } else { &lanes[2] };
        assert!(frames.iter().all(|f| f[..2] == first[..2]), "one take, one lane: {frames:?}");
        assert_eq!(consumer.inflight_key(), k.inflight(&lane.queue, "w"));
        assert_eq!(env.llen(consumer.inflight_key()).await, frames.len() as i64, "held in its lane's inflight list");
        for f in &frames {
            assert!(consumer.ack(f, None).await.unwrap(), "acked in its own lane");
        }
        assert_eq!(env.llen(consumer.inflight_key()).await, 0);
        taken.extend(frames);
    }
    taken.sort();
    assert_eq!(taken, vec![Bytes::from_static(b"g a"), Bytes::from_static(b"s0 a"), Bytes::from_static(b"s0 b")]);
    assert!(consumer.take().await.unwrap().is_empty(), "nothing left: the sweep finds nothing");

    // A batch gathered across lanes (dbsvr's): take, then take_more from the other lanes; ack_all
    // empties every inflight list the batch came from.
    lpush(&env, &lanes[0].queue, vec![b"s0 c".to_vec()]).await;
    lpush(&env, &lanes[2].queue, vec![b"g b".to_vec()]).await;
    let mut batch = take_some(&mut consumer).await;
    while batch.len() < 2 {
        batch.extend(consumer.take_more(8).await.unwrap());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    batch.sort();
    assert_eq!(batch, vec![Bytes::from_static(b"g b"), Bytes::from_static(b"s0 c")]);
    let held = || async {
        env.llen(&k.inflight(&lanes[0].queue, "w")).await + env.llen(&k.inflight(&lanes[2].queue, "w")).await
    };
    assert_eq!(held().await, 2, "each frame held in its own lane's inflight list");
    assert!(consumer.ack_all().await.unwrap());
    assert_eq!(held().await, 0, "the whole batch acked");

    // A claim the client sent twice (its first answer lost) leaves a frame in the inflight list
    // that no take returned: ack_all refuses to empty the list, and the read-back hands it over.
    lpush(&env, &lanes[0].queue, vec![b"s0 d".to_vec()]).await;
    let batch = take_some(&mut consumer).await;
    assert_eq!(batch, vec![Bytes::from_static(b"s0 d")]);
    lpush(&env, &k.inflight(&lanes[0].queue, "w"), vec![b"s0 replayed".to_vec()]).await;
    assert!(!consumer.ack_all().await.unwrap(), "the list holds more than the batch");
    assert_eq!(env.llen(&k.inflight(&lanes[0].queue, "w")).await, 2, "nothing dropped");
    consumer.mark_recover();
    let mut again = consumer.take().await.unwrap();
    again.sort();
    assert_eq!(again, vec![Bytes::from_static(b"s0 d"), Bytes::from_static(b"s0 replayed")], "read back whole");
    assert!(consumer.ack_all().await.unwrap());

    // A consumer that dies holding a frame of lane 1: the reaper of the lanes returns it there.
    lpush(&env, &lanes[1].queue, vec![b"s1 a".to_vec()]).await;
    let frames = take_some(&mut consumer).await;
    assert_eq!(frames, vec![Bytes::from_static(b"s1 a")]);
    drop(consumer); // no heartbeat key "hb" exists: the reaper takes it for dead
    let reaper = Reaper::lanes(&env.redis, lanes.clone(), "reaper", 3, Duration::from_secs(5), Duration::ZERO);
    assert_eq!(reaper.reap_once().await.unwrap().requeued, 1);
    let back: Vec<Bytes> = env.redis.pool.lrange(&lanes[1].queue, 0, -1).await.unwrap();
    assert_eq!(back, frames, "back in the lane it came from");
    assert_eq!(env.llen(&lanes[0].queue).await + env.llen(&lanes[2].queue).await, 0, "and nowhere else");
}

/// The next frames a consumer takes, waiting out takes that find nothing.
async fn take_some(consumer: &mut Consumer) -> Vec<Bytes> {
    loop {
        let frames = consumer.take().await.unwrap();
        if !frames.is_empty() {
            return frames;
        }
    }
}
