//! Sign-up, login and session scripts: register, login_guard, rate_limit, session_open, user_ban,
//! user_unban.

use std::collections::HashMap;

use bytes::Bytes;
use common::store::login_guard::{self, Limit, Mode};
use common::store::rate_limit::{self, Counter};
use common::store::session_open::{self, Open};
use common::store::{StoreError, register, user_ban, user_unban};
use fred::prelude::*;
use test_support::TestEnv;

/// Calls login_guard.lua for alice from 10.0.0.7. Limits: pair 2, address 3, account 100; a 60 s
/// window; known for 60 s.
async fn guard(env: &TestEnv, mode: Mode) -> login_guard::Outcome {
    let args = login_guard::Args {
        addr_group: "10.0.0.7",
        account: "alice",
        mode,
        window_ms: 60_000,
        pair_limit: 2,
        addr_limit: 3,
        account_limit: 100,
        known_ttl_ms: 60_000,
    };
    login_guard::call(&env.redis, &args).await.unwrap()
}

#[tokio::test]
async fn login_guard_checks_and_counts_in_one_step_and_a_success_takes_its_attempt_back() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let keys = [
        k.login_failures_pair("10.0.0.7", "alice"),
        k.login_failures_addr("10.0.0.7"),
        k.login_failures_user("alice"),
        k.login_known("10.0.0.7", "alice"),
    ];
    assert_eq!(guard(&env, Mode::Attempt).await, login_guard::Outcome::Allowed);
    assert_eq!(guard(&env, Mode::Attempt).await, login_guard::Outcome::Allowed);
    // The pair is at its limit: refused, with the time left, and nothing more is counted.
    let refused = guard(&env, Mode::Attempt).await;
    let login_guard::Outcome::Refused { retry_after_ms, which: Limit::Pair } = refused else {
        panic!("{refused:?}");
    };
    assert!(retry_after_ms > 0 && retry_after_ms <= 60_000, "{retry_after_ms}");
    let counts: Vec<Option<i64>> = env.redis.pool.mget(keys[..3].to_vec()).await.unwrap();
    assert_eq!(counts, vec![Some(2), Some(2), Some(2)]);
    // A success (from an attempt counted before the hash) takes the attempt back, clears the pair
    // and marks the pair known; the window's TTL is kept.
    let _: () = env.redis.pool.set(&keys[0], 1, None, None, false).await.unwrap();
    assert_eq!(guard(&env, Mode::Success).await, login_guard::Outcome::Allowed);
    let counts: Vec<Option<i64>> = env.redis.pool.mget(keys[..3].to_vec()).await.unwrap();
    assert_eq!(counts, vec![None, Some(1), Some(1)]);
    assert!(env.redis.pool.pttl::<i64, _>(&keys[1]).await.unwrap() > 0);
    assert!(env.redis.pool.pttl::<i64, _>(&keys[3]).await.unwrap() > 0, "the known marker expires");
    // The address reaching its limit does not stop a known pair; it does stop an unknown one.
    let _: () = env.redis.pool.set(&keys[1], 3, None, None, false).await.unwrap();
    assert_eq!(guard(&env, Mode::Attempt).await, login_guard::Outcome::Allowed);
    let _: i64 = env.redis.pool.del(&keys[3]).await.unwrap();
    let refused = guard(&env, Mode::Attempt).await;
    assert!(matches!(refused, login_guard::Outcome::Refused { which: Limit::Address, .. }), "{refused:?}");
}

/// Calls rate_limit.lua with counters t:a and t:all, as (limit, window ms) each.
async fn count(env: &TestEnv, limits: [(u64, u64); 2]) -> rate_limit::Outcome {
    let counters = [("a", limits[0]), ("all", limits[1])].map(|(subject, (limit, window_ms))| Counter {
        kind: "t",
        subject,
        limit,
        window_ms,
    });
    rate_limit::call(&env.redis, &rate_limit::Args { counters: &counters }).await.unwrap()
}

