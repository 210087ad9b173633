//! dbsvr against the real Redis and MariaDB: a burst lands in MySQL; replays and out-of-order
//! records change nothing; MySQL cut off under load loses nothing; a poison record goes to the dead
//! list with its reason while the rest flows, and that list is capped and expires; an unknown schema
//! is refused.

use common::shards::Home;
use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::Shutdown;
use fred::prelude::*;
use serde_json::{Value, json};
use sqlx::Row;
use test_support::proxy::Proxy;
use test_support::{TestDb, TestEnv, eventually, spawn_dbsvr};

/// Every row of every table, in a stable order (for before/after comparisons).
async fn dump(db: &TestDb) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("users", "id"),
        ("wallets", "uid"),
        ("ledger", "id"),
        ("matches", "id"),
        ("match_states", "match_id, ver"),
        ("bets", "id"),
        ("payments", "order_id"),
        ("grant_requests", "request_id"),
        ("gm_audit", "id"),
    ] {
        let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY {order}")).fetch_all(&db.pool).await.unwrap();
        for r in rows {
            let cols: Vec<String> = (0..r.len())
                .map(|i| {
                    r.try_get::<Option<i64>, _>(i)
                        .map(|v| format!("{v:?}"))
                        .or_else(|_| r.try_get::<Option<u64>, _>(i).map(|v| format!("{v:?}")))
                        .or_else(|_| r.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                        .unwrap_or_else(|_| "?".into())
                })
                .collect();
            out.push_str(&format!("{table}: {}\n", cols.join(" | ")));
        }
    }
    out
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(&db.pool).await.unwrap().get::<i64, _>(0)
}

/// Waits until dbsvr has written everything queued so far (outbox and inflight lists empty).
async fn drained(env: &TestEnv) {
    env.lanes_idle(&env.keys().outboxes()).await;
}

async fn config(env: &TestEnv, db: &TestDb) -> common::Config {
    let mut cfg = env.node(1);
    cfg.mysql.url = db.url.clone();
    cfg.dbsvr.retry_max_ms = 200;
    cfg
}

