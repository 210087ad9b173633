//! The push scripts' bindings on their own (push_user, inbox_take and sched_due are exercised in
//! tests/it/push.rs): notice_publish, notice_withdraw.

use bytes::Bytes;
use common::notices::Target;
use common::shards::Home;
use common::store::{notice_publish, notice_withdraw};
use fred::prelude::*;
use test_support::TestEnv;

use super::lrange;

/// The tests' "now" (a notice's hash expires its keep window after its publish time).
const T0: u64 = 1_900_000_000_000;

fn notice<'a>(id: &'a str, target: Target, publish_at: u64, audit: Option<&'static [u8]>) -> notice_publish::Args<'a> {
    notice_publish::Args {
        id,
        title: Some("T"),
        text: "hello",
        target,
        publish_at: T0 + publish_at,
        now_ms: T0,
        created_by: "otto",
        audit: audit.map(Bytes::from_static),
    }
}

#[tokio::test]
async fn notice_publish_indexes_the_notice_and_queues_or_schedules_its_push_once() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let now = notice("n1", Target::All, 0, Some(b"a1"));
    assert_eq!(notice_publish::call(&env.redis, &now).await.unwrap(), notice_publish::Outcome::Published);
    assert_eq!(notice_publish::call(&env.redis, &now).await.unwrap(), notice_publish::Outcome::Exists);
    let queued: Vec<Bytes> = env.redis.pool.lrange(k.notify(Home::Global), 0, -1).await.unwrap();
    assert_eq!(queued.len(), 1, "one push: {queued:?}");
    let event: common::events::Event = rmp_serde::from_slice(&queued[0]).unwrap();
    assert_eq!(event, common::events::Event::Notice { id: "n1".into() });
    assert_eq!(lrange(&env, &k.outbox(Home::Global)).await, vec!["a1"]);
    let h: std::collections::HashMap<String, String> = env.redis.pool.hgetall(k.notice("n1")).await.unwrap();
    assert_eq!((h["target"].as_str(), h["target_id"].as_str(), h["state"].as_str()), ("all", "", "live"));

    let later = notice("n2", Target::User(7), 5_000, None);
    assert_eq!(notice_publish::call(&env.redis, &later).await.unwrap(), notice_publish::Outcome::Scheduled);
    let sched: Vec<(Bytes, f64)> = env.redis.pool.zrange(k.sched(), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(sched.iter().map(|(_, at)| *at as u64).collect::<Vec<_>>(), vec![T0 + 5_000]);
    assert_eq!(env.llen(&k.notify(Home::Global)).await, 1, "scheduled, not queued");
    let user: Vec<(String, f64)> =
        env.redis.pool.zrange(k.notices_for("user:7"), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(user, vec![("n2".to_owned(), (T0 + 5_000) as f64)]);
    let every: i64 = env.redis.pool.zcard(k.notices()).await.unwrap();
    assert_eq!(every, 2);
    let ttl: i64 = env.redis.pool.pttl(k.notice("n2")).await.unwrap();
    assert!(ttl > 0, "kept a while, not forever");
}

#[tokio::test]
async fn notice_withdraw_takes_it_off_its_audience_index_once_and_keeps_it_for_staff() {
    let env = TestEnv::new().await;
    let k = env.keys();
    notice_publish::call(&env.redis, &notice("n1", Target::Match(9), 0, None)).await.unwrap();
    let args = |id| notice_withdraw::Args {
        id,
        target: Target::Match(9),
        now_ms: T0 + 2_000,
        withdrawn_by: "ada",
        audit: Some(Bytes::from_static(b"w1")),
    };
    assert_eq!(notice_withdraw::call(&env.redis, &args("n1")).await.unwrap(), notice_withdraw::Outcome::Withdrawn);
    assert_eq!(
        notice_withdraw::call(&env.redis, &args("n1")).await.unwrap(),
        notice_withdraw::Outcome::AlreadyWithdrawn
    );
    assert_eq!(notice_withdraw::call(&env.redis, &args("nx")).await.unwrap(), notice_withdraw::Outcome::NoNotice);
    let live: i64 = env.redis.pool.zcard(k.notices_for("match")).await.unwrap();
    let every: i64 = env.redis.pool.zcard(k.notices()).await.unwrap();
    assert_eq!((live, every), (0, 1));
    let h: std::collections::HashMap<String, String> = env.redis.pool.hgetall(k.notice("n1")).await.unwrap();
    assert_eq!(
        (h["state"].as_str(), h["withdrawn_by"].as_str(), h["withdrawn_at"].as_str()),
        ("withdrawn", "ada", "1900000002000")
    );
    assert_eq!(lrange(&env, &k.outbox(Home::Global)).await, vec!["w1"], "one audit record");
}
