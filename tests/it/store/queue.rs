//! The queue's scripts: claim, ack, dead_letter, requeue.

use std::collections::HashMap;

use bytes::Bytes;
use common::queue::DeadList;
use common::store::{ack, claim, dead_letter, requeue};
use fred::prelude::*;
use test_support::TestEnv;

use super::{lrange, push};

fn frames(items: &[&'static str]) -> Vec<Bytes> {
    items.iter().map(|f| Bytes::from_static(f.as_bytes())).collect()
}

async fn claim(env: &TestEnv, queue: &str, inflight: &str, max: u64) -> claim::Outcome {
    claim::call(&env.redis, &claim::Args { queue, inflight, max }).await.unwrap()
}

async fn ack(
    env: &TestEnv,
    inflight: &str,
    frame: &'static str,
    reply: Option<(&str, &'static str)>,
    ttl_ms: u64,
) -> ack::Outcome {
    let args = ack::Args {
        inflight,
        frame: Bytes::from_static(frame.as_bytes()),
        reply: reply.map(|(key, element)| (key, Bytes::from_static(element.as_bytes()))),
        reply_ttl_ms: ttl_ms,
    };
    ack::call(&env.redis, &args).await.unwrap()
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
    assert_eq!(claim(&env, &q, &inflight, 5).await, claim::Outcome::Claimed { frames: vec![] });
    assert_eq!(claim(&env, &q, &inflight, 0).await, claim::Outcome::Claimed { frames: vec![] });
}

#[tokio::test]
async fn ack_replies_only_for_a_frame_still_inflight() {
    let env = TestEnv::new().await;
    let inflight = env.keys().inflight(&env.keys().c2l(1), "w");
    let replies = env.keys().l2c("n");
    push(&env, &inflight, &["f1"]).await;
    assert_eq!(ack(&env, &inflight, "f1", Some((&replies, "r1")), 0).await, ack::Outcome::Acked);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    assert_eq!(env.llen(&inflight).await, 0);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert_eq!(ttl, -1, "a reply TTL of 0: the reply list does not expire");
    // The same frame again (the reaper took it back meanwhile): no second reply.
    assert_eq!(ack(&env, &inflight, "f1", Some((&replies, "r2")), 0).await, ack::Outcome::NotInflight);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    // An ack without a reply.
    push(&env, &inflight, &["f2"]).await;
    assert_eq!(ack(&env, &inflight, "f2", None, 0).await, ack::Outcome::Acked);
    assert_eq!(env.llen(&replies).await, 1);
    assert_eq!(env.llen(&inflight).await, 0, "no reply: nothing pushed to the inflight list standing in for KEYS[2]");
    // With a lifetime, the reply list expires that long after the reply (its reader may be dead).
    push(&env, &inflight, &["f3"]).await;
    assert_eq!(ack(&env, &inflight, "f3", Some((&replies, "r3")), 60_000).await, ack::Outcome::Acked);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
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