#[tokio::test]
async fn a_burst_lands_in_mysql_as_it_is_in_redis() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let book = seed::book(&env.redis, "cs2", 1, 100, 5).await.unwrap();
    let stats = spawn_dbsvr(config(&env, &db).await, &shutdown);
    drained(&env).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 100);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bets").await, 500);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM ledger").await, 600, "a sign-up grant and 5 bets per user");
    for uid in [1u64, 37, 100] {
        let redis: i64 = env.redis.pool.hget(env.keys().wallet(uid), "balance").await.unwrap();
        let mysql = count(&db, &format!("SELECT balance FROM wallets WHERE uid = {uid}")).await;
        assert_eq!(mysql, redis, "wallet {uid}");
        let ledger = count(&db, &format!("SELECT CAST(SUM(delta) AS SIGNED) FROM ledger WHERE uid = {uid}")).await;
        assert_eq!(ledger, redis, "the ledger of {uid} sums to its balance in MySQL too");
    }
    let state = count(&db, &format!("SELECT state FROM matches WHERE id = {}", book.match_id)).await;
    assert_eq!(state, 2);
    let history = count(&db, &format!("SELECT COUNT(*) FROM match_states WHERE match_id = {}", book.match_id)).await;
    assert_eq!(history, 3, "created, approved, opened");
    let figures = count(&db, "SELECT CAST(SUM(bets) AS SIGNED) FROM daily_figures").await;
    assert_eq!(figures, 500);
    // 100 sign-ups (user, wallet, ledger, account event), the match created, approved and opened,
    // 500 bets (one "placed" record each, three rows): every record written once.
    assert_eq!(stats.flushed(), 100 * 4 + 3 + 500);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM account_events WHERE kind = 'registered'").await, 100);
    let day = common::time::day_of(common::time::now_ms());
    let bets: Option<i64> = env.redis.pool.get(env.keys().stats_day("bets", day)).await.unwrap();
    let volume: Option<i64> = env.redis.pool.get(env.keys().stats_day("volume", day)).await.unwrap();
    let staked = count(&db, "SELECT CAST(SUM(stake) AS SIGNED) FROM bets").await;
    assert_eq!((bets, volume), (Some(500), Some(staked)), "dbsvr counted the day's bets and volume");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn replays_and_older_records_leave_mysql_unchanged() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    seed::book(&env.redis, "lol", 1, 20, 3).await.unwrap();
    // Keep a copy of everything about to be flushed.
    let records: Vec<Bytes> = env.lanes_lrange(&env.keys().outboxes()).await;
    spawn_dbsvr(config(&env, &db).await, &shutdown);
    drained(&env).await;
    let before = dump(&db).await;
    // The same records again (a replayed batch), then an older wallet version after the newest.
    let _: i64 = env.redis.pool.rpush(env.keys().outbox(Home::Shard(0)), records.clone()).await.unwrap();
    let stale = rmp_serde::to_vec_named(
        &json!({"ts": 1, "table": "wallet", "key": "1", "ver": 1, "fields": {"balance": 424242}}),
    )
    .unwrap();
    let _: i64 = env.redis.pool.lpush(env.keys().outbox(Home::Shard(0)), Bytes::from(stale)).await.unwrap();
    drained(&env).await;
    assert_eq!(dump(&db).await, before, "MySQL never goes back to an older state");
    let day = common::time::day_of(common::time::now_ms());
    let bets: Option<i64> = env.redis.pool.get(env.keys().stats_day("bets", day)).await.unwrap();
    assert_eq!(bets, Some(60), "a replayed batch's bets are not counted again");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn with_mysql_cut_off_under_load_nothing_is_lost() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let proxy = Proxy::start("127.0.0.1:3306".parse().unwrap()).await;
    let mut cfg = config(&env, &db).await;
    cfg.mysql.url = db.url.replace("127.0.0.1:3306", &proxy.addr.to_string());
    let stats = spawn_dbsvr(cfg, &shutdown);
    seed::book(&env.redis, "lol", 1, 10, 2).await.unwrap();
    drained(&env).await;
    proxy.cut();
    // Load while MySQL is away: another book lands in the outbox and is held.
    let book = seed::book(&env.redis, "lol", 1000, 50, 4).await.unwrap();
    eventually("dbsvr notices MySQL is gone and keeps retrying", || async {
        (stats.retries.load(std::sync::atomic::Ordering::Relaxed) >= 2).then_some(())
    })
    .await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bets").await, 20, "nothing of the second book yet");
    proxy.restore();
    drained(&env).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bets").await, 20 + book.bets.len() as i64);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 60);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM ledger").await, 10 * 3 + 50 * 5);
    assert_eq!(stats.dead.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dead_list_with_its_reason_and_the_rest_flows() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let outbox = env.keys().outbox(Home::Global); // dbsvr buries records in this lane's dead list
    let good = |uid: u64| json!({"ts": 1, "table": "wallet", "key": uid.to_string(), "ver": 1, "fields": {"balance": 10 * uid}});
    let records = vec![
        good(1),
        // Decodes, but MySQL refuses it (a username longer than the column).
        json!({"ts": 1, "table": "user", "key": "2", "ver": 1, "fields": {"username": "x".repeat(300), "pw": "h", "created_at": 1}}),
        good(3),
        // Cannot even be decoded.
        json!({"ts": 1, "table": "wallet", "key": "4", "ver": 1, "fields": {"balance": "lots"}}),
        good(5),
    ];
    for r in &records {
        let _: i64 = env.redis.pool.lpush(&outbox, Bytes::from(rmp_serde::to_vec_named(r).unwrap())).await.unwrap();
    }
    let stats = spawn_dbsvr(config(&env, &db).await, &shutdown);
    drained(&env).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM wallets").await, 3, "the good records flowed");
    assert_eq!(stats.dead.load(std::sync::atomic::Ordering::Relaxed), 2);
    let dead: Vec<Bytes> = env.redis.pool.lrange(env.keys().dead(&outbox), 0, -1).await.unwrap();
    #[derive(serde::Deserialize)]
    struct Dead {
        reason: String,
        record: serde_bytes::ByteBuf,
    }
    let reasons: HashMap<String, String> = dead
        .iter()
        .map(|d| {
            let dead: Dead = rmp_serde::from_slice(d).unwrap();
            let record: Value = rmp_serde::from_slice(&dead.record).unwrap();
            (record["table"].as_str().unwrap().to_owned(), dead.reason)
        })
        .collect();
    assert!(reasons["user"].contains("Data too long"), "{reasons:?}");
    assert!(reasons["wallet"].contains("balance"), "{reasons:?}");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn dbsvr_caps_its_dead_list_and_gives_it_a_ttl() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let outbox = env.keys().outbox(Home::Global); // dbsvr buries records in this lane's dead list
    for uid in 1..=4u64 {
        let poison =
            json!({"ts": 1, "table": "wallet", "key": uid.to_string(), "ver": 1, "fields": {"balance": "lots"}});
        let _: i64 =
            env.redis.pool.lpush(&outbox, Bytes::from(rmp_serde::to_vec_named(&poison).unwrap())).await.unwrap();
    }
    let mut cfg = config(&env, &db).await;
    (cfg.queue.dead_max, cfg.queue.dead_ttl_s) = (2, 3600);
    let stats = spawn_dbsvr(cfg, &shutdown);
    drained(&env).await;
    assert_eq!(stats.dead.load(std::sync::atomic::Ordering::Relaxed), 4, "four records buried");
    let dead = env.keys().dead(&outbox);
    assert_eq!(env.llen(&dead).await, 2, "the dead list keeps dead_max records");
    let ttl: i64 = env.redis.pool.ttl(&dead).await.unwrap();
    assert!((1..=3600).contains(&ttl), "the dead list expires: TTL {ttl}");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test]
