//! The queue's scripts: claim, ack, dead_letter, requeue.

use std::collections::HashMap;

use bytes::Bytes;
use common::queue::DeadList;
use common::store::{ack, claim, dead_letter, requeue};
use fred::prelude::*;
use fred::types::lists::LMoveDirection;
use test_support::TestEnv;

use super::{lrange, push};

fn frames(items: &[&'static str]) -> Vec<Bytes> {
    items.iter().map(|f| Bytes::from_static(f.as_bytes())).collect()
}

fn frames_of(items: &[String]) -> Vec<Bytes> {
    items.iter().map(|f| Bytes::from(f.clone())).collect()
}

async fn claim(env: &TestEnv, queue: &str, inflight: &str, max: u64) -> claim::Outcome {
    claim::call(&env.redis, &claim::Args { queue, inflight, max }).await.unwrap()
}

/// One ack of a batch: the frame, and the reply (list key, element) if any.
type AckOf<'a> = (&'static str, Option<(&'a str, &'static str)>);

async fn ack(env: &TestEnv, inflight: &str, batch: &[AckOf<'_>], ttl_ms: u64) -> Vec<ack::Outcome> {
    let acks: Vec<ack::Ack> = batch
        .iter()
        .map(|(frame, reply)| ack::Ack {
            frame: Bytes::from_static(frame.as_bytes()),
            reply: reply.map(|(key, element)| (key, Bytes::from_static(element.as_bytes()))),
        })
        .collect();
    ack::call(&env.redis, &ack::Args { inflight, acks: &acks, reply_ttl_ms: ttl_ms }).await.unwrap()
}

/// How many times Redis has run each of `commands` (scripts' commands included); compare two
/// readings on a Redis of the test's own, where nothing else runs.
async fn calls(env: &TestEnv, commands: &[&str]) -> Vec<u64> {
    let info: String = env.redis.pool.next().info(Some(fred::types::InfoKind::CommandStats)).await.unwrap();
    let count = |command: &str| {
        let prefix = format!("cmdstat_{command}:calls=");
        info.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
    };
    commands.iter().map(|c| count(c)).collect()
}

/// What Redis ran of `commands` during `work`.
async fn ran<T>(env: &TestEnv, commands: &[&str], work: impl std::future::Future<Output = T>) -> (T, Vec<u64>) {
    let before = calls(env, commands).await;
    let out = work.await;
    let after = calls(env, commands).await;
    (out, after.iter().zip(before).map(|(a, b)| a - b).collect())
}

/// The dead list's bounds when a script is given none.
const DEAD_LIST: DeadList = DeadList { max: 10_000, ttl_s: 604_800 };

#[tokio::test]
async fn claim_moves_up_to_n_oldest_first() {
    let env = TestEnv::new().await;
    let (q, inflight) = (env.keys().c2l(1), env.keys().inflight(&env.keys().c2l(1), "w"));
    push(&env, &q, &["a", "b", "c"]).await; // LPUSH: "a" is the oldest, at the right end
    assert_eq!(claim(&env, &q, &inflight, 2).await, claim::Outcome::Claimed { frames: frames(&["a", "b"]) });
    assert_eq!(lrange(&env, &q).await, vec!["c"]);
    assert_eq!(lrange(&env, &inflight).await, vec!["b", "a"]);
    assert_eq!(claim(&env, &q, &inflight, 5).await, claim::Outcome::Claimed { frames: frames(&["c"]) });
    assert_eq!(env.llen(&q).await, 0, "a queue claimed to the end is gone");
    assert_eq!(claim(&env, &q, &inflight, 5).await, claim::Outcome::Claimed { frames: vec![] });
    assert_eq!(claim(&env, &q, &inflight, 0).await, claim::Outcome::Claimed { frames: vec![] });
    assert_eq!(lrange(&env, &inflight).await, vec!["c", "b", "a"], "the oldest deepest, as LMOVE leaves it");
}

/// claim.lua leaves the queue and the inflight list exactly as the same number of
/// `LMOVE queue inflight RIGHT LEFT` would — batches that take part of the queue, all of it, and
/// more than one LPUSH's worth (1000) — and answers the frames in the order those LMOVEs would.
#[tokio::test]
async fn claim_leaves_the_lists_as_single_lmoves_would() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let (q, inflight) = (k.c2l(1), k.inflight(&k.c2l(1), "w"));
    let (q_ref, inflight_ref) = (k.c2l(2), k.inflight(&k.c2l(2), "w"));
    let names: Vec<String> = (0..2600).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // Something already inflight from an earlier claim stays below the new frames.
    for (queue, list) in [(&q, &inflight), (&q_ref, &inflight_ref)] {
        push(&env, list, &["earlier"]).await;
        push(&env, queue, &names).await;
    }
    for n in [3, 1, 1500, 1, 2000] {
        let claim::Outcome::Claimed { frames: got } = claim(&env, &q, &inflight, n).await;
        let mut moved = Vec::new();
        for _ in 0..n {
            let f: Option<Bytes> =
                env.redis.pool.lmove(&q_ref, &inflight_ref, LMoveDirection::Right, LMoveDirection::Left).await.unwrap();
            let Some(f) = f else { break };
            moved.push(f);
        }
        assert_eq!(got, moved, "claim of {n}: the frames, oldest first");
        assert_eq!(lrange(&env, &q).await, lrange(&env, &q_ref).await, "claim of {n}: the queue");
        assert_eq!(lrange(&env, &inflight).await, lrange(&env, &inflight_ref).await, "claim of {n}: inflight");
    }
    assert_eq!(env.llen(&q).await, 0, "2600 frames claimed in all");
    assert_eq!(env.llen(&inflight).await, 2601);
}

