//! Chaos: the whole stack as separate processes (2 connect, 2 logic, gm, resultcenter, pushsvr,
//! dbsvr) on a private Redis (appendonly, fsync always) and MySQL behind a TCP proxy, under a steady
//! mixed load — players sign up, log in, bet and read balances; staff grant coins, take payments,
//! and run matches to a result, a no-result or a cancel — while processes are SIGKILLed and
//! started again, Redis is killed and restarted once, MySQL is cut off for a while and a connect
//! node is killed (its players move to the others).
//!
//! Players and staff behave like good clients: a request is sent again (same `req_id`, same staff
//! request id, same payment order, same external match id) until it is answered. Afterwards,
//! every answer is held against both stores:
//! - every bet answered 0 exists, once, with its stake, option and odds; no other bet exists;
//! - every grant and payment answered 200 is credited once; no other is;
//! - each balance is exactly signup grant + grants + payments − stakes + payouts, where payouts
//!   follow from the match outcomes the staff set (conservation, user by user and in sum);
//! - every bet is settled once (one payout or refund ledger record, none for a lost bet);
//! - `matchday verify` finds no difference between Redis and MySQL, nothing waits in a queue,
//!   an inflight list or a dead list.
//!
//! The second runs the same on a private Redis Cluster with `redis.wait_replicas = 1`, where two
//! primaries are SIGKILLed in turn and their replicas take over (issue 20's failover chaos).
//!
//! The third is a rolling restart: each role in turn gets SIGTERM, must exit 0 within the
//! grace period and is replaced, under the same load and the same checks.
//!
//! Length and faults are parameters (environment): CHAOS_SECS (default 40), CHAOS_KILLS (8; 4 on
//! the cluster), CHAOS_PLAYERS (12), CHAOS_MYSQL_OUTAGE_SECS (3), CHAOS_FAILOVERS (2, the cluster's).
//! The long form in docs/reliability.md:
//! `CHAOS_SECS=600 CHAOS_KILLS=60 cargo test --release --test it chaos:: -- --nocapture`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{BIN, GRACE};
use fred::prelude::*;
use nix::sys::signal::Signal;
use protocol::msg;
use rand::Rng;
use serde_json::{Value, json};
use test_support::http::{CURRENCY, signed_payment};
use test_support::matchday_client::{self, gm::Request};
use test_support::player::{Nodes, Player, Trouble};
use test_support::process::Process;
use test_support::proxy::Proxy;
use test_support::redis_cluster::RedisCluster;
use test_support::redis_server::RedisServer;
use test_support::{ADMIN, TestDb, TestEnv};
use tokio::time::Instant;

const PW: &str = "chaos-password";
/// How long the end waits for the system to finish what it holds.
const SETTLE_DEADLINE: Duration = Duration::from_secs(180);
/// Options of every match: a at 1.85, b at 2.133.
const ODDS: [(&str, i64); 2] = [("a", 1850), ("b", 2133)];
const WELCOME: i64 = 5_000;

fn param(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_kills_restarts_and_outages_every_answer_holds_and_no_coin_is_made_or_lost() {
    let secs = param("CHAOS_SECS", 40);
    let kills = param("CHAOS_KILLS", 8);
    let players = param("CHAOS_PLAYERS", 12) as usize;
    let outage = Duration::from_secs(param("CHAOS_MYSQL_OUTAGE_SECS", 3));
    // The faults, spread over the run: kills evenly from 10 % to 85 %; Redis at 30 %; MySQL at 50 %;
    // a connect node at 70 %.
    let mut plan: Vec<(f64, Fault)> =
        (0..kills).map(|k| (0.10 + 0.75 * k as f64 / kills.max(1) as f64, Fault::Kill(k))).collect();
    plan.extend([(0.30, Fault::Redis), (0.50, Fault::Mysql(outage)), (0.70, Fault::Connect)]);
    scenario(secs, players, plan).await;
}

/// The same on a private Redis Cluster (3 primaries, 3 replicas, `redis.wait_replicas = 1`): under
/// the load, the primary holding the group's queue is SIGKILLed and its replica takes over, later
/// another primary likewise (each old primary rejoins as a replica once its replica has taken over);
/// processes are killed as above and a connect node too. Every check of the chaos test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_redis_cluster_primaries_fail_over_under_load_and_every_answer_holds() {
    let secs = param("CHAOS_SECS", 40);
    let kills = param("CHAOS_KILLS", 4);
    let players = param("CHAOS_PLAYERS", 12) as usize;
    let failovers = param("CHAOS_FAILOVERS", 2);
    let mut plan: Vec<(f64, Fault)> =
        (0..kills).map(|k| (0.10 + 0.75 * k as f64 / kills.max(1) as f64, Fault::Kill(k))).collect();
    // Failovers from 25 % to 75 %, the queue's primary first, then another, in turn.
    plan.extend((0..failovers).map(|f| (0.25 + 0.5 * f as f64 / failovers.max(1) as f64, Fault::Failover(f % 2))));
    plan.push((0.70, Fault::Connect));
    scenario_on(Backend::Cluster(RedisCluster::start().await), secs, players, plan).await;
}