async fn dbsvr_refuses_a_schema_it_does_not_know() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', 1, x'00', 0)")
        .execute(&db.pool)
        .await
        .unwrap();
    let err = dbsvr::run(config(&env, &db).await, Shutdown::new()).await.unwrap_err();
    assert!(format!("{err:#}").contains("does not know"), "{err:#}");
}

#[tokio::test]
async fn two_dbsvr_processes_drain_one_outbox_without_corrupting_anything() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let book = seed::book(&env.redis, "lol", 1, 200, 10).await.unwrap();
    // More changes to the same wallets while both run: a second round of bets.
    let (mut a, mut b) = (config(&env, &db).await, config(&env, &db).await);
    a.node.id = "dbsvr-a".into();
    b.node.id = "dbsvr-b".into();
    a.dbsvr.batch_max = 50;
    b.dbsvr.batch_max = 50;
    let (sa, sb) = (spawn_dbsvr(a, &shutdown), spawn_dbsvr(b, &shutdown));
    for uid in 1..=200u64 {
        seed::place(&env.redis, book.match_id, uid, "b", 7).await.unwrap();
    }
    drained(&env).await;
    assert!(sa.flushed() > 0 && sb.flushed() > 0, "both took a share: {} and {}", sa.flushed(), sb.flushed());
    let report = dbsvr::verify::run(&env.redis, &db.pool, dbsvr::verify::Options::default()).await.unwrap();
    assert!(report.is_clean(), "MySQL equals Redis: {:?}", report.differences);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM bets").await, 2200);
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

