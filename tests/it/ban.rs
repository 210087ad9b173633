//! GM bans (issue 8): a ban revokes every session of the user and closes their live connections with
//! WebSocket close 1008 "banned"; a revoked token resumes no more (1008) and a login of a banned
//! user is refused with 1009, even with the right password; other users are unaffected. Unban lets
//! the user log in again while the old sessions stay revoked. Only operators and admins ban; a
//! repeated ban changes nothing; a login racing the ban is closed at its bind; the ban is durable
//! in MySQL and comes back with a restore.

use bytes::Bytes;
use common::Shutdown;
use fred::prelude::*;
use futures_util::future::BoxFuture;
use protocol::codec::encode_frame;
use protocol::{ClientHead, msg};
use serde_json::{Value, json};
use sqlx::Row;
use test_support::http::Gm;
use test_support::{
    ADMIN, Client, OPERATOR, Stack, TestDb, TestEnv, VIEWER, eventually, spawn_connect, spawn_dbsvr, spawn_gm,
    spawn_logic_with,
};

/// connect + logic, and gm, on one test prefix.
async fn start() -> (TestEnv, Stack, Gm, Shutdown) {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.clone();
    cfg.connect.rate_burst = 1_000;
    let stack = Stack::spawn(cfg).await;
    let gm_shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &gm_shutdown).await);
    (env, stack, gm, gm_shutdown)
}

async fn login_code(c: &mut Client, user: &str, password: &str) -> u16 {
    c.call(msg::LOGIN, json!({ "username": user, "password": password })).await.code()
}

async fn resume_code(c: &mut Client, token: &Value) -> u16 {
    c.call(msg::RESUME, json!({ "token": token })).await.code()
}

fn ban_path(uid: u64) -> String {
    format!("/api/users/{uid}/ban")
}

fn unban_path(uid: u64) -> String {
    format!("/api/users/{uid}/unban")
}

/// The change records of `table` on the outbox, oldest first.
async fn outbox_records(env: &TestEnv, table: &str) -> Vec<Value> {
    let raw: Vec<Bytes> = env.lanes_lrange(&env.keys().outboxes()).await;
    raw.iter().rev().map(|r| rmp_serde::from_slice::<Value>(r).unwrap()).filter(|r| r["table"] == table).collect()
}

