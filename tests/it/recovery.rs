//! Recovery against the real Redis and MariaDB. A burst through the real services (sign-ups and
//! logins over WebSocket, grants and a payment through gm, bets, a match settled and one cancelled
//! by resultcenter, everything flushed by dbsvr): `verify` finds no difference, and finds exactly
//! the ones made by hand. `restore` into a fresh prefix rebuilds what the scripts had built, key
//! for key; `verify` finds it equal to MySQL; and clients log in, see their coins and bet against
//! it, while a settlement left half-done is finished.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Config, Shutdown};
use fred::prelude::*;
use protocol::matches::Action;
use protocol::msg;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{
    ADMIN, Client, OPERATOR, Stack, TestDb, TestEnv, VIEWER, eventually, spawn_dbsvr, spawn_gm, spawn_resultcenter,
};
use tokio::process::Command;

const PW: &str = "secret-pw";
const PLAYERS: [&str; 6] = ["alice", "Bob", "carol", "dave", "erin", "frank"];

fn config(env: &TestEnv, db: &TestDb) -> Config {
    let mut cfg = env.node(1);
    cfg.mysql.url = db.url.clone();
    cfg.logic.signup_grant = 1000;
    cfg.connect.rate_burst = 1000;
    cfg.dbsvr.retry_max_ms = 200;
    cfg
}

/// The services of one prefix: connect + logic, gm and dbsvr (one shutdown), resultcenter (its own).
struct Services {
    stack: Stack,
    gm: Gm,
    dbsvr: Arc<dbsvr::Stats>,
    others: Shutdown,
    resultcenter: Shutdown,
}

impl Services {
    async fn start(cfg: &Config, with_resultcenter: bool) -> Services {
        let stack = Stack::spawn(cfg.clone()).await;
        let others = Shutdown::new();
        let gm = Gm::new(spawn_gm(cfg.clone(), &others).await);
        let dbsvr = spawn_dbsvr(cfg.clone(), &others);
        let resultcenter = Shutdown::new();
        if with_resultcenter {
            spawn_resultcenter(cfg.clone(), &resultcenter);
        }
        Services { stack, gm, dbsvr, others, resultcenter }
    }

    async fn stop_resultcenter(&self) {
        assert!(self.resultcenter.shutdown(Duration::from_secs(10)).await);
    }

    async fn stop(self) {
        self.stop_resultcenter().await;
        self.stack.stop().await;
        assert!(self.others.shutdown(Duration::from_secs(10)).await);
    }

    /// A match created by staff and moved through `actions`.
    async fn new_match(&self, kind: &str, actions: &[&str]) -> u64 {
        let body = json!({
            "type": kind, "title": "A vs B", "teams": ["A", "B"], "start_at": 1_900_000_000_000u64,
            "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}],
            "min_stake": 10, "max_stake": 1000
        });
        let r = self.gm.post("/api/matches", OPERATOR, &body).await;
        assert_eq!(r.status, 201, "{r:?}");
        let mid = r.body["match_id"].as_u64().unwrap();
        for a in actions {
            self.act(mid, a, json!({})).await;
        }
        mid
    }

    async fn act(&self, mid: u64, action: &str, body: Value) {
        let r = self.gm.post(&format!("/api/matches/{mid}/{action}"), OPERATOR, &body).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
    }

    async fn wait_state(&self, mid: u64, state: i64) {
        eventually(&format!("match {mid} reaches state {state}"), || async {
            (self.gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["state"].as_i64() == Some(state))
                .then_some(())
        })
        .await;
    }
}

/// Waits until dbsvr has written everything queued so far: q:outbox:{…} and every inflight list are
/// empty (a record leaves its inflight list only once its transaction has committed).
async fn drained(env: &TestEnv, stats: &dbsvr::Stats) {
    env.lanes_idle(&env.keys().outboxes()).await;
    eventually("dbsvr has written something", || async { (stats.flushed() > 0).then_some(()) }).await;
}

