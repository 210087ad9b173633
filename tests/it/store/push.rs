//! The push scripts' bindings on their own (push_user, inbox_take and sched_due are exercised in
//! tests/it/push.rs): announce.

use bytes::Bytes;
use common::shards::Home;
use common::store::announce;
use fred::prelude::*;
use test_support::TestEnv;

use super::lrange;

#[tokio::test]
async fn announce_queues_now_or_schedules_and_records_the_audit() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let args =
        announce::Args { event: Bytes::from_static(b"now"), due_ms: None, audit: Some(Bytes::from_static(b"a1")) };
    assert_eq!(announce::call(&env.redis, &args).await.unwrap(), announce::Outcome::Queued);
    assert_eq!(lrange(&env, &k.notify(Home::Global)).await, vec!["now"]);
    assert_eq!(lrange(&env, &k.outbox(Home::Global)).await, vec!["a1"]);

    let args = announce::Args { event: Bytes::from_static(b"later"), due_ms: Some(5_000), audit: None };
    assert_eq!(announce::call(&env.redis, &args).await.unwrap(), announce::Outcome::Scheduled);
    let sched: Vec<(String, f64)> = env.redis.pool.zrange(k.sched(), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(sched, vec![("later".to_owned(), 5_000.0)]);
    assert_eq!(lrange(&env, &k.notify(Home::Global)).await, vec!["now"], "scheduled, not queued");
    assert_eq!(lrange(&env, &k.outbox(Home::Global)).await, vec!["a1"], "no audit record: nothing recorded");

    let args = announce::Args { event: Bytes::from_static(b"zero"), due_ms: Some(0), audit: None };
    assert_eq!(announce::call(&env.redis, &args).await.unwrap(), announce::Outcome::Queued, "0 is now");
    assert_eq!(lrange(&env, &k.notify(Home::Global)).await, vec!["zero", "now"]);
}