#[tokio::test]
async fn a_ban_closes_the_users_connections_with_1008_and_refuses_resume_and_login() {
    let (env, stack, gm, gm_shutdown) = start().await;
    let mut alice = stack.client().await;
    let uid = alice.register("alice", "alice-password").await;
    let token = alice.login("alice", "alice-password").await["token"].clone();
    // A second connection of hers, speaking JSON.
    let mut alice_json = stack.client().await;
    let r = alice_json.call_json(msg::LOGIN, json!({ "username": "alice", "password": "alice-password" })).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let mut bob = stack.client().await;
    bob.register("bob", "bobs-password").await;
    let bob_token = bob.login("bob", "bobs-password").await["token"].clone();
    let mut anonymous = stack.client().await;

    let r = gm.post(&ban_path(uid), OPERATOR, &json!({ "reason": "match fixing" })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((r.body["banned"].as_bool(), r.body["changed"].as_bool()), (Some(true), Some(true)), "{r:?}");
    assert_eq!((r.body["sessions_revoked"].as_u64(), r.body["connections_closed"].as_u64()), (Some(2), Some(2)));
    assert_eq!((r.body["ban"]["reason"].as_str(), r.body["ban"]["by"].as_str()), (Some("match fixing"), Some("otto")));

    // Both live connections are closed by the server: policy violation, "banned".
    assert_eq!(alice.closed_with_reason().await, Some((1008, "banned".to_owned())));
    assert_eq!(alice_json.closed_with_reason().await, Some((1008, "banned".to_owned())));
    // The old token is revoked; a login is refused with 1009 even with the right password (a wrong
    // one is still 1001: the ban is not told to someone guessing).
    let mut again = stack.client().await;
    assert_eq!(resume_code(&mut again, &token).await, 1008);
    assert_eq!(login_code(&mut again, "alice", "alice-password").await, 1009);
    assert_eq!(login_code(&mut again, "ALICE", "wrong-password").await, 1001);
    assert_eq!(again.call(msg::BALANCE, json!({})).await.code(), 4, "the refused login bound nothing");
    // Nobody else is affected: bob's connection, his token, an anonymous connection, registering.
    assert_eq!(bob.call(msg::BALANCE, json!({})).await.code(), 0);
    assert_eq!(resume_code(&mut stack.client().await, &bob_token).await, 0);
    assert_eq!(anonymous.call(msg::PING, json!({})).await.code(), 0);
    anonymous.register("carol", "carols-password").await;

    // connect has left the online index; the session index is gone; staff see the ban.
    let online = env.keys().online(uid);
    eventually("alice is offline", || async {
        let n: i64 = env.redis.pool.exists(&online).await.unwrap();
        (n == 0).then_some(())
    })
    .await;
    let sessions: i64 = env.redis.pool.exists(env.keys().sessions(uid)).await.unwrap();
    assert_eq!(sessions, 0);
    let u = gm.get(&format!("/api/users/{uid}"), VIEWER).await;
    assert_eq!((u.body["banned"].as_bool(), u.body["online"].as_bool()), (Some(true), Some(false)), "{u:?}");
    assert_eq!(u.body["ban"]["reason"], "match fixing");
    assert!(u.body["ban"]["at"].as_u64().unwrap() > 0, "{u:?}");

    env.assert_queues_drained().await;
    stack.stop().await;
    gm_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unban_lets_the_user_log_in_again_and_old_sessions_stay_revoked() {
    let (_env, stack, gm, gm_shutdown) = start().await;
    let mut c = stack.client().await;
    let uid = c.register("dave", "daves-password").await;
    let old_token = c.login("dave", "daves-password").await["token"].clone();
    assert_eq!(gm.post(&ban_path(uid), OPERATOR, &json!({ "reason": "chargebacks" })).await.status, 200);
    assert_eq!(c.closed_with_reason().await, Some((1008, "banned".to_owned())));

    let r = gm.post(&unban_path(uid), OPERATOR, &json!({ "reason": "appeal accepted" })).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((r.body["banned"].as_bool(), r.body["changed"].as_bool()), (Some(false), Some(true)), "{r:?}");
    let mut c = stack.client().await;
    assert_eq!(resume_code(&mut c, &old_token).await, 1008, "the ban's revocation outlives the ban");
    let new_token = c.login("dave", "daves-password").await["token"].clone();
    assert_eq!(c.call(msg::BALANCE, json!({})).await.code(), 0);
    assert_eq!(resume_code(&mut stack.client().await, &new_token).await, 0);
    let u = gm.get(&format!("/api/users/{uid}"), VIEWER).await;
    assert_eq!(u.body["banned"].as_bool(), Some(false), "{u:?}");
    assert!(u.body.get("ban").is_none(), "{u:?}");
    // Unbanning again changes nothing.
    let r = gm.post(&unban_path(uid), OPERATOR, &json!({ "reason": "twice" })).await;
    assert_eq!((r.status, r.body["changed"].as_bool()), (200, Some(false)), "{r:?}");

    stack.stop().await;
    gm_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn only_operators_and_admins_ban_and_a_repeated_ban_changes_nothing() {
    let (env, stack, gm, gm_shutdown) = start().await;
    let mut c = stack.client().await;
    let uid = c.register("erin", "erins-password").await;

    for path in [ban_path(uid), unban_path(uid)] {
        let r = gm.post(&path, VIEWER, &json!({ "reason": "x" })).await;
        assert_eq!((r.status, r.error_code()), (403, "forbidden"), "{path}: {r:?}");
        assert!(r.message().contains("operator"), "{r:?}");
        let r = gm.call("POST", &path, None, Some(&json!({ "reason": "x" }))).await;
        assert_eq!(r.status, 401, "{path}: {r:?}");
    }
    c.login("erin", "erins-password").await; // the viewer banned nobody
    for bad in [json!({}), json!({ "reason": "  " }), json!({ "reason": "x", "request_id": "no spaces" })] {
        let r = gm.post(&ban_path(uid), OPERATOR, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
    }
    for path in [ban_path(999_999), unban_path(999_999)] {
        let r = gm.post(&path, OPERATOR, &json!({ "reason": "x" })).await;
        assert_eq!((r.status, r.error_code()), (404, "not_found"), "{path}: {r:?}");
    }

    // An admin may ban too; a repeat (by anyone, for any reason) keeps the first ban.
    let first = gm.post(&ban_path(uid), ADMIN, &json!({ "reason": "bots", "request_id": "case-17" })).await;
    assert_eq!((first.status, first.body["changed"].as_bool()), (200, Some(true)), "{first:?}");
    assert_eq!(c.closed_with_reason().await, Some((1008, "banned".to_owned())));
    let repeat = gm.post(&ban_path(uid), OPERATOR, &json!({ "reason": "other words" })).await;
    assert_eq!((repeat.status, repeat.body["changed"].as_bool()), (200, Some(false)), "{repeat:?}");
    assert_eq!((repeat.body["ban"]["reason"].as_str(), repeat.body["ban"]["by"].as_str()), (Some("bots"), Some("ada")));
    assert_eq!(repeat.body["sessions_revoked"], 0);
    // One ban change record and one audit record, with the request id.
    let bans = outbox_records(&env, "user_ban").await;
    assert_eq!(bans.len(), 1, "{bans:?}");
    assert_eq!((bans[0]["fields"]["banned"].as_i64(), bans[0]["fields"]["by"].as_str()), (Some(1), Some("ada")));
    let audits: Vec<Value> =
        outbox_records(&env, "audit").await.into_iter().filter(|a| a["fields"]["action"] == "user.ban").collect();
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0]["fields"]["target"], format!("user:{uid}"));
    assert!(audits[0]["fields"]["payload"].as_str().unwrap().contains("case-17"), "{audits:?}");

    stack.stop().await;
    gm_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// The login handler, then a ban's mark landing right after the session opened and before connect
/// binds the connection — the moment when the ban's read of the online index cannot see it.
fn login_then_marked<'a>(
    ctx: &'a logic::Ctx,
    req: &'a logic::Request,
) -> BoxFuture<'a, Result<logic::Reply, logic::AppError>> {
    Box::pin(async move {
        let (_, login) = logic::HANDLERS.iter().find(|(id, _)| *id == msg::LOGIN).expect("a login handler");
        let reply = login(ctx, req).await?;
        let uid = reply.bind.as_ref().expect("a login binds").uid;
        // What user_ban.lua marks: the user, and the wallet's mirror that place_bet.lua reads.
        let _: i64 = ctx.redis.pool.hset(ctx.redis.keys.user(uid), ("banned", "1")).await?;
        let _: i64 = ctx.redis.pool.hset(ctx.redis.keys.wallet(uid), ("banned", "1")).await?;
        Ok(reply)
    })
}

#[tokio::test]
async fn a_login_whose_bind_comes_after_the_ban_is_closed_at_the_bind() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn_connect(env.cfg.clone(), &shutdown).await;
    spawn_logic_with(env.cfg.clone(), &shutdown, logic::Dispatch::default().with(msg::LOGIN, login_then_marked));
    let mut c = Client::connect(addr).await;
    let uid = c.register("frank", "franks-password").await;
    let login = ClientHead { id: msg::LOGIN, seq: 99, ver: None };
    c.send_binary(encode_frame(&login, &json!({ "username": "frank", "password": "franks-password" })).unwrap()).await;
    // No login reply: the connection is closed as banned, and leaves the online index.
    assert_eq!(c.closed_with_reason().await, Some((1008, "banned".to_owned())));
    let online = env.keys().online(uid);
    eventually("frank's connection leaves the online index", || async {
        let n: i64 = env.redis.pool.exists(&online).await.unwrap();
        (n == 0).then_some(())
    })
    .await;
    assert!(shutdown.shutdown(std::time::Duration::from_secs(10)).await);
}