/// A payment order id sent for two users credits both in Redis (each user's shard keeps its own
/// idempotency record, docs/scaling.md); MySQL keeps the first credit's row under the order id and
/// dbsvr holds the second's record on the dead list with the reason, for staff — wallets and
/// ledgers of both are written as usual.
#[tokio::test]
async fn an_order_id_paid_to_two_users_is_held_for_staff_with_the_reason() {
    use common::store::wallet_change;
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let shutdown = Shutdown::new();
    let (a, b) = (3u64, 4u64);
    for uid in [a, b] {
        seed::fund(&env.redis, uid, 100).await.unwrap();
    }
    for uid in [a, b] {
        // Each user holds an order of that id (ids the server makes never meet; the store takes any).
        let order = common::store::order_create::Args {
            uid,
            order_id: "order-7",
            amount: 50,
            channel: "card",
            now_ms: 1_000,
            keep_s: 60,
            list_max: 5,
            currency: "USD",
            staff: None,
        };
        common::store::order_create::call(&env.redis, &order).await.unwrap();
        let args = wallet_change::Args {
            uid,
            delta: 50,
            reason: "payment",
            reference: "order-7",
            now_ms: 1_000,
            once: Some(wallet_change::Once::Payment { order_id: "order-7", currency: "USD" }),
            audit: &[],
        };
        let outcome = wallet_change::call(&env.redis, &args).await.unwrap();
        assert_eq!(outcome, wallet_change::Outcome::Changed { balance: 150, repeated: false }, "user {uid}");
    }
    let stats = spawn_dbsvr(config(&env, &db).await, &shutdown);
    drained(&env).await;
    let rows = sqlx::query("SELECT uid FROM payments WHERE order_id = 'order-7'").fetch_all(&db.pool).await.unwrap();
    assert_eq!(rows.len(), 1, "one row per order id");
    let first: u64 = rows[0].get(0);
    let second = if first == a { b } else { a };
    assert_eq!(count(&db, "SELECT COUNT(*) FROM wallets WHERE balance = 150").await, 2, "both wallets written");
    assert_eq!(stats.dead.load(std::sync::atomic::Ordering::Relaxed), 1);
    let dead: Vec<Bytes> =
        env.redis.pool.lrange(env.keys().dead(&env.keys().outbox(Home::Global)), 0, -1).await.unwrap();
    assert_eq!(dead.len(), 1);
    #[derive(serde::Deserialize)]
    struct Held {
        reason: String,
        record: serde_bytes::ByteBuf,
    }
    let held: Held = rmp_serde::from_slice(&dead[0]).unwrap();
    let record: Value = rmp_serde::from_slice(&held.record).unwrap();
    assert_eq!((record["table"].as_str(), record["fields"]["uid"].as_u64()), (Some("payment"), Some(second)));
    let reason = held.reason.as_str();
    assert!(
        reason.contains("\"order-7\"")
            && reason.contains(&format!("credited to user {first};"))
            && reason.contains(&format!("to user {second} is held")),
        "{reason}"
    );
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}

/// `/readyz` of a dbsvr process follows MySQL: 200 while it answers, 503 naming MySQL while it is
/// cut off, 200 again once it is back (a load balancer or Kubernetes sees the real state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_of_dbsvr_fails_while_mysql_is_down_and_recovers_after() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let proxy = Proxy::start("127.0.0.1:3306".parse().unwrap()).await;
    let url = db.url.replace("127.0.0.1:3306", &proxy.addr.to_string());
    let mut dbsvr = test_support::process::Process::spawn(
        env!("CARGO_BIN_EXE_matchday"),
        &env,
        "dbsvr",
        &[("MATCHDAY__MYSQL__URL", url.as_str())],
    );
    let admin: std::net::SocketAddr = dbsvr.ready(&env).await["metrics"].parse().expect("the admin address");
    let probe = test_support::http::Gm::new(admin);
    let readyz = || async { probe.get_with("/readyz", &[]).await };
    eventually("ready with MySQL up", || async { (readyz().await.status == 200).then_some(()) }).await;
    proxy.cut();
    let down = eventually("not ready while MySQL is cut off", || async {
        let r = readyz().await;
        (r.status == 503).then_some(r.text)
    })
    .await;
    assert!(down.contains("MySQL"), "{down}");
    proxy.restore();
    eventually("ready again once MySQL is back", || async { (readyz().await.status == 200).then_some(()) }).await;
    dbsvr.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(dbsvr.exited(Duration::from_secs(20)).await.success(), "{}", dbsvr.output());
}
