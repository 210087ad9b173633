//! Every Lua script against the real Redis: replies, errors, and what each leaves behind.

use std::collections::HashMap;

use bytes::Bytes;
use common::scripts::ScriptName;
use fred::prelude::*;
use test_support::TestEnv;

async fn lrange(env: &TestEnv, key: &str) -> Vec<String> {
    env.redis.pool.lrange(key, 0, -1).await.unwrap()
}

async fn push(env: &TestEnv, key: &str, items: &[&str]) {
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
async fn claim_moves_up_to_n_oldest_first() {
    let env = TestEnv::new().await;
    let (q, inflight) = (env.keys().c2l(1), env.keys().inflight(&env.keys().c2l(1), "w"));
    push(&env, &q, &["a", "b", "c"]).await; // LPUSH: "a" is the oldest, at the right end
    let got: Vec<String> =
        env.redis.scripts.call(&env.redis.pool, ScriptName::Claim, vec![&q, &inflight], 2).await.unwrap();
    assert_eq!(got, vec!["a", "b"]);
    assert_eq!(lrange(&env, &q).await, vec!["c"]);
    assert_eq!(lrange(&env, &inflight).await, vec!["b", "a"]);
    let got: Vec<String> =
        env.redis.scripts.call(&env.redis.pool, ScriptName::Claim, vec![&q, &inflight], 5).await.unwrap();
    assert_eq!(got, vec!["c"]);
    let got: Vec<String> =
        env.redis.scripts.call(&env.redis.pool, ScriptName::Claim, vec![&q, &inflight], 5).await.unwrap();
    assert!(got.is_empty());
}

#[tokio::test]
async fn ack_replies_only_for_a_frame_still_inflight() {
    let env = TestEnv::new().await;
    let inflight = env.keys().inflight(&env.keys().c2l(1), "w");
    let replies = env.keys().l2c("n");
    push(&env, &inflight, &["f1"]).await;
    let acked: i64 = env
        .redis
        .scripts
        .call(&env.redis.pool, ScriptName::Ack, vec![&inflight, &replies], vec!["f1", "r1"])
        .await
        .unwrap();
    assert_eq!(acked, 1);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    assert_eq!(env.llen(&inflight).await, 0);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert_eq!(ttl, -1, "no ARGV[3]: the reply list does not expire");
    // The same frame again (the reaper took it back meanwhile): no second reply.
    let acked: i64 = env
        .redis
        .scripts
        .call(&env.redis.pool, ScriptName::Ack, vec![&inflight, &replies], vec!["f1", "r2"])
        .await
        .unwrap();
    assert_eq!(acked, 0);
    assert_eq!(lrange(&env, &replies).await, vec!["r1"]);
    // An ack without a reply.
    push(&env, &inflight, &["f2"]).await;
    let acked: i64 = env
        .redis
        .scripts
        .call(&env.redis.pool, ScriptName::Ack, vec![&inflight, &replies], vec!["f2", ""])
        .await
        .unwrap();
    assert_eq!(acked, 1);
    assert_eq!(env.llen(&replies).await, 1);
    // With a lifetime, the reply list expires that long after the reply (its reader may be dead).
    push(&env, &inflight, &["f3"]).await;
    let acked: i64 = env
        .redis
        .scripts
        .call(&env.redis.pool, ScriptName::Ack, vec![&inflight, &replies], vec!["f3", "r3", "60000"])
        .await
        .unwrap();
    assert_eq!(acked, 1);
    let ttl: i64 = env.redis.pool.pttl(&replies).await.unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
}

#[tokio::test]
async fn dead_letter_moves_one_frame() {
    let env = TestEnv::new().await;
    let q = env.keys().c2l(1);
    let (inflight, dead) = (env.keys().inflight(&q, "w"), env.keys().dead(&q));
    push(&env, &inflight, &["bad", "good"]).await;
    let moved: i64 =
        env.redis.scripts.call(&env.redis.pool, ScriptName::DeadLetter, vec![&inflight, &dead], "bad").await.unwrap();
    assert_eq!(moved, 1);
    assert_eq!(lrange(&env, &dead).await, vec!["bad"]);
    assert_eq!(lrange(&env, &inflight).await, vec!["good"]);
    let moved: i64 =
        env.redis.scripts.call(&env.redis.pool, ScriptName::DeadLetter, vec![&inflight, &dead], "gone").await.unwrap();
    assert_eq!(moved, 0);
}

#[tokio::test]
async fn login_failed_counts_account_and_address_and_expires_from_the_first_failure() {
    let env = TestEnv::new().await;
    let keys = vec![env.keys().login_failures_user("alice"), env.keys().login_failures_addr("10.0.0.7")];
    let fail = |window_ms: u64| {
        let keys = keys.clone();
        let env = &env;
        async move {
            let counts: Vec<u64> =
                env.redis.scripts.call(&env.redis.pool, ScriptName::LoginFailed, keys, window_ms).await.unwrap();
            counts
        }
    };
    assert_eq!(fail(60_000).await, vec![1, 1]);
    // Another account from the same address: only the address's count is shared.
    let _: () = env.redis.pool.set(&keys[0], 4, None, None, false).await.unwrap();
    assert_eq!(fail(60_000).await, vec![5, 2]);
    // The window runs from the first failure: later ones do not extend it.
    let ttl: i64 = env.redis.pool.pttl(&keys[1]).await.unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
    let first_ttl: i64 = env.redis.pool.pttl(&keys[0]).await.unwrap();
    assert_eq!(first_ttl, -1, "a count set by hand has no window; the script only sets one on the first failure");
}

#[tokio::test]
async fn requeue_returns_frames_counts_deliveries_and_dead_letters_poison() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let q = k.c2l(1);
    let (inflight, dead, deliveries, consumers) = (k.inflight(&q, "w"), k.dead(&q), k.deliveries(&q), k.consumers(&q));
    let keys = vec![inflight.clone(), q.clone(), dead.clone(), deliveries.clone(), consumers.clone()];
    let _: () = env.redis.pool.hset(&consumers, (inflight.as_str(), "hb")).await.unwrap();
    let requeue = |limit: u64| {
        let keys = keys.clone();
        let env = &env;
        async move {
            let r: (u64, u64, u64) =
                env.redis.scripts.call(&env.redis.pool, ScriptName::Requeue, keys, vec![3, limit, 60]).await.unwrap();
            r
        }
    };
    // inflight holds "old" (right end, taken first) and "new".
    push(&env, &inflight, &["old", "new"]).await;
    assert_eq!(requeue(1).await, (1, 0, 1), "bounded per call");
    assert_eq!(requeue(10).await, (1, 0, 0));
    // Back at the consuming (right) end, oldest first: the next consumer takes "old" first.
    assert_eq!(lrange(&env, &q).await, vec!["new", "old"]);
    let consumers_left: HashMap<String, String> = env.redis.pool.hgetall(&consumers).await.unwrap();
    assert!(consumers_left.is_empty(), "an emptied dead consumer is forgotten");

    // A frame returned for the third time goes to the dead list instead.
    for attempt in 2..=3 {
        let _: Option<String> = env.redis.pool.rpop(&q, None).await.unwrap(); // "old" taken again…
        push(&env, &inflight, &["old"]).await; // …and its worker dies
        let (moved, dead_n, _) = requeue(10).await;
        assert_eq!((moved, dead_n), if attempt < 3 { (1, 0) } else { (0, 1) }, "attempt {attempt}");
    }
    assert_eq!(lrange(&env, &dead).await, vec!["old"]);
    let ttl: i64 = env.redis.pool.ttl(&deliveries).await.unwrap();
    assert!(ttl > 0 && ttl <= 60, "the deliveries hash expires: {ttl}");
}