/// Graceful drain, every role: under the same load, each process in turn gets SIGTERM (a connect
/// node is first taken off the players' list, as a load balancer drains it), must exit 0 within the
/// grace period, and is replaced; then every check of the chaos test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_every_process_under_load_loses_nothing() {
    let roles = ["connect", "logic", "gm", "resultcenter", "pushsvr", "dbsvr", "connect", "logic"];
    let plan =
        roles.iter().enumerate().map(|(i, r)| (0.1 + 0.8 * i as f64 / roles.len() as f64, Fault::Term(r))).collect();
    scenario(30, 8, plan).await;
}

/// Runs the stack under the load for `secs`, applying `plan` (faults at fractions of the run),
/// then checks everything the module docs list.
async fn scenario(secs: u64, players: usize, plan: Vec<(f64, Fault)>) {
    scenario_on(Backend::Single(Box::new(RedisServer::start().await)), secs, players, plan).await;
}

/// Where the run's Redis is.
enum Backend {
    /// One private redis-server (AOF, fsync always).
    Single(Box<RedisServer>),
    /// A private Redis Cluster; the processes wait for a replica before answering a change.
    Cluster(RedisCluster),
}

/// [`scenario`] on `backend`.
async fn scenario_on(mut backend: Backend, secs: u64, players: usize, mut plan: Vec<(f64, Fault)>) {
    let url = match &backend {
        Backend::Single(redis) => redis.url(),
        Backend::Cluster(cluster) => cluster.url(),
    };
    let env = TestEnv::on(&url).await;
    let db = TestDb::new().await;
    let mysql = Arc::new(Proxy::start(mysql_addr()).await);
    let db_name = db.url.rsplit('/').next().expect("database name").to_owned();
    let mysql_url = format!("mysql://root@{}/{db_name}", mysql.addr);
    let mut extra = vec![("MATCHDAY__MYSQL__URL".to_owned(), mysql_url)];
    if matches!(backend, Backend::Cluster(_)) {
        extra.push(("MATCHDAY__REDIS__WAIT_REPLICAS".to_owned(), "1".to_owned()));
    }
    let mut fleet = Fleet { env: &env, extra, procs: Vec::new(), nodes: Nodes::default(), gm: String::new() };
    for role in ["connect", "connect", "logic", "logic", "gm", "resultcenter", "pushsvr", "dbsvr"] {
        fleet.start(role).await;
    }

    let world = Arc::new(World { stop: AtomicBool::new(false), open: Mutex::new(Vec::new()), log: Mutex::default() });
    let staff = Staff { base: Arc::new(Mutex::new(fleet.gm.clone())), world: world.clone() };
    let started = Instant::now();
    let staff_task = tokio::spawn(run_staff(staff.clone()));
    let mut player_tasks = Vec::new();
    for i in 0..players {
        player_tasks.push(tokio::spawn(run_player(i, staff.clone(), fleet.nodes.clone())));
    }

    plan.sort_by(|a, b| a.0.total_cmp(&b.0));
    let faults = Arc::new(Mutex::new(Vec::new()));
    let note = move |faults: &Mutex<Vec<String>>, what: String| {
        faults.lock().expect("faults").push(format!("{:6.1}s {what}", started.elapsed().as_secs_f64()))
    };
    let mut mysql_back = None;
    for (at, fault) in plan {
        tokio::time::sleep_until(started + Duration::from_secs_f64(secs as f64 * at)).await;
        let what = match fault {
            Fault::Kill(k) => {
                let role = ["logic", "dbsvr", "resultcenter", "logic", "pushsvr"][k as usize % 5];
                fleet.kill_and_replace(role).await;
                format!("SIGKILL {role}, started another")
            }
            Fault::Redis => {
                let Backend::Single(redis) = &mut backend else { panic!("Fault::Redis is for one Redis") };
                redis.kill().await;
                tokio::time::sleep(Duration::from_secs(1)).await; // Redis stays down a moment
                redis.restart().await;
                "SIGKILL redis-server, restarted it on its AOF".to_owned()
            }
            Fault::Failover(n) => {
                let Backend::Cluster(cluster) = &mut backend else { panic!("Fault::Failover is for a cluster") };
                fail_over(cluster, &env, n).await
            }
            Fault::Mysql(outage) => {
                mysql.cut();
                let (mysql, faults) = (mysql.clone(), faults.clone());
                mysql_back = Some(tokio::spawn(async move {
                    tokio::time::sleep(outage).await;
                    mysql.restore();
                    note(&faults, "MySQL back".to_owned());
                }));
                format!("MySQL cut off for {outage:?}")
            }
            Fault::Connect => {
                fleet.kill_connect().await;
                "SIGKILL a connect node (its players move), started another".to_owned()
            }
            Fault::Term(role) => {
                fleet.term_and_replace(role).await;
                if role == "gm" {
                    *staff.base.lock().expect("gm address") = fleet.gm.clone();
                }
                format!("SIGTERM {role} (exited 0), started another")
            }
        };
        note(&faults, what);
    }
    tokio::time::sleep_until(started + Duration::from_secs(secs)).await;
    if let Some(back) = mysql_back {
        back.await.expect("MySQL restore task");
    }
    let faults = std::mem::take(&mut *faults.lock().expect("faults"));

    // Stop the load: every request in flight is answered first.
    world.stop.store(true, Ordering::SeqCst);
    let mut trouble = Vec::new();
    for t in player_tasks {
        trouble.push(t.await.expect("player task").expect("a player gave up"));
    }
    let outcomes = staff_task.await.expect("staff task").expect("staff gave up");
    let load_secs = started.elapsed().as_secs_f64();

    // The system finishes what it holds (a match that does not is shown with every process's log).
    for &mid in outcomes.keys() {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            let (_, m) = staff.send("GET", &format!("/api/matches/{mid}"), None).await;
            if matches!(m["state"].as_i64(), Some(8 | 9)) {
                break;
            }
            if Instant::now() > deadline {
                let settle = env.queued(&env.keys().settle()).await;
                panic!(
                    "match {mid} is not paid out or refunded after {SETTLE_DEADLINE:?}: {m}\n{settle} settle jobs queued or \
                     in flight; faults:\n{}\n{}",
                    faults.join("\n"),
                    fleet.tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let k = env.keys();
    let queues = [vec![k.c2l(env.cfg.node.group), k.settle()], k.notifies(), k.outboxes()].concat();
    for q in &queues {
        wait(&format!("{q} and its inflight lists are empty"), || async { (env.queued(q).await == 0).then_some(()) })
            .await;
    }

    let log = std::mem::take(&mut *world.log.lock().expect("log"));
    let mut differences = Vec::new();
    check_against_redis(&env, &log, &outcomes, &mut differences).await;
    check_against_mysql(&env, &db, &log, &outcomes, &mut differences).await;
    let report = dbsvr::verify::run(&env.redis, &db.pool, dbsvr::verify::Options::default()).await.expect("verify");
    for d in &report.differences {
        differences.push(format!("verify: {d}"));
    }
    if report.unflushed != 0 || report.dead != 0 {
        differences.push(format!("verify: {} records unflushed, {} dead", report.unflushed, report.dead));
    }
    for key in env.scan("q:dead:*").await {
        let n = env.llen(&key).await;
        if n > 0 {
            differences.push(format!("{key} holds {n} frame(s)"));
        }
    }
    for key in env.scan("q:l2c:*").await.into_iter().chain(env.scan("q:push:*").await) {
        let n = env.llen(&key).await;
        if n > 0 {
            differences.push(format!("{key} holds {n} undelivered frame(s)"));
        }
    }

    let bets_ok = log.bets.iter().filter(|b| b.code == 0).count();
    let total: Trouble = trouble.iter().fold(Trouble::default(), |mut t, p| {
        t.reconnects += p.reconnects;
        t.resends += p.resends;
        t.relogins += p.relogins;
        for (c, n) in &p.retried {
            *t.retried.entry(*c).or_default() += n;
        }
        t
    });
    println!("chaos: {load_secs:.0} s of load, {players} players, {} faults:", faults.len());
    for f in &faults {
        println!("  {f}");
    }
    println!(
        "chaos: requests answered: {} bets ({bets_ok} accepted, others refused by code: {:?}), {} sign-ups, {} logins, \
         {} balance reads; staff: {} grants, {} payments, {} matches ({:?})",
        log.bets.len(),
        refusals(&log),
        log.signups.len(),
        log.logins,
        log.balance_reads,
        log.grants.len(),
        log.payments.len(),
        outcomes.len(),
        outcome_counts(&outcomes),
    );
    println!(
        "chaos: players rode out {} reconnects, {} resends, {} re-logins, retry answers {:?}; staff retried {} calls",
        total.reconnects, total.resends, total.relogins, total.retried, log.staff_retries
    );
    println!("chaos: differences found: {}", differences.len());
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}\n\nprocess output (tail):\n{}",
        differences.len(),
        differences.join("\n"),
        fleet.tails()
    );
    assert!(bets_ok > 0 && outcomes.len() >= 2, "the load did too little to prove anything: {bets_ok} bets");
    fleet.stop().await;
}

enum Fault {
    /// SIGKILL the k-th victim (roles in turn) and start another.
    Kill(u64),
    /// SIGKILL redis-server, restart it on its AOF.
    Redis,
    /// Cut MySQL off for this long.
    Mysql(Duration),
    /// SIGKILL a connect node; its players move to the others.
    Connect,
    /// SIGTERM a process of the role; it must exit 0 in the grace period. Start another.
    Term(&'static str),
    /// SIGKILL a primary of the cluster (0: the one holding the group's queue; 1: another one) and
    /// let its replica take over; the old primary rejoins as a replica.
    Failover(u64),
}

/// Fault::Failover(n); returns what was done, with how long the takeover took.
async fn fail_over(cluster: &mut RedisCluster, env: &TestEnv, n: u64) -> String {
    let queue_slot = common::shards::slot(&env.keys().c2l(env.cfg.node.group));
    let queue_primary = cluster.primary_of(queue_slot).await;
    let (victim, slot, what) = if n == 0 {
        (queue_primary, queue_slot, "the primary of the group's queue")
    } else {
        let nodes = cluster.nodes().await;
        let other = nodes
            .iter()
            .find(|x| x.primary && !x.failed && x.port != queue_primary && !x.slots.is_empty())
            .expect("another primary");
        (other.port, other.slots[0].0, "a primary of user shards")
    };
    let killed = Instant::now();
    cluster.kill(victim).await;
    let promoted = cluster.wait_failover(victim, slot).await;
    let took = killed.elapsed().as_secs_f64();
    cluster.restart_as_replica(victim).await;
    format!(
        "SIGKILL {what} (port {victim}); its replica (port {promoted}) took over in {took:.1}s; the old primary \
         rejoined as a replica"
    )
}

/// What the players and staff were answered.
#[derive(Default)]
struct Log {
    /// uid → username of every sign-up.
    signups: BTreeMap<u64, String>,
    bets: Vec<BetRecord>,
    /// Grants answered 200: request id → (uid, amount).
    grants: BTreeMap<String, (u64, i64)>,
    /// Payments answered 200: order id → (uid, amount).
    payments: BTreeMap<String, (u64, i64)>,
    logins: u64,
    balance_reads: u64,
    staff_retries: u64,
}

struct BetRecord {
    uid: u64,
    req_id: String,
    mid: u64,
    option: &'static str,
    stake: i64,
    code: u16,
    bet_id: u64,
    odds: i64,
}

/// How a match ended: the winning option, or None for a refund (cancel or no result).
type Outcomes = BTreeMap<u64, Option<&'static str>>;

struct World {
    stop: AtomicBool,
    /// Matches open for betting.
    open: Mutex<Vec<u64>>,
    log: Mutex<Log>,
}

/// One player: sign up (and a welcome grant from staff), then bets on open matches, with a
/// balance read every 10th step and a fresh login every 25th, until told to stop.
async fn run_player(i: usize, staff: Staff, nodes: Nodes) -> anyhow::Result<Trouble> {
    let world = staff.world.clone();
    let name = format!("chaos{i}");
    let mut p = Player::new(&name, PW, nodes, i);
    let uid = p.sign_up().await?;
    world.log.lock().expect("log").signups.insert(uid, name.clone());
    staff.grant(uid, WELCOME, &format!("welcome-{uid}")).await;
    let mut step = 0u64;
    while !world.stop.load(Ordering::SeqCst) {
        step += 1;
        if step.is_multiple_of(25) {
            p.log_in().await?;
            world.log.lock().expect("log").logins += 1;
        } else if step.is_multiple_of(10) {
            let a = p.call(msg::BALANCE, json!({})).await?;
            anyhow::ensure!(a.code == 0, "balance: {a:?}");
            world.log.lock().expect("log").balance_reads += 1;
        } else {
            let Some((mid, option, stake)) = pick_bet(&world) else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let req_id = format!("{name}-{step}");
            let body = json!({ "match_id": mid, "option": option, "stake": stake, "odds_ver": 1, "req_id": req_id });
            let a = p.call(msg::PLACE_BET, body).await?;
            let bet_id = a.body["bet_id"].as_u64().unwrap_or(0);
            let odds = a.body["odds"].as_i64().unwrap_or(0);
            world.log.lock().expect("log").bets.push(BetRecord {
                uid,
                req_id,
                mid,
                option,
                stake,
                code: a.code,
                bet_id,
                odds,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.close().await;
    Ok(p.trouble)
}

/// An open match, an option and a stake, at random; None while no match is open.
fn pick_bet(world: &World) -> Option<(u64, &'static str, i64)> {
    let open = world.open.lock().expect("open");
    let mut rng = rand::rng();
    let mid = *open.get(rng.random_range(0..open.len().max(1)))?;
    Some((mid, ODDS[rng.random_range(0..2)].0, rng.random_range(1..=40)))
}

/// Staff: keeps two matches open; every 3 s takes the oldest to a result (3 in 5), a no-result
/// or a cancel, and opens another; grants coins and takes a payment every few ticks. At the stop,
/// ends every match it opened; returns how each ended.
async fn run_staff(staff: Staff) -> anyhow::Result<Outcomes> {
    let world = staff.world.clone();
    let mut outcomes = Outcomes::new();
    let mut opened_at: Vec<(u64, Instant)> = Vec::new();
    let mut tick = 0u64;
    let mut next_match = 0u64;
    while !world.stop.load(Ordering::SeqCst) {
        tick += 1;
        while opened_at.len() < 2 {
            next_match += 1;
            let mid = staff.open_match(&format!("chaos-{next_match}")).await;
            opened_at.push((mid, Instant::now()));
            world.open.lock().expect("open").push(mid);
        }
        if opened_at[0].1.elapsed() > Duration::from_secs(3) {
            let (mid, _) = opened_at.remove(0);
            outcomes.insert(mid, staff.end_match(mid, next_match).await);
        }
        let uids: Vec<u64> = world.log.lock().expect("log").signups.keys().copied().collect();
        if !uids.is_empty() {
            let uid = uids[rand::rng().random_range(0..uids.len())];
            if tick.is_multiple_of(3) {
                staff.grant(uid, 100, &format!("grant-{tick}")).await;
            } else if tick.is_multiple_of(7) {
                staff.pay(uid, 250).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (mid, _) in opened_at {
        outcomes.insert(mid, staff.end_match(mid, 2).await);
    }
    Ok(outcomes)
}

/// A request body and its extra headers.
type Body<'a> = (&'a [u8], &'a [(&'a str, String)]);

/// gm over HTTP, as a careful staff tool: a call that gets no answer or a 5xx is sent again.
#[derive(Clone)]
struct Staff {
    /// gm's address (it changes when gm is restarted).
    base: Arc<Mutex<String>>,
    /// Where answers are written down (and retries counted).
    world: Arc<World>,
}

impl Staff {
    /// Sends until answered with a status below 500; returns status and body.
    async fn send(&self, method: &str, path: &str, body: Option<Body<'_>>) -> (u16, Value) {
        let started = Instant::now();
        loop {
            let base = self.base.lock().expect("gm address").clone();
            let gm = matchday_client::Gm::new(&base).with_token(ADMIN).with_timeout(Duration::from_secs(5));
            let mut req = Request::new(method, path);
            if let Some((bytes, headers)) = body {
                req = req.bytes(bytes.to_vec()).header("content-type", "application/json".into());
                for (k, v) in headers {
                    req = req.header(k, v.clone());
                }
            }
            let answer = gm.send(req).await.ok().map(|res| (res.status, res.text));
            match answer {
                Some((status, text)) if status < 500 => {
                    return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
                }
                other => {
                    assert!(
                        started.elapsed() < test_support::player::GIVE_UP,
                        "gm {method} {path}: no answer: {other:?}"
                    );
                    self.world.log.lock().expect("log").staff_retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.send("POST", path, Some((&bytes, &[]))).await
    }

    /// Creates match `external_id` by import (a repeat creates nothing), approves and opens it.
    async fn open_match(&self, external_id: &str) -> u64 {
        let spec = json!({"matches": [{
            "external_id": external_id, "type": "lol", "title": external_id, "teams": ["Blue", "Red"],
            "start_at": 1_900_000_000_000u64, "min_stake": 1, "max_stake": 1000,
            "options": [{"key": "a", "label": "Blue", "odds": ODDS[0].1}, {"key": "b", "label": "Red", "odds": ODDS[1].1}],
        }]});
        let (status, body) = self.post("/api/matches/import", spec).await;
        assert_eq!(status, 200, "import: {body}");
        let mid = body["items"][0]["match_id"].as_u64().expect("match_id");
        self.act(mid, "approve", json!({}), &[0, 2]).await;
        self.act(mid, "open", json!({}), &[2]).await;
        mid
    }

    /// Takes match `mid` off the open list and ends it: a cancel, a no-result or a result.
    async fn end_match(&self, mid: u64, n: u64) -> Option<&'static str> {
        self.world.open.lock().expect("open").retain(|m| *m != mid);
        match n % 5 {
            0 => {
                self.act(mid, "cancel", json!({}), &[6, 8]).await;
                None
            }
            1 => {
                self.act(mid, "start", json!({}), &[1]).await;
                self.act(mid, "result", json!({"winner": null}), &[7, 8]).await;
                None
            }
            _ => {
                let winner = ODDS[rand::rng().random_range(0..2)].0;
                self.act(mid, "start", json!({}), &[1]).await;
                self.act(mid, "result", json!({ "winner": winner }), &[3, 4, 9]).await;
                Some(winner)
            }
        }
    }

    /// A lifecycle action; a 409 is fine when the match is already where the action leads (an
    /// earlier attempt got through and its answer was lost).
    async fn act(&self, mid: u64, action: &str, body: Value, lands_in: &[i64]) {
        let (status, reply) = self.post(&format!("/api/matches/{mid}/{action}"), body).await;
        if status == 200 {
            return;
        }
        let (_, m) = self.send("GET", &format!("/api/matches/{mid}"), None).await;
        let state = m["state"].as_i64().unwrap_or(i64::MIN);
        assert!(
            status == 409 && lands_in.contains(&state),
            "{action} match {mid}: {status} {reply}; the match is in {state}"
        );
    }

    async fn grant(&self, uid: u64, amount: i64, request_id: &str) {
        let body = json!({"amount": amount, "reason": "chaos", "request_id": request_id});
        let (status, reply) = self.post(&format!("/api/users/{uid}/grant"), body).await;
        assert_eq!(status, 200, "grant {request_id}: {reply}");
        self.world.log.lock().expect("log").grants.insert(request_id.to_owned(), (uid, amount));
    }

    /// A staff order, then the provider's callback for it (the log keeps it under the order's id).
    async fn pay(&self, uid: u64, amount: i64) {
        let order = json!({"user_id": uid, "amount": amount, "channel": "bank", "reason": "chaos"});
        let (status, made) = self.post("/api/orders", order).await;
        assert_eq!(status, 201, "order for user {uid}: {made}");
        let order_id = made["order_id"].as_str().expect("an order id");
        let paid = json!({"order_id": order_id, "user_id": uid, "amount": amount, "currency": CURRENCY});
        let (bytes, signature) = signed_payment(&paid);
        let headers = [("x-signature", signature)];
        let (status, reply) = self.send("POST", "/api/payments/callback", Some((&bytes, &headers))).await;
        assert_eq!(status, 200, "payment {order_id}: {reply}");
        self.world.log.lock().expect("log").payments.insert(order_id.to_owned(), (uid, amount));
    }
}

/// The processes of the run.
struct Fleet<'a> {
    env: &'a TestEnv,
    /// Settings for every process (environment): MySQL's address, the wait for replicas.
    extra: Vec<(String, String)>,
    procs: Vec<Process>,
    /// connect nodes' addresses, shared with the players.
    nodes: Nodes,
    gm: String,
}

impl Fleet<'_> {
    async fn start(&mut self, role: &str) {
        let extra: Vec<(&str, &str)> = self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let p = Process::spawn(BIN, self.env, role, &extra);
        let fields = p.ready(self.env).await;
        match role {
            "connect" => self.nodes.lock().expect("nodes").push(fields["listen"].parse().expect("connect's address")),
            "gm" => self.gm = format!("http://{}", fields["listen"]),
            _ => {}
        }
        self.procs.push(p);
    }

    /// SIGKILLs the oldest process of `role` and starts another.
    async fn kill_and_replace(&mut self, role: &str) {
        let i = self.procs.iter().position(|p| p.role == role).expect("a process of the role");
        let mut p = self.procs.remove(i);
        p.signal(Signal::SIGKILL);
        p.exited(Duration::from_secs(10)).await;
        self.start(role).await;
    }

    /// SIGTERMs the oldest process of `role` (a connect node is first taken off the players' list),
    /// checks it exits 0 within the grace period, and starts another.
    async fn term_and_replace(&mut self, role: &str) {
        let i = self.procs.iter().position(|p| p.role == role).expect("a process of the role");
        let mut p = self.procs.remove(i);
        if role == "connect" {
            self.nodes.lock().expect("nodes").remove(0);
        }
        p.signal(Signal::SIGTERM);
        let status = p.exited(GRACE).await;
        assert!(status.success(), "{role} exited with {status} on SIGTERM; its output:\n{}", p.output());
        self.start(role).await;
    }

    /// SIGKILLs the oldest connect node, takes it off the players' list, and starts another.
    async fn kill_connect(&mut self) {
        self.nodes.lock().expect("nodes").remove(0);
        self.kill_and_replace("connect").await;
    }

    fn tails(&self) -> String {
        let mut out = String::new();
        for p in &self.procs {
            let text = p.output();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "--- {} {}\n{}\n",
                p.role,
                p.node_id,
                lines[lines.len().saturating_sub(20)..].join("\n")
            ));
        }
        out
    }

    async fn stop(mut self) {
        for p in &self.procs {
            p.signal(Signal::SIGTERM);
        }
        for p in &mut self.procs {
            p.exited(GRACE).await;
        }
    }
}

/// Polls `check` until Some, for at most [`SETTLE_DEADLINE`].
async fn wait<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + SETTLE_DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a player should hold: the signup grant, grants and payments answered 200, less every
/// stake answered 0, plus what each of those bets paid by its match's outcome.
fn expected_balances(env: &TestEnv, log: &Log, outcomes: &Outcomes) -> BTreeMap<u64, i64> {
    let mut want: BTreeMap<u64, i64> = log.signups.keys().map(|&uid| (uid, env.cfg.logic.signup_grant)).collect();
    for (uid, amount) in log.grants.values().chain(log.payments.values()) {
        *want.entry(*uid).or_default() += amount;
    }
    for b in log.bets.iter().filter(|b| b.code == 0) {
        *want.entry(b.uid).or_default() += payout(b, outcomes) - b.stake;
    }
    want
}

/// floor(stake × odds / 1000) for a winning bet, the stake for a refunded one, 0 for a lost one.
fn payout(b: &BetRecord, outcomes: &Outcomes) -> i64 {
    match outcomes.get(&b.mid) {
        Some(None) => b.stake,
        Some(Some(winner)) if *winner == b.option => b.stake * b.odds / 1000,
        _ => 0,
    }
}

async fn check_against_redis(env: &TestEnv, log: &Log, outcomes: &Outcomes, diffs: &mut Vec<String>) {
    let k = env.keys();
    let pool = &env.redis.pool;
    for (uid, want) in expected_balances(env, log, outcomes) {
        let have: Option<i64> = pool.hget(k.wallet(uid), "balance").await.expect("HGET");
        if have != Some(want) {
            diffs.push(format!("redis: user {uid} holds {have:?}, the answers say {want}"));
        }
        let acked: HashSet<u64> = log.bets.iter().filter(|b| b.uid == uid && b.code == 0).map(|b| b.bet_id).collect();
        let stored: Vec<u64> = pool.hkeys(k.user_bets(uid)).await.expect("HKEYS");
        let stored: HashSet<u64> = stored.into_iter().collect();
        for bid in stored.difference(&acked) {
            diffs.push(format!("redis: user {uid} has bet {bid} that no answer accepted"));
        }
        for bid in acked.difference(&stored) {
            diffs.push(format!("redis: user {uid} was answered bet {bid}, which is missing"));
        }
    }
    for b in log.bets.iter().filter(|b| b.code == 0) {
        let bet = common::bets::of_user(&env.redis, b.uid, b.bet_id).await.expect("HGET");
        let h: HashMap<String, String> = bet.map_or_else(HashMap::new, |s| {
            let mut h = HashMap::from([
                ("uid".to_owned(), s.uid.to_string()),
                ("stake".to_owned(), s.stake.to_string()),
                ("option".to_owned(), s.option.clone()),
                ("state".to_owned(), s.state().to_owned()),
            ]);
            if let Some(p) = s.payout {
                h.insert("payout".to_owned(), p.to_string());
            }
            h
        });
        let want_state = match outcomes.get(&b.mid) {
            Some(None) => "refunded",
            Some(Some(w)) if *w == b.option => "won",
            _ => "lost",
        };
        let fields = [
            ("uid", b.uid.to_string()),
            ("stake", b.stake.to_string()),
            ("option", b.option.to_owned()),
            ("state", want_state.into()),
        ];
        for (f, want) in fields {
            if h.get(f) != Some(&want) {
                diffs.push(format!("redis: bet {} ({}) has {f}={:?}, want {want}", b.bet_id, b.req_id, h.get(f)));
            }
        }
        let payout_have = h.get("payout").and_then(|p| p.parse::<i64>().ok());
        if payout_have != Some(payout(b, outcomes)) {
            diffs.push(format!("redis: bet {} paid {payout_have:?}, want {}", b.bet_id, payout(b, outcomes)));
        }
    }
}

async fn check_against_mysql(env: &TestEnv, db: &TestDb, log: &Log, outcomes: &Outcomes, diffs: &mut Vec<String>) {
    let want = expected_balances(env, log, outcomes);
    let wallets: Vec<(u64, i64)> =
        sqlx::query_as("SELECT uid, balance FROM wallets").fetch_all(&db.pool).await.expect("wallets");
    let wallets: BTreeMap<u64, i64> = wallets.into_iter().collect();
    for (uid, w) in &want {
        if wallets.get(uid) != Some(w) {
            diffs.push(format!("mysql: user {uid} holds {:?}, the answers say {w}", wallets.get(uid)));
        }
    }
    // Conservation over everything MySQL holds: balances + stakes kept by the house − payouts
    // = signup grants + grants + payments, all from the answers.
    let funded: i64 = want.len() as i64 * env.cfg.logic.signup_grant
        + log.grants.values().chain(log.payments.values()).map(|(_, a)| a).sum::<i64>();
    let (stakes, paid): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT CAST(SUM(stake) AS SIGNED), CAST(SUM(COALESCE(payout, 0)) AS SIGNED) FROM bets")
            .fetch_one(&db.pool)
            .await
            .expect("bets sums");
    let held: i64 = wallets.values().sum();
    if held + stakes.unwrap_or(0) - paid.unwrap_or(0) != funded {
        diffs.push(format!(
            "mysql: balances {held} + stakes {stakes:?} − payouts {paid:?} ≠ funded {funded} (signup grants, grants, payments)"
        ));
    }

    let bets: Vec<(u64, u64, String, i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, uid, option_key, stake, state, payout FROM bets")
            .fetch_all(&db.pool)
            .await
            .expect("bets");
    let acked: HashMap<u64, &BetRecord> = log.bets.iter().filter(|b| b.code == 0).map(|b| (b.bet_id, b)).collect();
    let stored: HashSet<u64> = bets.iter().map(|b| b.0).collect();
    for (id, uid, option, stake, _, payout_have) in &bets {
        match acked.get(id) {
            None => diffs.push(format!("mysql: bet {id} of user {uid} was never accepted by an answer")),
            Some(b)
                if (b.uid, b.option, b.stake, Some(payout(b, outcomes)))
                    != (*uid, option.as_str(), *stake, *payout_have) =>
            {
                diffs.push(format!(
                    "mysql: bet {id} is {uid}/{option}/{stake} paid {payout_have:?}; answered {}/{}/{}",
                    b.uid, b.option, b.stake
                ));
            }
            Some(_) => {}
        }
    }
    for id in acked.keys().filter(|id| !stored.contains(id)) {
        diffs.push(format!("mysql: accepted bet {id} is missing"));
    }

    // Each bet debited once and settled once: one "bet" ledger record, and one payout or refund
    // record when it paid anything.
    let ledger: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT reason, ref, delta FROM ledger").fetch_all(&db.pool).await.expect("ledger");
    let mut per_bet: HashMap<(String, String), u32> = HashMap::new();
    for (reason, reference, _) in &ledger {
        if matches!(reason.as_str(), "bet" | "payout" | "refund") {
            *per_bet.entry((reason.clone(), reference.clone())).or_default() += 1;
        }
    }
    for b in acked.values() {
        let id = b.bet_id.to_string();
        let debits = per_bet.get(&("bet".to_owned(), id.clone())).copied().unwrap_or(0);
        let credits = ["payout", "refund"]
            .iter()
            .map(|r| per_bet.get(&((*r).to_owned(), id.clone())).copied().unwrap_or(0))
            .sum::<u32>();
        let want_credits = u32::from(payout(b, outcomes) > 0);
        if debits != 1 || credits != want_credits {
            diffs.push(format!(
                "mysql ledger: bet {id} debited {debits}×, credited {credits}× (want 1×, {want_credits}×)"
            ));
        }
    }

    let grants: Vec<(String, u64, i64)> =
        sqlx::query_as("SELECT request_id, uid, amount FROM grant_requests").fetch_all(&db.pool).await.expect("grants");
    let grants: BTreeMap<String, (u64, i64)> = grants.into_iter().map(|(r, u, a)| (r, (u, a))).collect();
    if grants != log.grants {
        diffs.push(format!(
            "mysql: grant requests differ from the answered grants: {} stored, {} answered",
            grants.len(),
            log.grants.len()
        ));
    }
    let payments: Vec<(String, u64, i64)> =
        sqlx::query_as("SELECT order_id, uid, amount FROM payments").fetch_all(&db.pool).await.expect("payments");
    let payments: BTreeMap<String, (u64, i64)> = payments.into_iter().map(|(r, u, a)| (r, (u, a))).collect();
    if payments != log.payments {
        diffs.push(format!(
            "mysql: payments differ from the answered ones: {} stored, {} answered",
            payments.len(),
            log.payments.len()
        ));
    }
}

fn refusals(log: &Log) -> BTreeMap<u16, u64> {
    let mut by_code = BTreeMap::new();
    for b in log.bets.iter().filter(|b| b.code != 0) {
        *by_code.entry(b.code).or_default() += 1;
    }
    by_code
}

fn outcome_counts(outcomes: &Outcomes) -> BTreeMap<&'static str, usize> {
    let mut n = BTreeMap::new();
    for o in outcomes.values() {
        *n.entry(if o.is_some() { "result" } else { "refund" }).or_default() += 1;
    }
    n
}

/// The test MySQL's address (MATCHDAY_TEST_MYSQL or 127.0.0.1:3306), for the proxy in front of it.
fn mysql_addr() -> std::net::SocketAddr {
    let server = std::env::var("MATCHDAY_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let host = server.rsplit('@').next().expect("host").trim_end_matches('/');
    host.parse().unwrap_or_else(|_| panic!("MATCHDAY_TEST_MYSQL must name host:port as an IP address, not {server}"))
}