#[tokio::test]
async fn rate_limit_counts_every_counter_or_none() {
    let env = TestEnv::new().await;
    let keys = vec![env.keys().rate("t", "a"), env.keys().rate("t", "all")];
    let limits = [(2, 60_000), (10, 60_000)];
    assert_eq!(count(&env, limits).await, rate_limit::Outcome::Counted);
    assert_eq!(count(&env, limits).await, rate_limit::Outcome::Counted);
    let refused = count(&env, limits).await;
    let rate_limit::Outcome::Limited { index: 0, retry_after_ms } = refused else { panic!("{refused:?}") };
    assert!(retry_after_ms > 0 && retry_after_ms <= 60_000, "{refused:?}");
    // Refused: the second counter was not counted either.
    let counts: Vec<Option<i64>> = env.redis.pool.mget(keys.clone()).await.unwrap();
    assert_eq!(counts, vec![Some(2), Some(2)]);
    let refused = count(&env, [(5, 60_000), (2, 60_000)]).await;
    assert!(matches!(refused, rate_limit::Outcome::Limited { index: 1, .. }), "{refused:?}");
}

#[tokio::test]
async fn register_creates_once_and_replays_for_the_same_frame() {
    let env = TestEnv::new().await;
    let k = env.keys();
    // Ids in the name's shard, as logic allocates them (`ids::new_uid`): one slot per register.
    let home = common::shards::of_name("neo");
    let (uid, other) = (common::shards::id_in(home, 1), common::shards::id_in(home, 2));
    let env_ref = &env;
    let now_ms = 1_700_000_000_000;
    let call = move |uid: u64, grant: i64, trace: &'static str| async move {
        let args = register::Args { uid, username: "Neo", pw_hash: "$argon2id$x", grant, now_ms, trace, device: None };
        register::call(&env_ref.redis, &args).await
    };

    // A bad grant is an error and writes nothing.
    let err = call(uid, -5, "t1").await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert!(err.refusal().is_some_and(|e| e.contains("bad grant")), "{err}");
    assert!(env.scan("*").await.is_empty());

    let created = |uid, replayed| register::Outcome::Created { uid, replayed };
    assert_eq!(call(uid, 1000, "t1").await.unwrap(), created(uid, false));
    let replay = call(other, 1000, "t1").await.unwrap();
    assert_eq!(replay, created(uid, true), "the same frame again answers the same user");
    assert_eq!(call(other, 1000, "t2").await.unwrap(), register::Outcome::UsernameTaken, "another frame is refused");
    let uname: Option<u64> = env.redis.pool.hget(k.uname("neo"), "uid").await.unwrap();
    assert_eq!(uname, Some(uid), "the name is indexed lowercased");
    let exists: i64 = env.redis.pool.exists(k.user(other)).await.unwrap();
    assert_eq!(exists, 0, "a refused register writes no user");

    let wallet: HashMap<String, i64> = env.redis.pool.hgetall(k.wallet(uid)).await.unwrap();
    assert_eq!((wallet["balance"], wallet["ver"]), (1000, 1));
    let ledger: Vec<Bytes> = env.redis.pool.lrange(k.ledger(uid), 0, -1).await.unwrap();
    assert_eq!(ledger.len(), 1);
    let entry: serde_json::Value = rmp_serde::from_slice(&ledger[0]).unwrap();
    assert_eq!((entry["delta"].as_i64(), entry["balance"].as_i64()), (Some(1000), Some(1000)));
    assert_eq!(entry["reason"], "signup");
    let outbox: Vec<Bytes> = env.lanes_lrange(&k.outboxes()).await;
    let tables: Vec<String> = outbox
        .iter()
        .rev()
        .map(|r| rmp_serde::from_slice::<serde_json::Value>(r).unwrap()["table"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tables, vec!["user", "wallet", "ledger", "account_event"]);
    let registered: i64 =
        env.redis.pool.get(k.stats_reg(common::shards::of_uid(uid), common::time::day_of(now_ms))).await.unwrap();
    assert_eq!(registered, 1, "counted once, not for the replay or the refusal");
}

#[tokio::test]
async fn register_with_no_grant_writes_no_ledger() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let uid = common::shards::id_in(common::shards::of_name("z"), 1);
    let args = register::Args { uid, username: "z", pw_hash: "h", grant: 0, now_ms: 1, trace: "t", device: None };
    let r = register::call(&env.redis, &args).await.unwrap();
    assert_eq!(r, register::Outcome::Created { uid, replayed: false });
    assert_eq!(env.llen(&k.ledger(uid)).await, 0);
    assert_eq!(env.lanes_len(&k.outboxes()).await, 3, "user, wallet, account event");
}