#[tokio::test]
async fn register_creates_once_and_replays_for_the_same_frame() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let uid = 41u64;
    let env_ref = &env;
    let call = move |uid: u64, grant: &'static str, trace: &'static str| async move {
        let k = env_ref.keys();
        let keys = vec![k.uname("neo"), k.user(uid), k.wallet(uid), k.ledger(uid), k.outbox(), k.stats_day("reg", 1)];
        let args = vec![
            uid.to_string(),
            "Neo".into(),
            "$argon2id$x".into(),
            grant.to_owned(),
            "1700000000000".into(),
            trace.to_owned(),
        ];
        env_ref.redis.scripts.call::<Vec<i64>, _, _, _>(&env_ref.redis.pool, ScriptName::Register, keys, args).await
    };

    // A bad grant is an error and writes nothing.
    let err = call(uid, "-5", "t1").await.unwrap_err();
    assert!(err.details().contains("bad grant"), "{err}");
    assert!(env.scan("*").await.is_empty());

    assert_eq!(call(uid, "1000", "t1").await.unwrap(), vec![0, 41, 0]);
    assert_eq!(call(99, "1000", "t1").await.unwrap(), vec![0, 41, 1], "the same frame again answers the same user");
    assert_eq!(call(99, "1000", "t2").await.unwrap(), vec![1002], "another frame is refused");
    let exists: i64 = env.redis.pool.exists(k.user(99)).await.unwrap();
    assert_eq!(exists, 0, "a refused register writes no user");

    let wallet: HashMap<String, i64> = env.redis.pool.hgetall(k.wallet(uid)).await.unwrap();
    assert_eq!((wallet["balance"], wallet["ver"]), (1000, 1));
    let ledger: Vec<Bytes> = env.redis.pool.lrange(k.ledger(uid), 0, -1).await.unwrap();
    assert_eq!(ledger.len(), 1);
    let entry: serde_json::Value = rmp_serde::from_slice(&ledger[0]).unwrap();
    assert_eq!((entry["delta"].as_i64(), entry["balance"].as_i64()), (Some(1000), Some(1000)));
    assert_eq!(entry["reason"], "signup");
    let outbox: Vec<Bytes> = env.redis.pool.lrange(k.outbox(), 0, -1).await.unwrap();
    let tables: Vec<String> = outbox
        .iter()
        .rev()
        .map(|r| rmp_serde::from_slice::<serde_json::Value>(r).unwrap()["table"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tables, vec!["user", "wallet", "ledger"]);
    let registered: i64 = env.redis.pool.get(k.stats_day("reg", 1)).await.unwrap();
    assert_eq!(registered, 1, "counted once, not for the replay or the refusal");
}

