//! Account scripts: uname_claim, uname_release, account_link, account_delete (a guest takes a
//! name; a player closes their account).

use std::collections::HashMap;

use common::store::{account_delete, account_link, register, uname_claim, uname_release};
use fred::prelude::*;
use test_support::TestEnv;

const DIGEST: &str = "5f0a0b4c2f6e47a9a1d3c8b7e6f5a4d3c2b1a09f8e7d6c5b4a39281706f5e4d3";

/// A guest created as 105 creates one: register.lua indexed by its device digest, 1000 coins.
async fn guest(env: &TestEnv) -> u64 {
    let uid = common::shards::id_in(common::shards::of_name(DIGEST), 1);
    let name = format!("~guest{uid}");
    let args =
        register::Args { uid, username: &name, pw_hash: "", grant: 1000, now_ms: 1, trace: "t0", device: Some(DIGEST) };
    assert!(matches!(register::call(&env.redis, &args).await.unwrap(), register::Outcome::Created { .. }));
    uid
}

/// A session id (hex) that falls in `uid`'s shard, as logic draws them.
fn sid_of(uid: u64, n: u32) -> String {
    let home = common::shards::of_uid(uid);
    (0u32..).map(|i| format!("{n:08x}{i:08x}")).find(|s| common::shards::of_sid(s) == home).unwrap()
}

#[tokio::test]
async fn a_name_is_claimed_by_one_user_and_released_only_by_it_at_once_or_after_a_hold() {
    let env = TestEnv::new().await;
    let key = env.keys().uname("neo");
    let redis = &env.redis;
    let claim = |uid: u64| async move {
        uname_claim::call(redis, &uname_claim::Args { uid, username: "Neo", trace: "t1" }).await.unwrap()
    };
    let release = |uid: u64, hold_s: u64| async move {
        uname_release::call(redis, &uname_release::Args { uid, username: "NEO", hold_s }).await.unwrap()
    };
    assert_eq!(claim(5).await, uname_claim::Outcome::Claimed);
    assert_eq!(claim(5).await, uname_claim::Outcome::Claimed, "again: still the same user's");
    assert_eq!(claim(6).await, uname_claim::Outcome::UsernameTaken);
    let held: HashMap<String, String> = env.redis.pool.hgetall(&key).await.unwrap();
    assert_eq!((held["uid"].as_str(), held["reg"].as_str()), ("5", "t1"));

    assert_eq!(release(6, 0).await, uname_release::Outcome::NotHeld, "not 6's to let go");
    assert_eq!(release(5, 100).await, uname_release::Outcome::Released);
    let ttl: i64 = env.redis.pool.ttl(&key).await.unwrap();
    assert!((90..=100).contains(&ttl), "{ttl}");
    assert_eq!(claim(6).await, uname_claim::Outcome::UsernameTaken, "held meanwhile");
    assert_eq!(release(5, 0).await, uname_release::Outcome::Released);
    assert!(!env.redis.pool.exists::<bool, _>(&key).await.unwrap());
    assert_eq!(claim(6).await, uname_claim::Outcome::Claimed, "free");
}

#[tokio::test]
async fn a_guest_links_a_name_once_and_its_device_index_goes() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let uid = guest(&env).await;
    let outbox = env.lanes_len(&k.outboxes()).await;
    let link = |trace: &'static str| account_link::Args {
        uid,
        device: DIGEST,
        username: "Neo",
        phc: "$argon2id$n",
        now_ms: 5,
        trace,
    };
    assert_eq!(account_link::call(&env.redis, &link("t1")).await.unwrap(), account_link::Outcome::Linked);
    let user: HashMap<String, String> = env.redis.pool.hgetall(k.user(uid)).await.unwrap();
    assert_eq!((user["username"].as_str(), user["pw"].as_str(), user["ver"].as_str()), ("Neo", "$argon2id$n", "2"));
    assert!(!user.contains_key("device"), "{user:?}");
    assert!(!env.redis.pool.exists::<bool, _>(k.device(DIGEST)).await.unwrap());
    assert_eq!(env.lanes_len(&k.outboxes()).await, outbox + 2, "the user's change record and history event");

    assert_eq!(account_link::call(&env.redis, &link("t1")).await.unwrap(), account_link::Outcome::Linked, "replayed");
    assert_eq!(account_link::call(&env.redis, &link("t2")).await.unwrap(), account_link::Outcome::NotGuest);
    assert_eq!(env.lanes_len(&k.outboxes()).await, outbox + 2, "nothing more written");
    let nobody = account_link::Args { uid: uid + 64, ..link("t3") };
    assert_eq!(account_link::call(&env.redis, &nobody).await.unwrap(), account_link::Outcome::NoUser);
}