/// The session id named `name` in these tests: hex, as a real one (a SHA-256 digest) is — the
/// name's bytes, then the first counter that puts the session in user 7's shard, as logic draws
/// tokens until their session does (`shards::of_sid`), so each call's keys share user 7's slot.
fn sid(name: &str) -> String {
    let home = common::shards::of_uid(7);
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    (0u32..)
        .map(|n| format!("{hex}{n:04x}"))
        .find(|sid| common::shards::of_sid(sid) == home)
        .expect("some counter hashes into every shard")
}

/// Calls session_open.lua for user 7 and session `sid`: a login (cap 20, lifetime 1 hour, no index
/// read), or a resume of `sid` (rotated to `sid` + "'", by trace "t").
async fn open_session(env: &TestEnv, name: &str, now: u64, mode: &str) -> Result<session_open::Outcome, StoreError> {
    match mode {
        "resume" => rotate(env, name, &format!("{name}'"), "t", now, 3_600).await,
        _ => login_session(env, name, now, 20, &[]).await,
    }
}

const LIFETIME_S: u64 = 3_600;

/// A login of user 7 as session `name` ([`sid`]) with at most `cap` sessions, passing `read` (names)
/// as the index read.
async fn login_session(
    env: &TestEnv,
    name: &str,
    now: u64,
    cap: u64,
    read: &[&str],
) -> Result<session_open::Outcome, StoreError> {
    let read: Vec<String> = read.iter().map(|s| sid(s)).collect();
    let args = session_open::Args {
        uid: 7,
        sid: &sid(name),
        ttl_s: 60,
        now_ms: now,
        max_lifetime_s: LIFETIME_S,
        max_sessions: cap,
        open: Open::Login { read: &read },
    };
    session_open::call(&env.redis, &args).await
}

/// A resume of user 7's session `old`, rotated to `new` (names: [`sid`]) by the frame traced `trace`.
async fn rotate(
    env: &TestEnv,
    old: &str,
    new: &str,
    trace: &str,
    now: u64,
    lifetime_s: u64,
) -> Result<session_open::Outcome, StoreError> {
    let args = session_open::Args {
        uid: 7,
        sid: &sid(new),
        ttl_s: 60,
        now_ms: now,
        max_lifetime_s: lifetime_s,
        max_sessions: 20,
        open: Open::Resume { old_sid: &sid(old), trace, grace_ms: 5_000 },
    };
    session_open::call(&env.redis, &args).await
}

fn opened(pruned: u64, ended: u64) -> session_open::Outcome {
    session_open::Outcome::Opened { pruned, ended }
}

async fn session_value(env: &TestEnv, name: &str) -> Option<String> {
    env.redis.pool.get(env.keys().session(&sid(name))).await.unwrap()
}

async fn index_of_7(env: &TestEnv) -> Vec<String> {
    env.redis.pool.zrange(env.keys().sessions(7), 0, -1, None, false, None, false).await.unwrap()
}