#[tokio::test]
async fn register_with_no_grant_writes_no_ledger() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let r: Vec<i64> = env
        .redis
        .scripts
        .call(
            &env.redis.pool,
            ScriptName::Register,
            vec![k.uname("z"), k.user(1), k.wallet(1), k.ledger(1), k.outbox(), k.stats_day("reg", 1)],
            vec!["1", "z", "h", "0", "1", "t"],
        )
        .await
        .unwrap();
    assert_eq!(r, vec![0, 1, 0]);
    assert_eq!(env.llen(&k.ledger(1)).await, 0);
    assert_eq!(env.llen(&k.outbox()).await, 2);
}

#[tokio::test]
async fn a_flushed_script_cache_is_reloaded() {
    let env = TestEnv::new().await;
    // Another client flushing the cache is what a Redis restart or failover looks like to us.
    let _: () = env.redis.pool.next().script_flush(false).await.unwrap();
    let q = env.keys().c2l(1);
    let got: Vec<String> = env
        .redis
        .scripts
        .call(&env.redis.pool, ScriptName::Claim, vec![q.clone(), env.keys().inflight(&q, "w")], 1)
        .await
        .unwrap();
    assert!(got.is_empty());
}

/// A match hash as match_create.lua leaves it, in state `state`.
async fn stored_match(env: &TestEnv, mid: u64, state: i64) {
    let options = r#"[{"key":"a","label":"A","odds":1850},{"key":"b","label":"B","odds":2100}]"#;
    let fields: Vec<(&str, String)> = vec![
        ("id", mid.to_string()),
        ("state", state.to_string()),
        ("options", options.into()),
        ("odds_ver", "1".into()),
        ("min_stake", "10".into()),
        ("max_stake", "100".into()),
    ];
    let _: () = env.redis.pool.hset(env.keys().match_(mid), fields).await.unwrap();
}

async fn place(
    env: &TestEnv,
    mid: u64,
    stake: &str,
    req: &str,
    bid: u64,
) -> Result<Vec<fred::types::Value>, fred::error::Error> {
    let k = env.keys();
    let keys = k.place_bet(5, mid, bid, 1);
    let argv = vec![
        "5".to_owned(),
        mid.to_string(),
        "a".into(),
        stake.into(),
        "1".into(),
        req.into(),
        bid.to_string(),
        "1000".into(),
    ];
    env.redis.scripts.call(&env.redis.pool, ScriptName::PlaceBet, keys, argv).await
}