/// A claim costs the same three commands whatever it takes, and an empty queue one.
#[tokio::test]
async fn claim_runs_three_commands_whatever_it_takes() {
    let server = test_support::redis_server::RedisServer::start().await;
    let env = TestEnv::on(&server.url()).await;
    let (q, inflight) = (env.keys().c2l(1), env.keys().inflight(&env.keys().c2l(1), "w"));
    let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    push(&env, &q, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let commands = ["lrange", "ltrim", "lpush", "lmove"];
    let (got, counts) = ran(&env, &commands, claim(&env, &q, &inflight, 40)).await;
    assert_eq!(got, claim::Outcome::Claimed { frames: frames_of(&names[..40]) });
    assert_eq!(counts, [1, 1, 1, 0], "LRANGE, LTRIM, LPUSH for 40 frames");
    let (_, counts) = ran(&env, &commands, claim(&env, &q, &inflight, 40)).await;
    assert_eq!(counts, [1, 1, 1, 0], "the same for the last 10");
    let (got, counts) = ran(&env, &commands, claim(&env, &q, &inflight, 40)).await;
    assert_eq!(got, claim::Outcome::Claimed { frames: vec![] });
    assert_eq!(counts, [1, 0, 0, 0], "an empty queue: LRANGE only");
}

#[tokio::test]
async fn ack_replies_only_for_a_frame_still_inflight() {
    let env = TestEnv::new().await;
    let inflight = env.keys().inflight(&env.keys().c2l(1), "w");
    let replies = env.keys().l2c(1, "n");
    push(&env, &inflight, &["f1"]).await;
    assert_eq!(ack(&env, &inflight, &[("f1", Some((&replies, "r1")))], 0).await, vec![ack::Outcome::Acked]);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    assert_eq!(env.llen(&inflight).await, 0);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert_eq!(ttl, -1, "a reply TTL of 0: the reply list does not expire");
    // The same frame again (the reaper took it back meanwhile): no second reply.
    assert_eq!(ack(&env, &inflight, &[("f1", Some((&replies, "r2")))], 0).await, vec![ack::Outcome::NotInflight]);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    // An ack without a reply.
    push(&env, &inflight, &["f2"]).await;
    assert_eq!(ack(&env, &inflight, &[("f2", None)], 0).await, vec![ack::Outcome::Acked]);
    assert_eq!(env.llen(&replies).await, 1);
    assert_eq!(env.llen(&inflight).await, 0);
    // With a lifetime, the reply list expires that long after the reply (its reader may be dead).
    push(&env, &inflight, &["f3"]).await;
    assert_eq!(ack(&env, &inflight, &[("f3", Some((&replies, "r3")))], 60_000).await, vec![ack::Outcome::Acked]);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
}

/// A batch: each frame acked on its own terms, the replies of the frames still inflight pushed to
/// their lists in the order of their frames (one LPUSH and one PEXPIRE per list), none for a frame
/// no longer inflight, and a list that gets no reply left as it was.
#[tokio::test]
async fn a_batch_ack_answers_each_frame_and_pushes_replies_per_list_in_order() {
    let server = test_support::redis_server::RedisServer::start().await;
    let env = TestEnv::on(&server.url()).await;
    let inflight = env.keys().inflight(&env.keys().c2l(1), "w");
    let (a, b, c) = (env.keys().l2c(1, "a"), env.keys().l2c(1, "b"), env.keys().l2c(1, "c"));
    push(&env, &inflight, &["f1", "f2", "f3", "f4", "f5", "f1", "kept"]).await;
    push(&env, &c, &["c0"]).await; // a reader's list with no TTL, which this batch must not touch
    let batch: &[AckOf] = &[
        ("f1", Some((&a, "r1"))),
        ("gone", Some((&a, "rX"))),
        ("f2", None),
        ("f3", Some((&b, "r3"))),
        ("f1", Some((&b, "r1b"))), // the same bytes twice inflight: each ack removes one copy
        ("f4", Some((&a, "r4"))),
        ("gone", Some((&c, "rC"))),
        ("f5", Some((&b, "r5"))),
        ("f1", Some((&a, "r1c"))), // a third: not inflight any more
    ];
    let commands = ["lrem", "lpush", "pexpire", "evalsha"];
    let (got, counts) = ran(&env, &commands, ack(&env, &inflight, batch, 60_000)).await;
    use ack::Outcome::{Acked, NotInflight};
    assert_eq!(got, vec![Acked, NotInflight, Acked, Acked, Acked, Acked, NotInflight, Acked, NotInflight]);
    // Readers pop from the right: the replies of each list come out in the order of their frames.
    let oldest_first = |mut list: Vec<String>| {
        list.reverse();
        list
    };
    assert_eq!(oldest_first(lrange(&env, &a).await), vec!["r1", "r4"]);
    assert_eq!(oldest_first(lrange(&env, &b).await), vec!["r3", "r1b", "r5"]);
    assert_eq!(lrange(&env, &c).await, vec!["c0"], "no reply for a frame no longer inflight");
    assert_eq!(lrange(&env, &inflight).await, vec!["kept"]);
    for key in [&a, &b] {
        let ttl: i64 = env.redis.pool.pttl(key).await.unwrap();
        assert!((1..=60_000).contains(&ttl), "{key}: PTTL {ttl}");
    }
    let ttl: i64 = env.redis.pool.pttl(&c).await.unwrap();
    assert_eq!(ttl, -1, "a list that got no reply keeps its lifetime");
    assert_eq!(counts, [9, 2, 2, 1], "one script call: an LREM per frame, an LPUSH and a PEXPIRE per list replied to");
}

#[tokio::test]
async fn dead_letter_moves_one_frame() {
    let env = TestEnv::new().await;
    let q = env.keys().c2l(1);
    let (inflight, dead) = (env.keys().inflight(&q, "w"), env.keys().dead(&q));
    push(&env, &inflight, &["bad", "good"]).await;
    let dead_letter = |frame: &'static str| {
        let args = dead_letter::Args {
            inflight: &inflight,
            dead: &dead,
            frame: Bytes::from_static(frame.as_bytes()),
            dead_list: DEAD_LIST,
        };
        let env = &env;
        async move { dead_letter::call(&env.redis, &args).await.unwrap() }
    };
    assert_eq!(dead_letter("bad").await, dead_letter::Outcome::Moved);
    assert_eq!(lrange(&env, &dead).await, vec!["bad"]);
    assert_eq!(lrange(&env, &inflight).await, vec!["good"]);
    let ttl: i64 = env.redis.pool.ttl(&dead).await.unwrap();
    assert!(ttl > 0 && ttl <= 604_800, "the dead list expires: {ttl}");
    assert_eq!(dead_letter("gone").await, dead_letter::Outcome::NotInflight);
    assert_eq!(lrange(&env, &dead).await, vec!["bad"]);
}