#[tokio::test]
async fn session_open_indexes_prunes_renews_and_refuses_a_banned_user() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let now = common::time::now_ms();
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    // An expired session the index still names, and one of another user.
    let _: () =
        env.redis.pool.zadd(k.sessions(7), None, None, false, false, (now as f64 - 1.0, sid("old"))).await.unwrap();
    let _: () = env.redis.pool.set(k.session(&sid("other")), 8, None, None, false).await.unwrap();

    assert_eq!(open_session(&env, "s1", now, "login").await.unwrap(), opened(1, 0), "the expired one is pruned");
    assert_eq!(session_value(&env, "s1").await, Some(format!("7:{now}")), "the owner and the login time");
    let ttl: i64 = env.redis.pool.ttl(k.session(&sid("s1"))).await.unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
    assert_eq!(open_session(&env, "s2", now + 1_000, "login").await.unwrap(), opened(0, 0));
    let index: Vec<(String, f64)> = env.redis.pool.zrange(k.sessions(7), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(index, vec![(sid("s1"), (now + 60_000) as f64), (sid("s2"), (now + 61_000) as f64)]);
    // The index expires with its latest session.
    let expire_at: i64 = env.redis.pool.pexpire_time(k.sessions(7)).await.unwrap();
    assert_eq!(expire_at, (now + 61_000) as i64);

    // Resume: only an existing session of this user; it moves to its new sid.
    assert_eq!(open_session(&env, "gone", now, "resume").await.unwrap(), session_open::Outcome::NoSession);
    assert_eq!(open_session(&env, "other", now, "resume").await.unwrap(), session_open::Outcome::NoSession);
    assert_eq!(open_session(&env, "s1", now + 5_000, "resume").await.unwrap(), opened(0, 0));
    let score: Option<f64> = env.redis.pool.zscore(k.sessions(7), sid("s1'")).await.unwrap();
    assert_eq!(score, Some((now + 65_000) as f64), "a resume renews the session's expiry in the index");
    assert_eq!(index_of_7(&env).await, vec![sid("s2"), sid("s1'")]);

    // Banned: nothing opens, and a resumed session is dropped.
    let _: () = env.redis.pool.hset(k.user(7), ("banned", 1)).await.unwrap();
    assert_eq!(open_session(&env, "s3", now, "login").await.unwrap(), session_open::Outcome::Banned);
    let s3: i64 = env.redis.pool.exists(k.session(&sid("s3"))).await.unwrap();
    assert_eq!(s3, 0);
    assert_eq!(open_session(&env, "s2", now, "resume").await.unwrap(), session_open::Outcome::Banned);
    let s2: i64 = env.redis.pool.exists(k.session(&sid("s2"))).await.unwrap();
    assert_eq!((s2, index_of_7(&env).await), (0, vec![sid("s1'")]));
    // A bad TTL, lifetime or cap writes nothing.
    let s4 = sid("s4");
    for (ttl_s, max_lifetime_s, max_sessions) in [(0, 60, 20), (60, 0, 20), (60, 60, 0)] {
        let args = session_open::Args {
            uid: 7,
            sid: &s4,
            ttl_s,
            now_ms: 1,
            max_lifetime_s,
            max_sessions,
            open: Open::Login { read: &[] },
        };
        let err = session_open::call(&env.redis, &args).await.unwrap_err();
        assert!(err.refusal().is_some_and(|e| e.contains("bad ttl")), "{err}");
        let s4: i64 = env.redis.pool.exists(k.session(&sid("s4"))).await.unwrap();
        assert_eq!(s4, 0);
    }
}

