//! Batching on the queue's path (issue 19), against the real Redis: a consumer's acks gathered
//! into one ack.lua call, and a connect node's frames gathered into one LPUSH — every frame still
//! acked, answered and queued exactly as it was alone.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use common::Shutdown;
use common::queue::{Consumer, QueueKeys};
use fred::prelude::*;
use futures_util::future::join_all;
use protocol::codec::{encode_frame, split_frame};
use protocol::{ClientHead, InternalHead, msg};
use serde_json::json;
use test_support::{Client, TestEnv, eventually, spawn_connect};

async fn consumer(env: &TestEnv) -> Consumer {
    let q = QueueKeys::new(env.keys(), env.keys().c2l(1), &env.cfg.queue);
    Consumer::start(&env.redis, q, "w", "hb", 8, Duration::from_millis(100), Duration::from_secs(60)).await.unwrap()
}

fn numbered(what: &str, n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from(format!("{what} {i:03}"))).collect()
}

async fn lpush(env: &TestEnv, key: &str, items: &[Bytes]) {
    let _: i64 = env.redis.pool.lpush(key, items.to_vec()).await.unwrap();
}

#[tokio::test]
async fn concurrent_acks_go_together_and_each_gets_its_own_answer() {
    let env = TestEnv::new().await;
    let consumer = consumer(&env).await;
    let acker = consumer.acker();
    let replies = env.keys().l2c(1, "n");
    let frames = numbered("frame", 100);
    // 90 are inflight; the last 10 are not (the reaper took them back).
    lpush(&env, consumer.inflight_key(), &frames[..90]).await;
    let acks = frames.iter().enumerate().map(|(i, frame)| {
        let (acker, replies) = (acker.clone(), replies.clone());
        async move { acker.ack(frame, Some((&replies, format!("reply {i:03}").as_bytes()))).await }
    });
    let answers = join_all(acks).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), i < 90, "ack {i}: inflight or not");
    }
    assert_eq!(env.llen(consumer.inflight_key()).await, 0);
    let mut got: Vec<String> = env.redis.pool.lrange(&replies, 0, -1).await.unwrap();
    got.sort();
    let want: Vec<String> = (0..90).map(|i| format!("reply {i:03}")).collect();
    assert_eq!(got, want, "a reply for each frame that was inflight, once; none for the others");
    let calls = acker.calls();
    assert!(calls < 100, "100 concurrent acks took {calls} ack.lua calls: they were not gathered");
    consumer.leave().await.unwrap();
}

#[tokio::test]
async fn a_failed_batch_answers_each_of_its_acks_with_the_error_and_the_next_goes_through() {
    let env = TestEnv::new().await;
    let consumer = consumer(&env).await;
    let acker = consumer.acker();
    let inflight = consumer.inflight_key().to_owned();
    // The inflight list replaced by a string: ack.lua's first LREM fails, before it writes anything.
    let _: () = env.redis.pool.set(&inflight, "not a list", None, None, false).await.unwrap();
    let frames = numbered("frame", 20);
    let answers = join_all(frames.iter().map(|f| acker.ack(f, None))).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let err = answer.expect_err("the batch failed");
        assert!(format!("{err:#}").contains("WRONGTYPE"), "ack {i}: {err:#}");
    }
    // The flusher lives on: the next acks are sent.
    let _: i64 = env.redis.pool.del(&inflight).await.unwrap();
    lpush(&env, &inflight, &frames).await;
    let answers = join_all(frames.iter().map(|f| acker.ack(f, None))).await;
    assert!(answers.into_iter().all(|a| a.unwrap()), "acked after Redis answered again");
    assert_eq!(env.llen(&inflight).await, 0);
    consumer.leave().await.unwrap();
}

/// A consumer leaves only once every ack handed to its acker is answered (so the inflight list it
/// judges is final); an acker that outlives it is refused, its frame left inflight.
#[tokio::test]
async fn after_a_claim_finds_nothing_the_next_take_waits_without_claiming_and_the_one_after_claims_a_batch() {
    let env = TestEnv::new().await;
    let mut consumer = consumer(&env).await;
    // Every frame that ends a wait counts as one that was there at once (none waited long enough).
    consumer.set_wait_threshold(Duration::MAX);
    let queue = env.keys().c2l(1);
    assert!(consumer.take().await.unwrap().is_empty(), "nothing queued: the take waited and timed out");
    let claims = consumer.claims();
    assert_eq!(claims, 1, "the first take claimed once before it waited");
    // The queue was empty a moment ago: the frame now waiting is taken by the wait alone.
    lpush(&env, &queue, &numbered("frame", 1)).await;
    assert_eq!(consumer.take().await.unwrap(), numbered("frame", 1));
    assert_eq!(consumer.claims(), claims, "no claim before the wait when the last claim found nothing");
    // That frame was there at once, so others may be behind it: the next take claims what waits,
    // as a batch, oldest first.
    let more = numbered("more", 5);
    for frame in &more {
        lpush(&env, &queue, std::slice::from_ref(frame)).await;
    }
    assert_eq!(consumer.take().await.unwrap(), more);
    assert_eq!(consumer.claims(), claims + 1);
    assert_eq!(env.llen(consumer.inflight_key()).await, 6, "every frame taken is held inflight until acked");
    consumer.leave().await.unwrap();
}