#[tokio::test]
async fn place_bet_repeats_answer_the_first_reply_even_after_the_match_closed() {
    let env = TestEnv::new().await;
    stored_match(&env, 9, 2).await;
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", 100), ("ver", 1)]).await.unwrap();
    let first = place(&env, 9, "40", "req-1", 1).await.unwrap();
    let ints = |v: &[fred::types::Value]| v.iter().map(|x| x.as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ints(&first), vec![0, 1, 60, 1850, 0]);
    let _: () = env.redis.pool.hset(env.keys().match_(9), ("state", 1)).await.unwrap();
    let again = place(&env, 9, "40", "req-1", 2).await.unwrap();
    assert_eq!(ints(&again), vec![0, 1, 60, 1850, 1], "the first reply, marked repeated");
    assert_eq!(ints(&place(&env, 9, "40", "req-2", 3).await.unwrap()), vec![1004, 1]);
    let exists: i64 = env.redis.pool.exists(vec![env.keys().bet(2), env.keys().bet(3)]).await.unwrap();
    assert_eq!(exists, 0, "no bet written for the repeat or the refusal");
    let balance: i64 = env.redis.pool.hget(env.keys().wallet(5), "balance").await.unwrap();
    assert_eq!(balance, 60);
    let open: Vec<String> =
        env.redis.pool.zrange(env.keys().match_open(9), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(open, vec!["1:5"], "resultcenter's work list holds the bet once");
    // A malformed stake is a script error that writes nothing.
    let _: () = env.redis.pool.hset(env.keys().match_(9), ("state", 2)).await.unwrap();
    let before = env.llen(&env.keys().outbox()).await;
    let err = place(&env, 9, "1.5", "req-3", 4).await.unwrap_err();
    assert!(err.details().contains("bad stake"), "{err}");
    assert_eq!(env.llen(&env.keys().outbox()).await, before);
}

#[tokio::test]
async fn wallet_change_refuses_a_bad_delta_and_an_overdraft_without_writing() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.user(5), ("id", 5)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 10), ("ver", 1)]).await.unwrap();
    let env = &env;
    let call = move |delta: &'static str| {
        let k = env.keys();
        let keys = vec![k.user(5), k.wallet(5), k.ledger(5), k.outbox(), k.wallet(5), k.notify()];
        let argv = vec!["5", delta, "grant", "test", "1000", "", "", ""];
        async move {
            env.redis.scripts.call::<Vec<i64>, _, _, _>(&env.redis.pool, ScriptName::WalletChange, keys, argv).await
        }
    };
    assert!(call("0").await.unwrap_err().details().contains("bad delta"));
    assert!(call("x").await.unwrap_err().details().contains("bad delta"));
    assert_eq!(call("-11").await.unwrap(), vec![1003, 10]);
    assert_eq!(call("-10").await.unwrap(), vec![0, 0, 0]);
    assert_eq!(env.llen(&k.ledger(5)).await, 1, "only the accepted change is in the ledger");
    assert_eq!(env.llen(&k.notify()).await, 1, "and only it tells the user");
}

/// Calls session_open.lua for user 7 and session `sid`.
async fn open_session(
    env: &TestEnv,
    sid: &str,
    uid: &str,
    now: u64,
    mode: &str,
) -> Result<Vec<i64>, fred::error::Error> {
    let k = env.keys();
    let keys = vec![k.session(sid), k.sessions(7), k.user(7)];
    let argv = vec![uid.to_owned(), sid.to_owned(), "60".to_owned(), now.to_string(), mode.to_owned()];
    env.redis.scripts.call(&env.redis.pool, ScriptName::SessionOpen, keys, argv).await
}