#[tokio::test]
async fn the_ban_is_durable_in_mysql_and_comes_back_with_a_restore() {
    let (env, stack, gm, gm_shutdown) = start().await;
    let db = TestDb::new().await;
    let mut dbsvr_cfg = env.node(1);
    dbsvr_cfg.mysql.url = db.url.clone();
    let db_shutdown = Shutdown::new();
    spawn_dbsvr(dbsvr_cfg, &db_shutdown);
    let mut c = stack.client().await;
    let (g, h) = (c.register("grace", "graces-password").await, c.register("heidi", "heidis-password").await);

    assert_eq!(gm.post(&ban_path(g), OPERATOR, &json!({ "reason": "abuse" })).await.status, 200);
    assert_eq!(gm.post(&ban_path(h), OPERATOR, &json!({ "reason": "spam" })).await.status, 200);
    assert_eq!(gm.post(&unban_path(h), ADMIN, &json!({ "reason": "mistake" })).await.status, 200);
    env.lanes_idle(&env.keys().outboxes()).await;
    let rows = sqlx::query("SELECT uid, banned, reason, changed_by, ver FROM user_bans ORDER BY uid")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let rows: Vec<(u64, i8, String, String, u64)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    let mut want = vec![(g, 1, "abuse".to_owned(), "otto".to_owned(), 1), (h, 0, String::new(), "ada".to_owned(), 2)];
    want.sort(); // by uid, as the query orders them (ids are allocated in each name's shard)
    assert_eq!(rows, want);
    let audited: i64 = sqlx::query("SELECT COUNT(*) FROM gm_audit WHERE action IN ('user.ban', 'user.unban')")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 3);

    // Redis is lost: the restored users carry their ban state, and a restored ban still refuses.
    let env2 = TestEnv::new().await;
    let report = dbsvr::restore::run(&env2.redis, &db.pool).await.expect("restore");
    assert_eq!((report.users, report.bans), (2, 1));
    for uid in [g, h] {
        let fields = vec!["banned", "ban_ver", "ban_reason", "banned_by", "banned_at"];
        let before: Vec<Option<String>> = env.redis.pool.hmget(env.keys().user(uid), fields.clone()).await.unwrap();
        let after: Vec<Option<String>> = env2.redis.pool.hmget(env2.keys().user(uid), fields).await.unwrap();
        assert_eq!(before, after, "user {uid}");
    }
    let restored = Stack::spawn(env2.cfg.clone()).await;
    let mut c2 = restored.client().await;
    assert_eq!(login_code(&mut c2, "grace", "graces-password").await, 1009);
    c2.login("heidi", "heidis-password").await;

    restored.stop().await;
    stack.stop().await;
    gm_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
    db_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// The place-bet handler, with the ban landing while the frame waited in the queue.