#[tokio::test]
async fn closing_an_account_forfeits_its_coins_with_a_ledger_record_and_ends_its_sessions_once() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let uid = common::shards::id_in(common::shards::of_name("trinity"), 1);
    let args =
        register::Args { uid, username: "Trinity", pw_hash: "h", grant: 500, now_ms: 1, trace: "t0", device: None };
    register::call(&env.redis, &args).await.unwrap();
    let sids = [sid_of(uid, 1), sid_of(uid, 2)];
    for sid in &sids {
        let _: () = env.redis.pool.set(k.session(sid), format!("{uid}:1"), None, None, false).await.unwrap();
        let _: () = env.redis.pool.zadd(k.sessions(uid), None, None, false, false, (9e12, sid.as_str())).await.unwrap();
    }
    fn close(uid: u64, sids: &[String]) -> account_delete::Args<'_> {
        account_delete::Args { uid, device: None, sids, now_ms: 7 }
    }

    // A session the caller did not read: nothing written.
    assert_eq!(
        account_delete::call(&env.redis, &close(uid, &sids[..1])).await.unwrap(),
        account_delete::Outcome::IndexChanged
    );
    assert_eq!(env.redis.pool.hget::<i64, _, _>(k.wallet(uid), "balance").await.unwrap(), 500);

    let done = account_delete::Outcome::Deleted { forfeited: 500, revoked: 2, replayed: false, held: "trinity".into() };
    assert_eq!(account_delete::call(&env.redis, &close(uid, &sids)).await.unwrap(), done);
    let wallet: HashMap<String, i64> = env.redis.pool.hgetall(k.wallet(uid)).await.unwrap();
    assert_eq!((wallet["balance"], wallet["ver"]), (0, 2));
    let ledger: Vec<bytes::Bytes> = env.redis.pool.lrange(k.ledger(uid), 0, -1).await.unwrap();
    let newest: HashMap<String, serde_json::Value> = rmp_serde::from_slice(&ledger[0]).unwrap();
    assert_eq!(newest["reason"].as_str(), Some("account_deleted"));
    assert_eq!(newest["delta"].as_i64(), Some(-500));
    assert_eq!(ledger.len(), 2, "the grant and its forfeit: the ledger sums to 0");
    let user: HashMap<String, String> = env.redis.pool.hgetall(k.user(uid)).await.unwrap();
    assert_eq!((user["username"].clone(), user["pw"].as_str()), (format!("~deleted{uid}"), ""));
    assert_eq!(user["deleted_at"], "7");
    for sid in &sids {
        assert!(!env.redis.pool.exists::<bool, _>(k.session(sid)).await.unwrap());
    }
    assert!(!env.redis.pool.exists::<bool, _>(k.sessions(uid)).await.unwrap());

    // The same again: as it was then, nothing more written.
    let outbox = env.lanes_len(&k.outboxes()).await;
    let again = account_delete::Outcome::Deleted { forfeited: 500, revoked: 0, replayed: true, held: "trinity".into() };
    assert_eq!(account_delete::call(&env.redis, &close(uid, &[])).await.unwrap(), again);
    assert_eq!(env.lanes_len(&k.outboxes()).await, outbox);
    let nobody = account_delete::Args { uid: uid + 64, ..close(uid, &[]) };
    assert_eq!(account_delete::call(&env.redis, &nobody).await.unwrap(), account_delete::Outcome::NoUser);
}

#[tokio::test]
async fn closing_a_guest_removes_its_device_index_and_names_no_name_to_hold() {
    let env = TestEnv::new().await;
    let uid = guest(&env).await;
    let args = account_delete::Args { uid, device: Some(DIGEST), sids: &[], now_ms: 9 };
    let done = account_delete::Outcome::Deleted { forfeited: 1000, revoked: 0, replayed: false, held: String::new() };
    assert_eq!(account_delete::call(&env.redis, &args).await.unwrap(), done);
    assert!(!env.redis.pool.exists::<bool, _>(env.keys().device(DIGEST)).await.unwrap());
}