#[tokio::test]
async fn session_open_indexes_prunes_renews_and_refuses_a_banned_user() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let now = common::time::now_ms();
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    // An expired session the index still names, and one of another user.
    let _: () = env.redis.pool.zadd(k.sessions(7), None, None, false, false, (now as f64 - 1.0, "old")).await.unwrap();
    let _: () = env.redis.pool.set(k.session("other"), 8, None, None, false).await.unwrap();

    assert_eq!(open_session(&env, "s1", "7", now, "login").await.unwrap(), vec![0, 1], "the expired one is pruned");
    let uid: Option<String> = env.redis.pool.get(k.session("s1")).await.unwrap();
    assert_eq!(uid.as_deref(), Some("7"));
    let ttl: i64 = env.redis.pool.ttl(k.session("s1")).await.unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
    assert_eq!(open_session(&env, "s2", "7", now + 1_000, "login").await.unwrap(), vec![0, 0]);
    let index: Vec<(String, f64)> = env.redis.pool.zrange(k.sessions(7), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(index, vec![("s1".to_owned(), (now + 60_000) as f64), ("s2".to_owned(), (now + 61_000) as f64)]);
    // The index expires with its latest session.
    let expire_at: i64 = env.redis.pool.pexpire_time(k.sessions(7)).await.unwrap();
    assert_eq!(expire_at, (now + 61_000) as i64);

    // Resume: only an existing session of this user.
    assert_eq!(open_session(&env, "gone", "7", now, "resume").await.unwrap(), vec![1008]);
    assert_eq!(open_session(&env, "other", "7", now, "resume").await.unwrap(), vec![1008]);
    assert_eq!(open_session(&env, "s1", "7", now + 5_000, "resume").await.unwrap(), vec![0, 0]);
    let score: Option<f64> = env.redis.pool.zscore(k.sessions(7), "s1").await.unwrap();
    assert_eq!(score, Some((now + 65_000) as f64), "a resume renews the session's expiry in the index");

    // Banned: nothing opens, and a resumed session is dropped.
    let _: () = env.redis.pool.hset(k.user(7), ("banned", 1)).await.unwrap();
    assert_eq!(open_session(&env, "s3", "7", now, "login").await.unwrap(), vec![1009]);
    let s3: i64 = env.redis.pool.exists(k.session("s3")).await.unwrap();
    assert_eq!(s3, 0);
    assert_eq!(open_session(&env, "s1", "7", now, "resume").await.unwrap(), vec![1009]);
    let s1: i64 = env.redis.pool.exists(k.session("s1")).await.unwrap();
    let members: Vec<String> = env.redis.pool.zrange(k.sessions(7), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!((s1, members), (0, vec!["s2".to_owned()]));
    // A bad TTL writes nothing.
    let keys = vec![k.session("s4"), k.sessions(7), k.user(7)];
    let err = env
        .redis
        .scripts
        .call::<Vec<i64>, _, _, _>(&env.redis.pool, ScriptName::SessionOpen, keys, vec!["7", "s4", "0", "1", "login"])
        .await
        .unwrap_err();
    assert!(err.details().contains("bad ttl"), "{err}");
}

/// Calls user_ban.lua for user 7 with the sessions and connections (conn, node, element) "read".
async fn ban(env: &TestEnv, sids: &[&str], conns: &[(&str, &str)]) -> Vec<i64> {
    let k = env.keys();
    let mut keys = vec![k.user(7), k.sessions(7), k.online(7), k.outbox()];
    keys.extend(sids.iter().map(|s| k.session(s)));
    let mut argv: Vec<String> =
        vec!["7", "bots", "otto", "1000", "60000", "audit-record"].into_iter().map(str::to_owned).collect();
    argv.push(sids.len().to_string());
    argv.push(conns.len().to_string());
    argv.extend(sids.iter().map(|s| s.to_string()));
    for (conn, node) in conns {
        keys.push(k.node("connect", node));
        keys.push(k.push(node));
        argv.push(conn.to_string());
    }
    argv.extend(conns.iter().map(|(_, node)| node.to_string()));
    argv.extend(conns.iter().map(|(conn, _)| format!("close-{conn}")));
    env.redis.scripts.call(&env.redis.pool, ScriptName::UserBan, keys, argv).await.unwrap()
}

#[tokio::test]
async fn user_ban_marks_revokes_and_closes_at_once_and_asks_to_read_again_when_an_index_moved() {
    let env = TestEnv::new().await;
    let k = env.keys();
    assert_eq!(ban(&env, &[], &[]).await, vec![1007], "no such user");
    assert_eq!(env.llen(&k.outbox()).await, 0);
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    for sid in ["s1", "s2"] {
        let _: () = env.redis.pool.set(k.session(sid), 7, None, None, false).await.unwrap();
        let _: () = env.redis.pool.zadd(k.sessions(7), None, None, false, false, (1.0, sid)).await.unwrap();
    }
    let _: () = env.redis.pool.set(k.session("bobs"), 8, None, None, false).await.unwrap();
    let _: () = env.redis.pool.hset(k.online(7), [("5", "live"), ("6", "dead")]).await.unwrap();
    let _: () = env.redis.pool.set(k.node("connect", "live"), 1, None, None, false).await.unwrap();

    // Read before s2 was opened: the user is marked, nothing else is done.
    let conns = [("5", "live"), ("6", "dead")];
    assert_eq!(ban(&env, &["s1"], &conns).await, vec![-1, 1]);
    let banned: Vec<Option<String>> = env
        .redis
        .pool
        .hmget(k.user(7), vec!["banned", "ban_reason", "banned_by", "banned_at", "ban_ver"])
        .await
        .unwrap();
    let expected = ["1", "bots", "otto", "1000", "1"].map(|v| Some(v.to_owned()));
    assert_eq!(banned, expected.to_vec());
    let s1: i64 = env.redis.pool.exists(k.session("s1")).await.unwrap();
    assert_eq!((s1, env.llen(&k.push("live")).await), (1, 0));
    // A connection the caller did not read: read again.
    assert_eq!(ban(&env, &["s1", "s2"], &conns[..1]).await, vec![-1, 0]);

    // Read right: both sessions revoked, the index gone, the live node told, the dead node's
    // connection dropped from the online index (connect clears the live one when it closes it).
    assert_eq!(ban(&env, &["s1", "s2"], &conns).await, vec![0, 0, 2, 1, 1]);
    let left: i64 = env.redis.pool.exists(vec![k.session("s1"), k.session("s2"), k.sessions(7)]).await.unwrap();
    assert_eq!(left, 0);
    let bobs: i64 = env.redis.pool.exists(k.session("bobs")).await.unwrap();
    assert_eq!(bobs, 1, "another user's session is untouched");
    assert_eq!(lrange(&env, &k.push("live")).await, vec!["close-5"]);
    let ttl: i64 = env.redis.pool.pttl(k.push("live")).await.unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
    let online: HashMap<String, String> = env.redis.pool.hgetall(k.online(7)).await.unwrap();
    assert_eq!(online, HashMap::from([("5".to_owned(), "live".to_owned())]));

    // Marked once: one change record and one audit record, whatever the number of calls.
    let outbox: Vec<Bytes> = env.redis.pool.lrange(k.outbox(), 0, -1).await.unwrap();
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    assert_eq!(&outbox[0][..], b"audit-record");
    let record: serde_json::Value = rmp_serde::from_slice(&outbox[1]).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"ts": 1000, "table": "user_ban", "key": "7", "ver": 1,
            "fields": {"banned": 1, "reason": "bots", "by": "otto", "at": 1000}})
    );
}