fn bet(mid: u64, option: &str, stake: i64, req_id: &str) -> Value {
    json!({ "match_id": mid, "option": option, "stake": stake, "odds_ver": 1, "req_id": req_id })
}

/// What the burst left behind.
struct Burst {
    uids: HashMap<&'static str, u64>,
    /// Matches: settled with winner a, cancelled, still open.
    won: u64,
    cancelled: u64,
    open: u64,
    /// alice's first bet: its request and the reply.
    first_bet: (Value, Value),
    /// A bet that won.
    winning_bet: u64,
    balances: HashMap<&'static str, i64>,
}

/// Sign-ups and logins, grants, a payment, bets on two matches; one settled, one cancelled; an
/// imported match left pending and an open one with no bets. Returns once resultcenter finished
/// both matches and dbsvr flushed everything.
async fn burst(env: &TestEnv, s: &Services) -> Burst {
    let mut clients: Vec<(&'static str, Client)> = Vec::new();
    let mut uids = HashMap::new();
    for name in PLAYERS {
        let mut c = s.stack.client().await;
        uids.insert(name, c.register(name, PW).await);
        c.login(name, PW).await;
        clients.push((name, c));
    }
    // Staff grants (one with a request id, sent twice; one taking coins back) and a paid order.
    let grant = |uid: u64, body: Value| async move {
        let r = s.gm.post(&format!("/api/users/{uid}/grant"), ADMIN, &body).await;
        assert_eq!(r.status, 200, "{r:?}");
    };
    grant(uids["alice"], json!({"amount": 500, "reason": "welcome"})).await;
    for _ in 0..2 {
        grant(uids["Bob"], json!({"amount": 250, "reason": "promo", "request_id": "promo-bob-1"})).await;
    }
    grant(uids["carol"], json!({"amount": -100, "reason": "correction"})).await;
    let order = s.gm.order(uids["dave"], 300).await;
    let r = s.gm.pay(&order, uids["dave"], 300).await;
    assert_eq!(r.status, 200, "{r:?}");

    let won = s.new_match("lol", &["approve", "open"]).await;
    let cancelled = s.new_match("dota2", &["approve", "open"]).await;
    let open = s.new_match("cs2", &["approve", "open"]).await;
    let imported = json!({"matches": [{"external_id": "feed-42", "type": "lol", "title": "C vs D", "teams": ["C", "D"],
        "start_at": 1_900_000_000_000u64, "options": [{"key": "c", "label": "C", "odds": 1500}, {"key": "d", "label": "D", "odds": 2500}],
        "min_stake": 10, "max_stake": 1000}]});
    assert_eq!(s.gm.post("/api/matches/import", OPERATOR, &imported).await.status, 200);

    let mut first_bet = (Value::Null, Value::Null);
    let mut winning_bet = 0;
    for (i, (name, c)) in clients.iter_mut().enumerate() {
        let option = if i % 2 == 0 { "a" } else { "b" };
        let stake = 50 + 10 * i as i64;
        let req = bet(won, option, stake, &format!("r-{name}-1"));
        let r = c.call(msg::PLACE_BET, &req).await;
        assert_eq!(r.code(), 0, "{r:?}");
        if *name == "alice" {
            first_bet = (req, r.body.clone());
            winning_bet = r.body["bet_id"].as_u64().unwrap();
        }
        let r = c.call(msg::PLACE_BET, bet(cancelled, "b", 20, &format!("r-{name}-2"))).await;
        assert_eq!(r.code(), 0, "{r:?}");
    }
    // A retry of alice's first bet answers the first reply.
    let r = clients[0].1.call(msg::PLACE_BET, &first_bet.0).await;
    assert_eq!(r.body, first_bet.1);

    s.act(won, "start", json!({})).await;
    s.act(won, "result", json!({"winner": "a"})).await;
    s.act(cancelled, "cancel", json!({})).await;
    s.wait_state(won, 9).await;
    s.wait_state(cancelled, 8).await;
    let mut balances = HashMap::new();
    for (name, c) in clients.iter_mut() {
        balances.insert(*name, c.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap());
    }
    assert_eq!(balances["alice"], 1000 + 500 - 50 + 50 * 1850 / 1000, "granted, staked, won; refunded");
    drained(env, &s.dbsvr).await;
    Burst { uids, won, cancelled, open, first_bet, winning_bet, balances }
}

/// `matchday verify` / `restore` as an operator runs them; returns (exit code, stdout + stderr).
async fn cli(env: &TestEnv, db: &TestDb, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_matchday"))
        .args(args)
        .env("MATCHDAY__REDIS__URL", &env.cfg.redis.url)
        .env("MATCHDAY__REDIS__PREFIX", env.keys().prefix())
        .env("MATCHDAY__MYSQL__URL", &db.url)
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("run matchday");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Rewrites bet `bid` of user `uid` in Redis as `change` has it.
async fn tamper_bet(env: &TestEnv, uid: u64, bid: u64, change: impl FnOnce(&mut common::bets::Stored)) {
    let mut bet = common::bets::of_user(&env.redis, uid, bid).await.unwrap().expect("the bet");
    change(&mut bet);
    let _: () = env.redis.pool.hset(env.keys().user_bets(uid), (bid, bet.encode())).await.unwrap();
}

async fn verify(env: &TestEnv, db: &TestDb) -> dbsvr::verify::Report {
    dbsvr::verify::run(&env.redis, &db.pool, dbsvr::verify::Options::default()).await.expect("verify")
}

#[tokio::test]
async fn after_a_burst_and_a_flush_verify_finds_nothing_then_exactly_what_was_tampered_with() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let s = Services::start(&config(&env, &db), true).await;
    let b = burst(&env, &s).await;

    // As verify itself advises: a report taken while change records still wait is flush lag.
    let report = eventually("verify sees every change record flushed", || async {
        let report = verify(&env, &db).await;
        (report.unflushed == 0).then_some(report)
    })
    .await;
    assert_eq!(report.lines(), Vec::<String>::new(), "{}", report.summary());
    // Bets are compared as their users' (each user's bets are one hash in Redis), so unused bet
    // ids are no gaps; users' ids are dense in their shards: no gaps at all.
    assert_eq!((report.users, report.bets, report.matches, report.gaps), (6, 12, 4, 0));
    assert_eq!((report.unflushed, report.dead), (0, 0));
    // A sample sees a part, and nothing wrong in it either.
    let sample = dbsvr::verify::Options { sample: Some(3), seed: Some(42) };
    let sampled = dbsvr::verify::run(&env.redis, &db.pool, sample).await.unwrap();
    assert!(sampled.is_clean());
    assert_eq!((sampled.users, sampled.matches), (3, 3));
    // Every user of the burst bet twice: the bets compared are the sampled users'.
    assert_eq!(sampled.bets, 6);
    assert!(sampled.summary().contains("seed 42"), "{}", sampled.summary());
    let (code, out) = cli(&env, &db, &["verify"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("6 users (with their wallets and ledgers), 12 bets, 4 matches: 0 differences"), "{out}");

    // Tamper: one wallet in MySQL, one bet and one user's ban state in Redis.
    let carol = b.uids["carol"];
    let dave = b.uids["dave"];
    let _: () = env.redis.pool.hset(env.keys().user(dave), ("banned", "1")).await.unwrap();
    sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE uid = ?").bind(carol).execute(&db.pool).await.unwrap();
    tamper_bet(&env, b.uids["alice"], b.winning_bet, |bet| bet.result = Some("lost".into())).await;
    let balance = b.balances["carol"];
    // Each line names the shard the difference is in (an id's shard is the id mod 64).
    let shard = |id: u64| common::shards::of_uid(id);
    let expected = vec![
        format!("user {dave} (shard {}): banned redis=1 mysql=0", shard(dave)),
        format!("wallet {carol} (shard {}): balance redis={balance} mysql={}", shard(carol), balance + 1),
        format!("ledger {carol} (shard {}): mysql sum {balance} != mysql balance {}", shard(carol), balance + 1),
        format!("bet {} (shard {}): state redis=\"lost\" mysql=\"won\"", b.winning_bet, shard(b.winning_bet)),
    ];
    let report = verify(&env, &db).await;
    assert_eq!(report.lines(), expected);
    let (code, out) = cli(&env, &db, &["verify"]).await;
    assert_eq!(code, 1, "{out}");
    for line in &expected {
        assert!(out.lines().any(|l| l == line), "{line:?} not printed:\n{out}");
    }
    assert!(out.contains(": 4 differences, in shard"), "{out}");
    // A sample big enough to hold every id finds them too.
    let (code, out) = cli(&env, &db, &["verify", "--sample", "1000"]).await;
    assert_eq!((code, out.lines().filter(|l| expected.contains(&l.to_string())).count()), (1, 4), "{out}");

    // A record gone from MySQL and a user gone from Redis are named as such.
    sqlx::query("DELETE FROM bets WHERE id = ?")
        .bind(b.first_bet.1["bet_id"].as_u64())
        .execute(&db.pool)
        .await
        .unwrap();
    let _: i64 = env.redis.pool.del(env.keys().user(b.uids["erin"])).await.unwrap();
    // A field of a user's bets that names no bet is named with its user.
    let _: () = env.redis.pool.hset(env.keys().user_bets(dave), ("stray", "x")).await.unwrap();
    let lines = verify(&env, &db).await.lines();
    assert!(
        lines.contains(&format!("user {dave} (shard {}): bets: field \"stray\" is not a bet id", shard(dave))),
        "{lines:?}"
    );
    let (erin, bet) = (b.uids["erin"], b.winning_bet);
    assert!(lines.contains(&format!("user {erin} (shard {}): missing in redis", shard(erin))), "{lines:?}");
    assert!(lines.contains(&format!("bet {bet} (shard {}): missing in mysql", shard(bet))), "{lines:?}");

    // restore refuses a prefix that holds anything.
    let (code, out) = cli(&env, &db, &["restore"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not empty"), "{out}");
    s.stop().await;
}

/// Every key restore is responsible for, read back as JSON, by key name without the prefix
/// (ledger entries decoded, sets and users' bet lists sorted; `uname.reg` left out: it names the
/// registering frame).
async fn state(env: &TestEnv) -> BTreeMap<String, Value> {
    state_of(env, false).await
}

/// [`state`]; `every_pattern`: each key family must be present (a pattern that matches nothing
/// would compare nothing, as after a change of the key shapes).
async fn state_of(env: &TestEnv, every_pattern: bool) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let prefix = env.keys().prefix().to_owned();
    for pattern in [
        "{*}:user:*",
        "{*}:uname:*",
        "{*}:device:*",
        "{*}:wallet:*",
        "{*}:ledger:*",
        "{g}:match:*",
        "{s*}:match:*",
        "{g}:matches:*",
        "{*}:payment:*",
        "{g}:owner:*",
        "{*}:grant:*",
        "{*}:lb:*",
        "{*}:order:*",
        "{*}:orders:*",
        "{g}:staff:*",
        "{g}:staff_names",
        "stats:*",
        "{*}:stats:*",
    ] {
        let keys = env.scan(pattern).await;
        assert!(!every_pattern || !keys.is_empty(), "{pattern} matches no key");
        for key in keys {
            let kind: String = env
                .redis
                .pool
                .custom(
                    fred::types::CustomCommand::new_static("TYPE", fred::types::ClusterHash::FirstKey, false),
                    vec![key.clone()],
                )
                .await
                .unwrap();
            let value = match kind.as_str() {
                "hash" if key.ends_with(":bets") => {
                    // A user's bets: each a record (placed or settled), compared as the bet it
                    // says (restore writes just that: common::bets::Stored).
                    let h: BTreeMap<String, Bytes> = env.redis.pool.hgetall(&key).await.unwrap();
                    let bets: BTreeMap<String, String> = h
                        .into_iter()
                        .map(|(bid, r)| (bid, format!("{:?}", common::bets::Stored::decode(&r).unwrap())))
                        .collect();
                    json!(bets)
                }
                "hash" => {
                    let mut h: BTreeMap<String, String> = env.redis.pool.hgetall(&key).await.unwrap();
                    if pattern == "{*}:uname:*" {
                        h.remove("reg");
                        // A closed account's held name is not restored (docs/operations.md).
                        if h.contains_key("deleted") {
                            continue;
                        }
                    }
                    if pattern == "{*}:user:*" {
                        // What only a frame delivered again reads: the linking frame, the coins a
                        // closing forfeited (MySQL has them in the ledger).
                        h.remove("link");
                        h.remove("forfeited");
                    }
                    if pattern == "{*}:device:*" {
                        h.remove("reg");
                    }
                    json!(h)
                }
                "zset" => {
                    let z: Vec<(String, f64)> =
                        env.redis.pool.zrange(&key, 0, -1, None, false, None, true).await.unwrap();
                    json!(z)
                }
                "set" => {
                    let mut m: Vec<String> = env.redis.pool.smembers(&key).await.unwrap();
                    m.sort();
                    json!(m)
                }
                "list" => {
                    let l: Vec<Bytes> = env.redis.pool.lrange(&key, 0, -1).await.unwrap();
                    let mut entries: Vec<Value> =
                        l.iter().map(|e| rmp_serde::from_slice::<Value>(e).unwrap()).collect();
                    if pattern == "{*}:ledger:*" {
                        // A bet's ledger entries are its placed and settled records: the entry's
                        // fields and the bet's again. Restore writes the entry (the bet is in user:{uid}:bets).
                        for e in &mut entries {
                            if let Value::Object(m) = e {
                                m.retain(|f, _| LEDGER_ENTRY.contains(&f.as_str()));
                            }
                        }
                    }
                    Value::Array(entries)
                }
                "string" => json!(env.redis.pool.get::<String, _>(&key).await.unwrap()),
                other => panic!("{key} is a {other}"),
            };
            out.insert(key.strip_prefix(&prefix).unwrap().to_owned(), value);
        }
    }
    out
}

/// The fields of a ledger entry (docs/architecture.md, `ledger:{uid}`).
const LEDGER_ENTRY: &[&str] = &["id", "uid", "delta", "balance", "reason", "ref", "ts"];

/// Asserts that two states hold the same keys with the same values, naming the keys that differ.
fn assert_same(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let differing: Vec<&String> = keys.into_iter().filter(|k| before.get(*k) != after.get(*k)).collect();
    let detail: Vec<String> = differing
        .iter()
        .take(3)
        .map(|k| format!("{k}:\n  before {:?}\n  after  {:?}", before.get(*k), after.get(*k)))
        .collect();
    assert!(
        differing.is_empty(),
        "{} keys differ: {differing:?}\nfor example:\n{}",
        differing.len(),
        detail.join("\n")
    );
    assert!(before.len() > 10, "the states hold something: {before:?}");
}

#[tokio::test]
async fn restore_into_a_fresh_prefix_verifies_clean_and_clients_log_in_and_bet() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let s = Services::start(&config(&env, &db), true).await;
    let b = burst(&env, &s).await;
    // A match whose result is set while no resultcenter runs: Redis is lost with the job queued.
    s.stop_resultcenter().await;
    let stuck = s.new_match("lol", &["approve", "open"]).await;
    let mut alice = s.stack.client().await;
    alice.login("alice", PW).await;
    // A second market of the open match, with an open bet on it: its record, its match's list of
    // markets, its shard copies, pool, open bets and bettors come back as they were.
    let first_blood = json!({"name": "First blood", "options": [{"key": "a", "label": "A", "odds": 1900}, {"key": "b", "label": "B", "odds": 1900}]});
    let r = s.gm.post(&format!("/api/matches/{}/markets", b.open), OPERATOR, &first_blood).await;
    assert_eq!(r.status, 201, "{r:?}");
    let market = r.body["markets"][1]["match_id"].as_u64().unwrap();
    let r = s.gm.post(&format!("/api/matches/{}/markets/{market}/open", b.open), OPERATOR, &json!({})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut on_market = bet(b.open, "a", 30, "r-market");
    on_market["market_id"] = json!(market);
    let r = alice.call(msg::PLACE_BET, &on_market).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let r = alice.call(msg::PLACE_BET, bet(stuck, "b", 100, "r-stuck")).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let stuck_bet = r.body["bet_id"].as_u64().unwrap();
    s.act(stuck, "start", json!({})).await;
    s.act(stuck, "result", json!({"winner": "b"})).await;
    // A nickname and avatar.
    let r =
        alice.call(msg::SET_PROFILE, json!({"nickname": "Ali", "avatar_url": "https://cdn.test/avatars/a.png"})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    // A deposit order waiting for its payment.
    let r = alice.call(msg::CREATE_ORDER, json!({"amount": 50, "channel": "card"})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    // Personal staff accounts, one changed since.
    s.gm.staff("eve", "admin").await;
    s.gm.staff("vic", "viewer").await;
    let r =
        s.gm.call("PATCH", "/api/staff/vic", Some(ADMIN), Some(&json!({"role": "operator", "disabled": true}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    // A guest, and a closed account.
    let device = json!({"device_id": "recovery-device-0000001"});
    let guest = s.stack.client().await.call(msg::GUEST_LOGIN, &device).await;
    assert_eq!(guest.code(), 0, "{guest:?}");
    let mut gone = s.stack.client().await;
    gone.register("gone", PW).await;
    gone.login("gone", PW).await;
    let r = gone.call(msg::DELETE_ACCOUNT, json!({"password": PW})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    drained(&env, &s.dbsvr).await;
    let before = state_of(&env, true).await;
    let alice_balance = alice.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap();
    drop(alice);
    s.stop().await;

    // Redis is lost: restore into a fresh prefix from MySQL.
    let env2 = TestEnv::new().await;
    let report = dbsvr::restore::run(&env2.redis, &db.pool).await.expect("restore");
    assert_eq!((report.users, report.wallets, report.matches, report.bets, report.open_bets), (8, 8, 6, 14, 2));
    assert_eq!((report.payments, report.grants, report.idempotency, report.settle_jobs), (1, 1, 14, 1));
    assert_eq!(report.warnings, Vec::<String>::new());
    assert!(report.leaderboard_parts >= 3, "the settled matches' boards: {report:?}");
    // Orders: the burst's paid staff order and alice's unpaid one.
    assert_eq!((report.orders, report.profiles, report.staff), (2, 1, 2));
    let text = report.to_string();
    assert!(text.contains("bets            14 (2 open, 14 idempotency records)"), "{text}");
    // The state is what the scripts had built, key for key.
    let after = state(&env2).await;
    assert_same(&before, &after);
    assert!(after.contains_key("{g}:match:ext:feed-42") && after.keys().any(|k| k.ends_with("}:grant:promo-bob-1")));
    // Delayed events for the match that has not started; the stuck settlement is queued again.
    let sched: Vec<(Bytes, f64)> =
        env2.redis.pool.zrange(env2.keys().sched(), 0, -1, None, false, None, true).await.unwrap();
    let events: Vec<(Value, f64)> = sched.iter().map(|(e, t)| (rmp_serde::from_slice(e).unwrap(), *t)).collect();
    let auto_start = json!({"kind": "auto_start", "match_id": b.open});
    assert!(events.contains(&(auto_start, 1_900_000_000_000.0)), "{events:?}");
    assert!(events.iter().all(|(e, _)| e["match_id"] != b.won && e["match_id"] != b.cancelled), "{events:?}");
    let jobs: Vec<Bytes> = env2.redis.pool.lrange(env2.keys().settle(), 0, -1).await.unwrap();
    let job: common::events::SettleJob = rmp_serde::from_slice(&jobs[0]).unwrap();
    assert_eq!((jobs.len(), job.kind.as_str(), job.match_id, job.winner.as_str()), (1, "settle", stuck, "b"));

    let report = verify(&env2, &db).await;
    assert_eq!(report.lines(), Vec::<String>::new(), "{}", report.summary());
    assert_eq!((report.users, report.bets, report.matches), (8, 14, 6));

    // Restore refuses the prefix now that it holds the state.
    let err = dbsvr::restore::run(&env2.redis, &db.pool).await.unwrap_err();
    assert!(format!("{err:#}").contains("is not empty"), "{err:#}");

    // The services on the restored prefix: players log in again and bet; the settlement finishes.
    let cfg2 = config(&env2, &db);
    // (resultcenter later, so that balances hold still until then)
    let s2 = Services::start(&cfg2, false).await;
    let mut c = s2.stack.client().await;
    let login = c.login("alice", PW).await;
    assert_eq!((login["user_id"].as_u64(), login["balance"].as_i64()), (Some(b.uids["alice"]), Some(alice_balance)));
    let mut wrong = s2.stack.client().await;
    let r = wrong.call(msg::LOGIN, json!({"username": "alice", "password": "not-it"})).await;
    assert_eq!(r.code(), 1001);
    let r = wrong.call(msg::REGISTER, json!({"username": "bob", "password": PW})).await;
    assert_eq!(r.code(), 1002, "names are still taken, whatever the case");
    // The guest's device logs in as the guest; the closed account does not log in.
    let again = wrong.call(msg::GUEST_LOGIN, &device).await;
    assert_eq!(again.body["user_id"], guest.body["user_id"], "{again:?}");
    let r = s2.stack.client().await.call(msg::LOGIN, json!({"username": "gone", "password": PW})).await;
    assert_eq!(r.code(), 1001, "{r:?}");
    let newcomer = wrong.register("newcomer", PW).await;
    let shard = common::shards::of_name("newcomer");
    assert_eq!(common::shards::of_uid(newcomer), shard, "a new user is created in its name's shard");
    assert!(
        b.uids.values().all(|&u| u != newcomer && (common::shards::of_uid(u) != shard || u < newcomer)),
        "user ids continue after the restored ones: {newcomer} after {:?}",
        b.uids
    );

    let listed = c.call(msg::LIST_MATCHES, json!({"state": 2})).await;
    let ids: Vec<u64> =
        listed.body["items"].as_array().unwrap().iter().map(|m| m["match_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![b.open]);
    let r = c.call(msg::PLACE_BET, bet(b.open, "a", 100, "r-after-restore")).await;
    assert_eq!(r.code(), 0, "{r:?}");
    // Bet ids continue in the bettor's shard: the stuck bet was alice's last, the highest id there.
    assert_eq!(common::shards::of_uid(stuck_bet), common::shards::of_uid(b.uids["alice"]));
    assert_eq!(
        (r.body["bet_id"].as_u64(), r.body["balance"].as_i64()),
        (Some(stuck_bet + u64::from(common::shards::SHARDS)), Some(alice_balance - 100))
    );
    // A request from before the restore is answered as it was then, and debits nothing.
    let r = c.call(msg::PLACE_BET, &b.first_bet.0).await;
    assert_eq!(r.body, b.first_bet.1);
    assert_eq!(c.call(msg::BALANCE, json!({})).await.body["balance"].as_i64(), Some(alice_balance - 100));
    let mine = c.call(msg::MY_BETS, json!({})).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 5, "{mine:?}");
    let ledger = c.call(msg::LEDGER, json!({"limit": 100})).await;
    let items = ledger.body["items"].as_array().unwrap();
    assert_eq!(items[0]["delta"], -100, "newest first");
    assert_eq!(items.iter().map(|e| e["delta"].as_i64().unwrap()).sum::<i64>(), alice_balance - 100);

    // resultcenter takes the requeued job: alice's bet on the stuck match wins.
    spawn_resultcenter(cfg2.clone(), &s2.resultcenter);
    s2.wait_state(stuck, 9).await;
    let won = c.call(msg::BET_DETAIL, json!({"bet_id": stuck_bet})).await;
    assert_eq!((won.body["state"].as_str(), won.body["payout"].as_i64()), (Some("won"), Some(210)));
    // dbsvr keeps MySQL with the restored Redis.
    drained(&env2, &s2.dbsvr).await;
    let report = verify(&env2, &db).await;
    assert_eq!(report.lines(), Vec::<String>::new(), "{}", report.summary());
    drop((c, wrong));
    s2.stop().await;
}

#[tokio::test]
async fn a_big_book_restores_and_verifies_across_pages_and_samples_find_a_difference_when_they_cover_it() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let book = seed::book(&env.redis, "lol", 1, 600, 5).await.unwrap();
    seed::step(&env.redis, book.match_id, Action::Start, None).await.unwrap();
    seed::step(&env.redis, book.match_id, Action::Result, Some("a")).await.unwrap();
    let shutdown = Shutdown::new();
    let cfg = config(&env, &db);
    spawn_resultcenter(cfg.clone(), &shutdown);
    let stats = spawn_dbsvr(cfg, &shutdown);
    eventually("the book is settled", || async {
        let state: Option<i64> = env.redis.pool.hget(env.keys().match_(book.match_id), "state").await.unwrap();
        (state == Some(9)).then_some(())
    })
    .await;
    drained(&env, &stats).await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);

    let report = verify(&env, &db).await;
    assert_eq!(report.lines(), Vec::<String>::new(), "{}", report.summary());
    assert_eq!((report.users, report.bets, report.matches), (600, 3000, 1));

    let env2 = TestEnv::new().await;
    let restored = dbsvr::restore::run(&env2.redis, &db.pool).await.unwrap();
    assert_eq!(
        (restored.users, restored.bets, restored.ledger_entries),
        (600, 3000, 600 + 3000 + restored_payouts(&book))
    );
    let report = verify(&env2, &db).await;
    assert_eq!(report.lines(), Vec::<String>::new(), "{}", report.summary());
    // (The fixtures count their bets and sign-ups on day 1 whatever their times; restore recounts
    // by the rows' times, so the daily figures are left out here.)
    let figures = |mut s: BTreeMap<String, Value>| {
        s.retain(|k, _| !k.starts_with("stats:"));
        s
    };
    let (before, after) = (figures(state(&env).await), figures(state(&env2).await));
    assert_same(&before, &after);

    // One bet changed: a sample of 50 bets with a seed that misses it says nothing, one that covers
    // every bet finds it.
    let bid = book.bets[1234].bet_id;
    tamper_bet(&env2, book.bets[1234].uid, bid, |bet| bet.payout = Some(1)).await;
    let mut missed = None;
    for seed in 0..100 {
        let opts = dbsvr::verify::Options { sample: Some(50), seed: Some(seed) };
        let r = dbsvr::verify::run(&env2.redis, &db.pool, opts).await.unwrap();
        assert_eq!((r.users, r.bets, r.matches), (50, 250, 1), "50 users and their 5 bets each");
        if r.is_clean() {
            missed = Some(seed);
            break;
        }
    }
    assert!(missed.is_some(), "most samples of 50 out of 600 users miss one user's bet");
    let opts = dbsvr::verify::Options { sample: Some(3000), seed: Some(1) };
    let r = dbsvr::verify::run(&env2.redis, &db.pool, opts).await.unwrap();
    let payout = book.bets[1234].stake * book.bets[1234].odds / 1000;
    let payout = if book.bets[1234].option == "a" { payout } else { 0 };
    assert_eq!(
        r.lines(),
        vec![format!("bet {bid} (shard {}): payout redis=1 mysql={payout}", common::shards::of_uid(bid))]
    );
}

/// Ledger entries the settlement added: one per winning bet.
fn restored_payouts(book: &seed::Book) -> u64 {
    book.bets.iter().filter(|b| b.option == "a").count() as u64
}
