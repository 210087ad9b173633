//! Every Lua script against the real Redis, through its binding in `common::store`: replies,
//! errors, and what each leaves behind. One module per family of scripts.

mod accounts;
mod auth;
mod contract;
mod ext;
mod matches;
mod money;
mod push;
mod queue;

use common::store::scripts::ScriptName;
use fred::prelude::*;
use test_support::TestEnv;

pub(crate) async fn lrange(env: &TestEnv, key: &str) -> Vec<String> {
    env.redis.pool.lrange(key, 0, -1).await.unwrap()
}

pub(crate) async fn push(env: &TestEnv, key: &str, items: &[&str]) {
    let _: i64 = env.redis.pool.lpush(key, items.to_vec()).await.unwrap();
}

#[tokio::test]
async fn every_script_loads_and_has_a_header() {
    let env = TestEnv::new().await;
    for name in ScriptName::ALL {
        let src = name.source();
        for section in ["KEYS[1]", "Reply:", "Errors:"] {
            assert!(src.contains(section), "{} has no {section} in its header", name.file());
        }
        let exists: Vec<bool> = env.redis.pool.script_exists(vec![env.redis.scripts.sha(*name)]).await.unwrap();
        assert_eq!(exists, vec![true], "{} is loaded", name.file());
    }
}

#[tokio::test]
async fn a_flushed_script_cache_is_reloaded() {
    let env = TestEnv::new().await;
    // Another client flushing the cache is what a Redis restart or failover looks like to us.
    let _: () = env.redis.pool.next().script_flush(false).await.unwrap();
    let q = env.keys().c2l(1);
    let inflight = env.keys().inflight(&q, "w");
    let got =
        common::store::claim::call(&env.redis, &common::store::claim::Args { queue: &q, inflight: &inflight, max: 1 })
            .await
            .unwrap();
    assert_eq!(got, common::store::claim::Outcome::Claimed { frames: vec![] });
}