#[tokio::test]
async fn user_unban_lifts_a_ban_once() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let call = |env: &TestEnv| {
        let keys = vec![env.keys().user(7), env.keys().outbox()];
        let pool = env.redis.pool.clone();
        let scripts = env.redis.scripts.clone();
        async move {
            scripts
                .call::<Vec<i64>, _, _, _>(&pool, ScriptName::UserUnban, keys, vec!["7", "ada", "2000", ""])
                .await
                .unwrap()
        }
    };
    assert_eq!(call(&env).await, vec![1007]);
    let _: () = env.redis.pool.hset(k.user(7), ("id", 7)).await.unwrap();
    assert_eq!(call(&env).await, vec![0, 0], "not banned: nothing to lift");
    assert_eq!(env.llen(&k.outbox()).await, 0);
    let ban = [("banned", "1"), ("ban_reason", "bots"), ("banned_by", "otto"), ("banned_at", "1000"), ("ban_ver", "1")];
    let _: () = env.redis.pool.hset(k.user(7), ban).await.unwrap();
    assert_eq!(call(&env).await, vec![0, 1]);
    let user: HashMap<String, String> = env.redis.pool.hgetall(k.user(7)).await.unwrap();
    let expected = [("id", "7"), ("banned", "0"), ("ban_ver", "2")].map(|(f, v)| (f.to_owned(), v.to_owned()));
    assert_eq!(user, HashMap::from(expected));
    assert_eq!(call(&env).await, vec![0, 0]);
    let outbox: Vec<Bytes> = env.redis.pool.lrange(k.outbox(), 0, -1).await.unwrap();
    assert_eq!(outbox.len(), 1, "one change record, no audit record when none is given");
    let record: serde_json::Value = rmp_serde::from_slice(&outbox[0]).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"ts": 2000, "table": "user_ban", "key": "7", "ver": 2,
            "fields": {"banned": 0, "reason": "", "by": "ada", "at": 2000}})
    );
}

