//! The match's copies in the shards (docs/scaling.md): match_copy.lua only moves a copy forward,
//! the transitions copy the match to every shard before they answer (so a close refuses bets in
//! every shard), and resultcenter brings a lagging shard up before it settles there.

use std::collections::HashMap;

use common::shards::SHARDS;
use common::store::match_copy::{self, Outcome};
use common::store::{match_transition, place_bet};
use fred::prelude::*;
use protocol::matches::Action;
use test_support::TestEnv;

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(f, v)| ((*f).to_owned(), (*v).to_owned())).collect()
}

/// match_copy.lua for shard 7's copy of match 3.
async fn copy(env: &TestEnv, ver: u64, fields: &[(String, String)]) -> Outcome {
    match_copy::call(&env.redis, &match_copy::Args { shard: 7, mid: 3, ver, fields }).await.unwrap()
}

#[tokio::test]
async fn a_copy_only_moves_forward_and_keeps_the_shards_counters() {
    let env = TestEnv::new().await;
    let key = env.keys().match_copy(7, 3);
    let open = fields(&[("state", "2"), ("odds:a", "1850")]);
    assert_eq!(copy(&env, 2, &open).await, Outcome::Copied { ver: 2 });
    let _: () = env.redis.pool.hset(&key, [("settled", 4), ("paid", 90)]).await.unwrap();
    let stopped = fields(&[("state", "1"), ("odds:a", "1700")]);
    assert_eq!(copy(&env, 2, &stopped).await, Outcome::Newer { held: 2 }, "the same version again: nothing");
    assert_eq!(copy(&env, 1, &stopped).await, Outcome::Newer { held: 2 }, "an older one: nothing");
    let h: HashMap<String, String> = env.redis.pool.hgetall(&key).await.unwrap();
    assert_eq!((h["state"].as_str(), h["odds:a"].as_str()), ("2", "1850"));
    assert_eq!(copy(&env, 3, &stopped).await, Outcome::Copied { ver: 3 });
    let h: HashMap<String, String> = env.redis.pool.hgetall(&key).await.unwrap();
    let got: Vec<&str> = ["state", "odds:a", "ver", "settled", "paid"].iter().map(|f| h[*f].as_str()).collect();
    assert_eq!(got, vec!["1", "1700", "3", "4", "90"], "the newer version, and the counters untouched");
}

/// Creating a match and every transition copy it to all shards before the caller hears the
/// answer: once "suspend" is answered, a bet in any shard is refused as not open; a copy a failure
/// left behind is brought up by repeating the action (an illegal repeat copies too).
#[tokio::test]
async fn a_transition_is_in_every_shard_when_it_answers() {
    let env = TestEnv::new().await;
    let mid = seed::open_match(&env.redis, "lol").await.unwrap();
    let states = || async {
        let mut out = Vec::new();
        for shard in 0..SHARDS {
            let s: Option<i64> = env.redis.pool.hget(env.keys().match_copy(shard, mid), "state").await.unwrap();
            out.push(s);
        }
        out
    };
    assert_eq!(states().await, vec![Some(2); SHARDS as usize], "open in every shard");
    let done = match_transition::transition(&env.redis, mid, Action::Suspend, None, &[]).await.unwrap();
    assert!(matches!(done, match_transition::Outcome::Done { .. }), "{done:?}");
    assert_eq!(states().await, vec![Some(1); SHARDS as usize], "stopped in every shard");
    for uid in [64, 65, 127, 1000] {
        seed::fund(&env.redis, uid, 100).await.unwrap();
        let args = place_bet::Args {
            uid,
            match_id: mid,
            mid,
            option: "a",
            stake: 10,
            odds_ver: 1,
            req_id: "late",
            bid: uid,
            now_ms: 1,
        };
        assert_eq!(place_bet::call(&env.redis, &args).await.unwrap(), place_bet::Outcome::NotOpen { state: 1 });
    }
    // A shard's copy left behind (as a failed fan-out leaves it): repeating the action heals it.
    let _: () = env.redis.pool.hset(env.keys().match_copy(9, mid), [("state", "2"), ("ver", "0")]).await.unwrap();
    let again = match_transition::transition(&env.redis, mid, Action::Suspend, None, &[]).await.unwrap();
    assert!(matches!(again, match_transition::Outcome::Illegal { .. }), "{again:?}");
    assert_eq!(states().await, vec![Some(1); SHARDS as usize], "the lagging shard is stopped too");
}