#[tokio::test]
async fn requeue_returns_frames_counts_deliveries_and_dead_letters_poison() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let q = k.c2l(1);
    let (inflight, dead, deliveries, consumers) = (k.inflight(&q, "w"), k.dead(&q), k.deliveries(&q), k.consumers(&q));
    let _: () = env.redis.pool.hset(&consumers, (inflight.as_str(), "hb")).await.unwrap();
    let requeue = |limit: u64| {
        let args = requeue::Args {
            inflight: &inflight,
            queue: &q,
            dead: &dead,
            deliveries: &deliveries,
            consumers: &consumers,
            max_attempts: 3,
            limit,
            deliveries_ttl_s: 60,
            dead_list: DEAD_LIST,
        };
        let env = &env;
        async move { requeue::call(&env.redis, &args).await.unwrap() }
    };
    let requeued = |moved, dead, remaining| requeue::Outcome::Requeued { moved, dead, remaining };
    // inflight holds "old" (right end, taken first) and "new".
    push(&env, &inflight, &["old", "new"]).await;
    assert_eq!(requeue(1).await, requeued(1, 0, 1), "bounded per call");
    assert_eq!(requeue(10).await, requeued(1, 0, 0));
    // Back at the consuming (right) end, oldest first: the next consumer takes "old" first.
    assert_eq!(lrange(&env, &q).await, vec!["new", "old"]);
    let consumers_left: HashMap<String, String> = env.redis.pool.hgetall(&consumers).await.unwrap();
    assert!(consumers_left.is_empty(), "an emptied dead consumer is forgotten");

    // A frame returned for the third time goes to the dead list instead.
    for attempt in 2..=3 {
        let _: Option<String> = env.redis.pool.rpop(&q, None).await.unwrap(); // "old" taken again…
        push(&env, &inflight, &["old"]).await; // …and its worker dies
        let requeue::Outcome::Requeued { moved, dead: dead_n, .. } = requeue(10).await;
        assert_eq!((moved, dead_n), if attempt < 3 { (1, 0) } else { (0, 1) }, "attempt {attempt}");
    }
    assert_eq!(lrange(&env, &dead).await, vec!["old"]);
    let ttl: i64 = env.redis.pool.ttl(&deliveries).await.unwrap();
    assert!(ttl > 0 && ttl <= 60, "the deliveries hash expires: {ttl}");
}