/// A script of the example Lua handler folder (logic/scripts/redis), run with EVAL.
async fn ext_script<R: FromValue>(env: &TestEnv, source: &str, argv: Vec<String>) -> Result<R, fred::error::Error> {
    let keys = vec![env.keys().ext("signin:days"), env.keys().ext("signin:board")];
    env.redis.pool.eval(source, keys, argv).await
}

const SIGNIN_STREAK: &str = include_str!("../logic/scripts/redis/signin_streak.lua");
const STREAK_TOP: &str = include_str!("../logic/scripts/redis/streak_top.lua");

#[tokio::test]
async fn signin_streak_counts_days_in_a_row_once_per_day() {
    let env = TestEnv::new().await;
    for src in [SIGNIN_STREAK, STREAK_TOP] {
        for section in ["KEYS[1]", "ARGV[1]", "Reply:", "Errors:"] {
            assert!(src.contains(section), "no {section} in the header");
        }
    }
    let day = |uid: u64, d: u64| ext_script::<Vec<i64>>(&env, SIGNIN_STREAK, vec![uid.to_string(), d.to_string()]);
    assert_eq!(day(7, 100).await.unwrap(), vec![1, 1]);
    assert_eq!(day(7, 100).await.unwrap(), vec![1, 0], "the same day again changes nothing");
    assert_eq!(day(7, 101).await.unwrap(), vec![2, 1]);
    assert_eq!(day(7, 102).await.unwrap(), vec![3, 1]);
    assert_eq!(day(7, 102).await.unwrap(), vec![3, 0]);
    assert_eq!(day(7, 104).await.unwrap(), vec![1, 1], "a missed day starts a new run");
    assert_eq!(day(8, 104).await.unwrap(), vec![1, 1]);
    let days: HashMap<String, String> = env.redis.pool.hgetall(env.keys().ext("signin:days")).await.unwrap();
    assert_eq!(days, HashMap::from([("7".to_owned(), "104:1".to_owned()), ("8".to_owned(), "104:1".to_owned())]));
    let bad = ext_script::<Vec<i64>>(&env, SIGNIN_STREAK, vec!["7".into(), "x".into()]).await.unwrap_err();
    assert!(bad.details().contains("bad day"), "{bad}");
    assert_eq!(env.scan("ext:*").await.len(), 2, "only its two keys");
}

#[tokio::test]
async fn streak_top_answers_live_runs_longest_first_and_drops_dead_ones() {
    let env = TestEnv::new().await;
    let day = |uid: u64, d: u64| ext_script::<Vec<i64>>(&env, SIGNIN_STREAK, vec![uid.to_string(), d.to_string()]);
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
        ext_script::<Vec<i64>>(&env, STREAK_TOP, vec![today.to_string(), limit.to_string(), me.to_string()])
    };
    assert_eq!(top(13, 10, 2).await.unwrap(), vec![2, 2, 1, 4, 2, 2, 3, 1], "uid 4's run of 5 is dead");
    let board: Vec<String> =
        env.redis.pool.zrange(env.keys().ext("signin:board"), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(board.len(), 3, "the dead run was removed: {board:?}");
    assert_eq!(top(13, 1, 3).await.unwrap(), vec![3, 1, 1, 4], "limit 1, the caller third");
    assert_eq!(top(14, 10, 4).await.unwrap(), vec![0, 0, 1, 4, 2, 2, 3, 1], "yesterday's runs are alive");
    assert_eq!(top(15, 10, 1).await.unwrap(), vec![0, 0], "all dead two days later");
    let bad = top(13, 0, 1).await.unwrap_err();
    assert!(bad.details().contains("bad arguments"), "{bad}");
}