#[tokio::test]
async fn session_open_caps_a_users_sessions_ending_the_soonest_to_expire() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let now = common::time::now_ms();
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    assert_eq!(login_session(&env, "s1", now, 2, &[]).await.unwrap(), opened(0, 0));
    assert_eq!(login_session(&env, "s2", now + 1_000, 2, &["s1"]).await.unwrap(), opened(0, 0));
    // A third session ends the first (the soonest to expire), key and index entry.
    assert_eq!(login_session(&env, "s3", now + 2_000, 2, &["s1", "s2"]).await.unwrap(), opened(0, 1));
    assert_eq!(session_value(&env, "s1").await, None);
    assert_eq!(index_of_7(&env).await, vec![sid("s2"), sid("s3")]);
    assert!(session_value(&env, "s2").await.is_some());
    // The caller's read missed the session to end (s2): nothing written, read again.
    assert_eq!(login_session(&env, "s4", now + 3_000, 2, &["s3"]).await.unwrap(), session_open::Outcome::IndexChanged);
    assert_eq!(session_value(&env, "s4").await, None);
    assert_eq!(index_of_7(&env).await, vec![sid("s2"), sid("s3")]);
    // A lowered cap ends as many as it takes.
    assert_eq!(login_session(&env, "s5", now + 4_000, 1, &["s2", "s3"]).await.unwrap(), opened(0, 2));
    assert_eq!(index_of_7(&env).await, vec![sid("s5")]);
    let left: i64 = env.redis.pool.exists(vec![k.session(&sid("s2")), k.session(&sid("s3"))]).await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn session_open_rotates_on_resume_once_per_frame_within_an_absolute_lifetime() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let now = common::time::now_ms();
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    assert_eq!(login_session(&env, "a", now, 20, &[]).await.unwrap(), opened(0, 0));

    // A resume moves the session to its new sid, born when it was.
    assert_eq!(rotate(&env, "a", "b", "t1", now + 1_000, LIFETIME_S).await.unwrap(), opened(0, 0));
    assert_eq!(session_value(&env, "b").await, Some(format!("7:{now}")));
    assert_eq!(index_of_7(&env).await, vec![sid("b")], "the old sid leaves the index");
    // The same frame again (redelivered) gets the same answer; any other resume of `a` is 1008.
    assert_eq!(rotate(&env, "a", "b", "t1", now + 2_000, LIFETIME_S).await.unwrap(), opened(0, 0));
    assert_eq!(rotate(&env, "a", "c", "t2", now + 2_000, LIFETIME_S).await.unwrap(), session_open::Outcome::NoSession);
    assert_eq!(session_value(&env, "c").await, None);
    let grace: i64 = env.redis.pool.pttl(k.session(&sid("a"))).await.unwrap();
    assert!((1..=5_000).contains(&grace), "the old key is kept for the grace only: {grace}");
    // Once the new session is gone (logged out), the redelivery is 1008 too.
    let _: i64 = env.redis.pool.del(k.session(&sid("b"))).await.unwrap();
    assert_eq!(rotate(&env, "a", "b", "t1", now + 3_000, LIFETIME_S).await.unwrap(), session_open::Outcome::NoSession);

    // The absolute lifetime: resumes never extend it.
    assert_eq!(login_session(&env, "d", now, 20, &[]).await.unwrap(), opened(0, 0));
    let near_end = now + LIFETIME_S * 1_000 - 10_000;
    assert_eq!(rotate(&env, "d", "e", "t3", near_end, LIFETIME_S).await.unwrap(), opened(1, 0), "b expired");
    let ttl: i64 = env.redis.pool.pttl(k.session(&sid("e"))).await.unwrap();
    assert!((1..=10_000).contains(&ttl), "the idle TTL (60 s) is cut to the 10 s of lifetime left: {ttl}");
    let score: Option<f64> = env.redis.pool.zscore(k.sessions(7), sid("e")).await.unwrap();
    assert_eq!(score, Some((now + LIFETIME_S * 1_000) as f64));
    // Past it, a resume is 1008 and the session is deleted (its key may still be there if the
    // resume came early enough; here it is called with a later clock).
    let end = now + LIFETIME_S * 1_000;
    assert_eq!(rotate(&env, "e", "f", "t4", end, LIFETIME_S).await.unwrap(), session_open::Outcome::NoSession);
    assert_eq!((session_value(&env, "e").await, session_value(&env, "f").await), (None, None));
    assert!(!index_of_7(&env).await.contains(&sid("e")));
    // A session stored before lifetimes ("uid" alone) resumes, its lifetime counted from now.
    let _: () = env.redis.pool.set(k.session(&sid("legacy")), "7", None, None, false).await.unwrap();
    assert_eq!(rotate(&env, "legacy", "g", "t5", now, LIFETIME_S).await.unwrap(), opened(0, 0));
    assert_eq!(session_value(&env, "g").await, Some(format!("7:{now}")));
}

/// Calls user_ban.lua for user 7 with the sessions and connections (conn, node) "read", each
/// node's liveness read from its heartbeat as gm reads it.
async fn ban(env: &TestEnv, sids: &[&str], conns: &[(&str, &str)]) -> user_ban::Outcome {
    let sessions: Vec<String> = sids.iter().map(|s| sid(s)).collect();
    let connections = common::push_lists::connections(&env.redis, conns.iter().copied()).await.unwrap();
    let args = user_ban::Args {
        uid: 7,
        reason: "bots",
        by: "otto",
        now_ms: 1000,
        audit: b"audit-record",
        sessions: &sessions,
        connections: &connections,
    };
    user_ban::call(&env.redis, &args).await.unwrap()
}

