//! The example Lua handler folder's own scripts (logic/scripts/redis), through the store's
//! untyped binding for handler folders' scripts (`common::store::module_script`), as `ctx.script`
//! runs them.

use std::collections::HashMap;

use common::store::StoreError;
use common::store::module_script;
use fred::prelude::*;
use fred::types::Value;
use test_support::TestEnv;

/// A script of the example Lua handler folder (logic/scripts/redis) with its two `ext:` keys;
/// the reply as integers.
async fn ext_script(env: &TestEnv, source: &str, argv: Vec<String>) -> Result<Vec<i64>, StoreError> {
    let script = module_script::load(&env.redis, source.to_owned()).await?;
    let keys = ["signin:days".to_owned(), "signin:board".to_owned()];
    let argv = argv.into_iter().map(Value::from).collect();
    let reply = module_script::call(&env.redis, &script, &keys, argv).await?;
    Ok(match reply {
        Value::Array(items) => items.iter().map(|v| v.as_i64().expect("an integer")).collect(),
        other => panic!("not an array: {other:?}"),
    })
}

const SIGNIN_STREAK: &str = include_str!("../../../logic/scripts/redis/signin_streak.lua");
const STREAK_TOP: &str = include_str!("../../../logic/scripts/redis/streak_top.lua");

#[tokio::test]
async fn signin_streak_counts_days_in_a_row_once_per_day() {
    let env = TestEnv::new().await;
    for src in [SIGNIN_STREAK, STREAK_TOP] {
        for section in ["KEYS[1]", "ARGV[1]", "Reply:", "Errors:"] {
            assert!(src.contains(section), "no {section} in the header");
        }
    }
    let day = |uid: u64, d: u64| ext_script(&env, SIGNIN_STREAK, vec![uid.to_string(), d.to_string()]);
    assert_eq!(day(7, 100).await.unwrap(), vec![1, 1]);
    assert_eq!(day(7, 100).await.unwrap(), vec![1, 0], "the same day again changes nothing");
    assert_eq!(day(7, 101).await.unwrap(), vec![2, 1]);
    assert_eq!(day(7, 102).await.unwrap(), vec![3, 1]);
    assert_eq!(day(7, 102).await.unwrap(), vec![3, 0]);
    assert_eq!(day(7, 104).await.unwrap(), vec![1, 1], "a missed day starts a new run");
    assert_eq!(day(8, 104).await.unwrap(), vec![1, 1]);
    let days: HashMap<String, String> = env.redis.pool.hgetall(env.keys().ext("signin:days")).await.unwrap();
    assert_eq!(days, HashMap::from([("7".to_owned(), "104:1".to_owned()), ("8".to_owned(), "104:1".to_owned())]));
    let bad = ext_script(&env, SIGNIN_STREAK, vec!["7".into(), "x".into()]).await.unwrap_err();
    assert!(bad.refusal().is_some_and(|r| r.contains("bad day")), "{bad}");
    assert_eq!(env.scan("{g}:ext:*").await.len(), 2, "only its two keys");
}

#[tokio::test]
async fn streak_top_answers_live_runs_longest_first_and_drops_dead_ones() {
    let env = TestEnv::new().await;
    let day = |uid: u64, d: u64| ext_script(&env, SIGNIN_STREAK, vec![uid.to_string(), d.to_string()]);
    // uid 1: days 10..=13 (4 in a row); uid 2: days 12..=13 (2); uid 3: day 13 (1); uid 4: day 9 (dead by 13).
    for d in 10..=13 {
        day(1, d).await.unwrap();
    }
    for d in 12..=13 {
        day(2, d).await.unwrap();
    }
    day(3, 13).await.unwrap();
    for d in 5..=9 {
        day(4, d).await.unwrap();
    }
    let top = |today: u64, limit: u64, me: u64| {
        ext_script(&env, STREAK_TOP, vec![today.to_string(), limit.to_string(), me.to_string()])
    };
    assert_eq!(top(13, 10, 2).await.unwrap(), vec![2, 2, 1, 4, 2, 2, 3, 1], "uid 4's run of 5 is dead");
    let board: Vec<String> =
        env.redis.pool.zrange(env.keys().ext("signin:board"), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(board.len(), 3, "the dead run was removed: {board:?}");
    assert_eq!(top(13, 1, 3).await.unwrap(), vec![3, 1, 1, 4], "limit 1, the caller third");
    assert_eq!(top(14, 10, 4).await.unwrap(), vec![0, 0, 1, 4, 2, 2, 3, 1], "yesterday's runs are alive");
    assert_eq!(top(15, 10, 1).await.unwrap(), vec![0, 0], "all dead two days later");
    let bad = top(13, 0, 1).await.unwrap_err();
    assert!(bad.refusal().is_some_and(|r| r.contains("bad arguments")), "{bad}");
}