fn banned_while_queued<'a>(
    ctx: &'a logic::Ctx,
    req: &'a logic::Request,
) -> BoxFuture<'a, Result<logic::Reply, logic::AppError>> {
    Box::pin(async move {
        let uid = req.head.uid.expect("a bet comes from a logged-in connection");
        // What user_ban.lua marks: the user, and the wallet's mirror that place_bet.lua reads.
        let _: i64 = ctx.redis.pool.hset(ctx.redis.keys.user(uid), ("banned", "1")).await?;
        let _: i64 = ctx.redis.pool.hset(ctx.redis.keys.wallet(uid), ("banned", "1")).await?;
        let (_, place) = logic::HANDLERS.iter().find(|(id, _)| *id == msg::PLACE_BET).expect("a bet handler");
        place(ctx, req).await
    })
}

#[tokio::test]
async fn a_bet_queued_before_the_ban_is_refused_after_it() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn_connect(env.cfg.clone(), &shutdown).await;
    spawn_logic_with(env.cfg.clone(), &shutdown, logic::Dispatch::default().with(msg::PLACE_BET, banned_while_queued));
    let k = env.keys();
    let options = r#"[{"key":"a","label":"A","odds":1850},{"key":"b","label":"B","odds":2100}]"#;
    let m: Vec<(&str, &str)> = vec![
        ("id", "9"),
        ("state", "2"),
        ("options", options),
        ("odds_ver", "1"),
        ("min_stake", "1"),
        ("max_stake", "100"),
    ];
    let mut c = Client::connect(addr).await;
    let uid = c.register("gina", "ginas-password").await;
    let shard = common::shards::of_uid(uid);
    let _: () = env.redis.pool.hset(k.match_copy(shard, 9), m).await.unwrap();
    c.login("gina", "ginas-password").await;
    let before: i64 = env.redis.pool.hget(k.wallet(uid), "balance").await.unwrap();
    let bet = json!({ "match_id": 9, "option": "a", "stake": 10, "odds_ver": 1, "req_id": "queued" });
    let r = c.call(msg::PLACE_BET, bet).await;
    assert_eq!(r.code(), 1009, "{r:?}");
    let after: i64 = env.redis.pool.hget(k.wallet(uid), "balance").await.unwrap();
    assert_eq!(after, before, "nothing debited");
    let bets: i64 = env.redis.pool.exists(k.match_open(shard, 9)).await.unwrap();
    assert_eq!(bets, 0, "no bet recorded");
    assert!(shutdown.shutdown(std::time::Duration::from_secs(10)).await);
}