#[tokio::test]
async fn user_ban_marks_revokes_and_closes_at_once_and_asks_to_read_again_when_an_index_moved() {
    let env = TestEnv::new().await;
    let k = env.keys();
    assert_eq!(ban(&env, &[], &[]).await, user_ban::Outcome::NoUser, "no such user");
    assert_eq!(env.lanes_len(&k.outboxes()).await, 0);
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    for name in ["s1", "s2"] {
        let _: () = env.redis.pool.set(k.session(&sid(name)), 7, None, None, false).await.unwrap();
        let _: () = env.redis.pool.zadd(k.sessions(7), None, None, false, false, (1.0, sid(name))).await.unwrap();
    }
    let _: () = env.redis.pool.set(k.session(&sid("bobs")), 8, None, None, false).await.unwrap();
    let _: () = env.redis.pool.hset(k.online(7), [("5", "live"), ("6", "dead")]).await.unwrap();
    let _: () = env.redis.pool.set(k.node("connect", "live"), 1, None, None, false).await.unwrap();

    // Read before s2 was opened: the user is marked, nothing else is done.
    let conns = [("5", "live"), ("6", "dead")];
    assert_eq!(ban(&env, &["s1"], &conns).await, user_ban::Outcome::IndexChanged { marked: true });
    let banned: Vec<Option<String>> = env
        .redis
        .pool
        .hmget(k.user(7), vec!["banned", "ban_reason", "banned_by", "banned_at", "ban_ver"])
        .await
        .unwrap();
    let expected = ["1", "bots", "otto", "1000", "1"].map(|v| Some(v.to_owned()));
    assert_eq!(banned, expected.to_vec());
    let s1: i64 = env.redis.pool.exists(k.session(&sid("s1"))).await.unwrap();
    assert_eq!((s1, env.llen(&k.push("live")).await), (1, 0));
    // A connection the caller did not read: read again.
    assert_eq!(ban(&env, &["s1", "s2"], &conns[..1]).await, user_ban::Outcome::IndexChanged { marked: false });

    // Read right: both sessions revoked, the index gone, the live node's connection named to close
    // (gm tells its node: tests/it/ban.rs), the dead node's connection dropped from the online index
    // (connect clears the live one when it closes it).
    assert_eq!(
        ban(&env, &["s1", "s2"], &conns).await,
        user_ban::Outcome::Banned { marked: false, revoked: 2, close: vec![0], removed: 1 }
    );
    let left: i64 =
        env.redis.pool.exists(vec![k.session(&sid("s1")), k.session(&sid("s2")), k.sessions(7)]).await.unwrap();
    assert_eq!(left, 0);
    let bobs: i64 = env.redis.pool.exists(k.session(&sid("bobs"))).await.unwrap();
    assert_eq!(bobs, 1, "another user's session is untouched");
    assert_eq!(env.llen(&k.push("live")).await, 0, "the script writes no node's list (another slot)");
    let online: HashMap<String, String> = env.redis.pool.hgetall(k.online(7)).await.unwrap();
    assert_eq!(online, HashMap::from([("5".to_owned(), "live".to_owned())]));

    // Marked once: one change record and one audit record, whatever the number of calls.
    let outbox: Vec<Bytes> = env.lanes_lrange(&k.outboxes()).await;
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    assert_eq!(&outbox[0][..], b"audit-record");
    let record: serde_json::Value = rmp_serde::from_slice(&outbox[1]).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"ts": 1000, "table": "user_ban", "key": "7", "ver": 1,
            "fields": {"banned": 1, "reason": "bots", "by": "otto", "at": 1000}})
    );
}

/// Calls user_unban.lua for user 7, by "ada" at 2000, with no audit record.
async fn unban(env: &TestEnv) -> user_unban::Outcome {
    let args = user_unban::Args { uid: 7, by: "ada", now_ms: 2000, audit: b"" };
    user_unban::call(&env.redis, &args).await.unwrap()
}

#[tokio::test]
async fn user_unban_lifts_a_ban_once() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let unbanned = |changed| user_unban::Outcome::Unbanned { changed };
    assert_eq!(unban(&env).await, user_unban::Outcome::NoUser);
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    assert_eq!(unban(&env).await, unbanned(false), "not banned: nothing to lift");
    assert_eq!(env.lanes_len(&k.outboxes()).await, 0);
    let ban = [("banned", "1"), ("ban_reason", "bots"), ("banned_by", "otto"), ("banned_at", "1000"), ("ban_ver", "1")];
    let _: () = env.redis.pool.hset(k.user(7), ban).await.unwrap();
    assert_eq!(unban(&env).await, unbanned(true));
    let user: HashMap<String, String> = env.redis.pool.hgetall(k.user(7)).await.unwrap();
    let expected = [("id", "7"), ("banned", "0"), ("ban_ver", "2")].map(|(f, v)| (f.to_owned(), v.to_owned()));
    assert_eq!(user, HashMap::from(expected));
    assert_eq!(unban(&env).await, unbanned(false));
    let outbox: Vec<Bytes> = env.lanes_lrange(&k.outboxes()).await;
    assert_eq!(outbox.len(), 1, "one change record, no audit record when none is given");
    let record: serde_json::Value = rmp_serde::from_slice(&outbox[0]).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"ts": 2000, "table": "user_ban", "key": "7", "ver": 2,
            "fields": {"banned": 0, "reason": "", "by": "ada", "at": 2000}})
    );
}