#[tokio::test]
async fn a_frame_that_ends_a_real_wait_came_alone_and_the_next_take_waits_again_without_claiming() {
    let env = TestEnv::new().await;
    let mut consumer = consumer(&env).await;
    // Every frame that ends a wait counts as one that came to an empty queue.
    consumer.set_wait_threshold(Duration::ZERO);
    let queue = env.keys().c2l(1);
    let frames = numbered("frame", 3);
    lpush(&env, &queue, &frames[..1]).await;
    assert_eq!(consumer.take().await.unwrap(), frames[..1], "the first take claims what waits");
    assert_eq!(consumer.claims(), 1);
    assert!(consumer.take().await.unwrap().is_empty(), "the claim found nothing more, the wait timed out");
    let claims = consumer.claims();
    for frame in &frames[1..] {
        lpush(&env, &queue, std::slice::from_ref(frame)).await;
    }
    assert_eq!(consumer.take().await.unwrap(), frames[1..2]);
    assert_eq!(consumer.take().await.unwrap(), frames[2..]);
    assert_eq!(consumer.claims(), claims, "each frame was taken by a wait, none by a claim");
    assert_eq!(env.llen(consumer.inflight_key()).await, 3, "every frame taken is held inflight until acked");
    consumer.leave().await.unwrap();
}

#[tokio::test]
async fn leave_sends_the_acks_already_handed_over_then_refuses_more() {
    let env = TestEnv::new().await;
    let consumer = consumer(&env).await;
    let acker = consumer.acker();
    let inflight = consumer.inflight_key().to_owned();
    let frames = numbered("frame", 50);
    lpush(&env, &inflight, &frames).await;
    // Each ack polled once: handed over, not answered yet.
    let mut acks: Vec<_> = frames.iter().map(|f| Box::pin(acker.ack(f, None))).collect();
    for ack in &mut acks {
        assert!(futures_util::poll!(ack).is_pending(), "an ack is answered by the flusher, not at once");
    }
    consumer.leave().await.unwrap();
    assert_eq!(env.llen(&inflight).await, 0, "every ack handed over was sent before the consumer left");
    let consumers = env.keys().consumers(&env.keys().c2l(1));
    let registered: bool = env.redis.pool.hexists(&consumers, &inflight).await.unwrap();
    assert!(!registered, "an empty consumer unregisters");
    for ack in acks {
        assert!(ack.await.unwrap(), "each was answered: acked");
    }
    lpush(&env, &inflight, &numbered("late", 1)).await;
    let late = acker.ack(&numbered("late", 1)[0], None).await.expect_err("refused after leave");
    assert!(format!("{late:#}").contains("has left"), "{late:#}");
    assert_eq!(env.llen(&inflight).await, 1, "a refused ack leaves its frame inflight");
}

/// connect's pusher: frames from many connections at once all reach the group queue, each once,
/// each connection's in the order it sent them, in fewer LPUSHes than frames.
#[tokio::test]
async fn frames_of_many_connections_are_queued_each_once_in_order_in_fewer_pushes() {
    const CONNECTIONS: usize = 40;
    const FRAMES: u32 = 25;
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    // No logic: the frames stay in the queue to be read.
    let (addr, stats) = spawn_connect(env.node(1), &shutdown).await;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(Client::connect(addr).await);
    }
    // Every client writes all its frames without waiting for anything.
    join_all(clients.iter_mut().map(|c| async move {
        for seq in 1..=FRAMES {
            let frame = encode_frame(&ClientHead { id: msg::PING, seq, ver: None }, &json!({})).unwrap();
            c.send_binary(frame).await;
        }
    }))
    .await;
    let q = env.keys().c2l(1);
    let total = CONNECTIONS * FRAMES as usize;
    eventually("every frame is queued", || async { (env.llen(&q).await as usize >= total).then_some(()) }).await;
    let mut queued: Vec<Bytes> = env.redis.pool.lrange(&q, 0, -1).await.unwrap();
    queued.reverse(); // the order consumers take them in
    assert_eq!(queued.len(), total, "no frame queued twice");
    let mut per_conn: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for element in &queued {
        let (head, _) = split_frame::<InternalHead>(element).unwrap();
        per_conn.entry(head.conn).or_default().push(head.seq);
    }
    assert_eq!(per_conn.len(), CONNECTIONS, "frames from every connection");
    for (conn, seqs) in &per_conn {
        assert_eq!(*seqs, (1..=FRAMES).collect::<Vec<_>>(), "connection {conn}: each frame once, in its order");
    }
    let forwarded = connect::Stats::get(&stats.frames_forwarded);
    let pushes = connect::Stats::get(&stats.queue_pushes);
    assert_eq!(forwarded, total as u64);
    assert!(pushes < forwarded, "{forwarded} frames took {pushes} LPUSHes: they were not gathered");
    drop(clients);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await, "connect and its pusher stopped");
}