/// The resume handler run twice on the same frame, as when a worker dies before its ack and the
/// frame is delivered again: both runs must answer the same new token.
fn resume_delivered_twice<'a>(
    ctx: &'a logic::Ctx,
    req: &'a logic::Request,
) -> BoxFuture<'a, Result<logic::Reply, logic::AppError>> {
    Box::pin(async move {
        let (_, resume) = logic::HANDLERS.iter().find(|(id, _)| *id == msg::RESUME).expect("a resume handler");
        let first = resume(ctx, req).await?;
        let again = resume(ctx, req).await?;
        if first.body != again.body || first.bind.as_ref().map(|b| &b.sid) != again.bind.as_ref().map(|b| &b.sid) {
            return Err(logic::AppError::internal("a redelivered resume answered differently"));
        }
        Ok(again)
    })
}

#[tokio::test]
async fn a_resume_rotates_the_token_and_a_redelivered_resume_answers_the_same_one() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (addr, _) = spawn_connect(env.cfg.clone(), &shutdown).await;
    spawn_logic_with(env.cfg.clone(), &shutdown, logic::Dispatch::default().with(msg::RESUME, resume_delivered_twice));
    let mut c = Client::connect(addr).await;
    let uid = c.register("hank", "hanks-password").await;
    let token = c.login("hank", "hanks-password").await["token"].clone();

    let mut c2 = Client::connect(addr).await;
    let r = c2.call(msg::RESUME, json!({ "token": token })).await;
    assert_eq!((r.code(), r.body["user_id"].as_u64()), (0, Some(uid)), "{r:?}");
    let rotated = r.body["token"].clone();
    assert!(rotated.as_str().is_some_and(|t| t.len() == 64) && rotated != token, "a new token: {r:?}");
    assert_eq!(c2.call(msg::BALANCE, json!({})).await.code(), 0, "the connection is logged in");
    // The old token resumes no more; the new one does (and rotates again).
    assert_eq!(resume_code(&mut Client::connect(addr).await, &token).await, 1008);
    let r = Client::connect(addr).await.call(msg::RESUME, json!({ "token": rotated })).await;
    assert_eq!(r.code(), 0, "{r:?}");
    assert_ne!(r.body["token"], rotated);
    let index: Vec<String> =
        env.redis.pool.zrange(env.keys().sessions(uid), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(index.len(), 1, "one session, moved along: {index:?}");
    assert!(shutdown.shutdown(std::time::Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_login_past_the_session_cap_ends_the_oldest_session() {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.clone();
    cfg.logic.session_max_per_user = 2;
    cfg.connect.rate_burst = 1_000;
    let stack = Stack::spawn(cfg).await;
    let mut c = stack.client().await;
    let uid = c.register("ivy", "ivys-password").await;
    let mut tokens = vec![];
    for _ in 0..3 {
        tokens.push(stack.client().await.login("ivy", "ivys-password").await["token"].clone());
    }
    let index: Vec<String> =
        env.redis.pool.zrange(env.keys().sessions(uid), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(index.len(), 2, "{index:?}");
    assert_eq!(resume_code(&mut stack.client().await, &tokens[0]).await, 1008, "the oldest was ended");
    assert_eq!(resume_code(&mut stack.client().await, &tokens[1]).await, 0);
    assert_eq!(resume_code(&mut stack.client().await, &tokens[2]).await, 0);
    stack.stop().await;
}
