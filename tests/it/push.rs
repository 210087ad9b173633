//! pushsvr end to end, against the real Redis: connect + logic + gm + pushsvr in-process, real
//! WebSocket clients. Bettors get match state pushes while online; settlement and balance pushes
//! reach them online or, kept in their inbox, right after their next login or resume; announcements
//! reach every connection of every connect node, on time and once; matches stop taking bets at their
//! start time; pushes for a dead connect node end up in the inbox.
//!
//! resultcenter is built separately: its "bet settled" events are written here the way it writes
//! them (MessagePack maps on q:notify:{…}).

use common::shards::Home;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::events::Event;
use common::time::now_ms;
use common::{Config, Shutdown};
use fred::prelude::*;
use protocol::msg;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{
    ADMIN, Client, OPERATOR, Stack, TestEnv, VIEWER, eventually, spawn_connect, spawn_gm, spawn_pushsvr,
};

const PW: &str = "secret-pw";
/// A start time far away: no reminder or auto start comes due during a test.
const FAR: u64 = 1_900_000_000_000;

struct World {
    env: TestEnv,
    stack: Stack,
    gm: Gm,
    /// One per pushsvr process.
    push: Vec<Arc<pushsvr::Stats>>,
    services: Shutdown,
}

/// connect + logic, gm, and `pushsvrs` pushsvr processes, for a config adjusted by `tweak`.
async fn world(pushsvrs: usize, tweak: impl FnOnce(&mut Config)) -> World {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.rate_burst = 1000;
    cfg.pushsvr.poll_interval_ms = 100;
    tweak(&mut cfg);
    let stack = Stack::spawn(cfg.clone()).await;
    let services = Shutdown::new();
    let gm = Gm::new(spawn_gm(cfg.clone(), &services).await);
    let push = (0..pushsvrs)
        .map(|_| {
            let mut p = env.node(1);
            p.pushsvr = cfg.pushsvr.clone();
            spawn_pushsvr(p, &services)
        })
        .collect();
    let w = World { env, stack, gm, push, services };
    w.connect_nodes_live(1).await;
    w
}

impl World {
    /// A registered, logged-in client: (client, user id, session token).
    async fn player(&self, name: &str) -> (Client, u64, String) {
        let mut c = self.stack.client().await;
        let uid = c.register(name, PW).await;
        let token = c.login(name, PW).await["token"].as_str().unwrap().to_owned();
        (c, uid, token)
    }

    /// A match starting at `start_at`, moved by staff through `actions`; returns once pushsvr has
    /// handled the events of those moves (so bettors placed after this see only later ones).
    async fn new_match(&self, start_at: u64, actions: &[&str]) -> u64 {
        let body = json!({
            "type": "lol", "title": "A vs B", "teams": ["A", "B"], "start_at": start_at,
            "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}],
            "min_stake": 10, "max_stake": 1000
        });
        let r = self.gm.post("/api/matches", OPERATOR, &body).await;
        assert_eq!(r.status, 201, "{r:?}");
        let mid = r.body["match_id"].as_u64().unwrap();
        for a in actions {
            self.staff(mid, a, json!({})).await;
        }
        self.pushsvr_idle().await;
        mid
    }

    /// A staff action on a match through gm; returns the new state.
    async fn staff(&self, mid: u64, action: &str, body: Value) -> i64 {
        let r = self.gm.post(&format!("/api/matches/{mid}/{action}"), OPERATOR, &body).await;
        assert_eq!(r.status, 200, "{action}: {r:?}");
        r.body["state"].as_i64().unwrap()
    }

    /// A staff grant through gm (a "balance" event for pushsvr); returns the new balance.
    async fn grant(&self, uid: u64, amount: i64) -> i64 {
        let r =
            self.gm.post(&format!("/api/users/{uid}/grant"), ADMIN, &json!({"amount": amount, "reason": "gift"})).await;
        assert_eq!(r.status, 200, "{r:?}");
        r.body["balance"].as_i64().unwrap()
    }

    /// Queues an event on a lane of the event queue (the global one) as a producer does.
    async fn notify(&self, event: &Event) {
        let bytes = rmp_serde::to_vec_named(event).unwrap();
        let _: i64 = self.env.redis.pool.lpush(self.env.keys().notify(Home::Global), bytes).await.unwrap();
    }

    /// Waits until q:notify:{…}, every pushsvr inflight list and every connect node's push list are
    /// empty: every event queued so far has been handled, and its pushes taken by connect (which
    /// writes them to the connections before any later reply: see [`Client::pushes_until_ping`]).
    async fn pushsvr_idle(&self) {
        // Events are acked once their pushes are queued: the lanes first, then the push lists.
        self.env.lanes_idle(&self.env.keys().notifies()).await;
        eventually("connect has taken every push", || async {
            for l in self.env.scan("q:push:*").await {
                if self.env.llen(&l).await > 0 {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }

    async fn connect_nodes_live(&self, n: usize) {
        eventually("connect nodes' heartbeats", || async {
            (self.env.scan("node:connect:*").await.len() == n).then_some(())
        })
        .await;
    }

    async fn inbox_len(&self, uid: u64) -> i64 {
        self.env.llen(&self.env.keys().inbox(uid)).await
    }

    async fn offline(&self, uid: u64) {
        let key = self.env.keys().online(uid);
        eventually("the user is offline", || async {
            let n: i64 = self.env.redis.pool.exists(&key).await.unwrap();
            (n == 0).then_some(())
        })
        .await;
    }

    async fn stop(self) {
        self.pushsvr_idle().await;
        self.stack.stop().await;
        assert!(self.services.shutdown(Duration::from_secs(10)).await, "gm and pushsvr did not stop in time");
        self.env.assert_queues_drained().await;
        assert_eq!(self.env.lanes_len(&self.env.keys().notifies()).await, 0, "the event queue is drained");
    }
}

/// The next push of `c`, which must be `id` (seq 0, code 0); returns its body.
async fn expect_push(c: &mut Client, id: u16) -> Value {
    let f = c.push().await;
    assert_eq!((f.head.id, f.head.seq, f.head.code), (id, 0, 0), "expected push {id}: {f:?}");
    f.body
}

async fn bet(c: &mut Client, mid: u64, option: &str, stake: i64, req_id: &str) -> u64 {
    let body = json!({ "match_id": mid, "option": option, "stake": stake, "odds_ver": 1, "req_id": req_id });
    let r = c.call(msg::PLACE_BET, body).await;
    assert_eq!(r.code(), 0, "{r:?}");
    r.body["bet_id"].as_u64().unwrap()
}

fn settled(uid: u64, bet_id: u64, match_id: u64, result: &str, payout: i64, balance: i64) -> Event {
    Event::BetSettled { uid, bet_id, match_id, market_id: None, result: result.into(), payout, balance, ts: now_ms() }
}

fn settled_body(bet_id: u64, match_id: u64, result: &str, payout: i64, balance: i64) -> Value {
    json!({ "bet_id": bet_id, "match_id": match_id, "market_id": match_id, "result": result, "payout": payout, "balance": balance })
}

#[tokio::test]
async fn bettors_get_state_settlement_and_balance_pushes_online_or_right_after_their_next_login() {
    let w = world(1, |_| {}).await;
    let mid = w.new_match(FAR, &["approve", "open"]).await;
    let (mut alice, alice_id, _) = w.player("alice").await;
    let (mut bob, bob_id, _) = w.player("bob").await;
    let (mut carol, carol_id, _) = w.player("carol").await;
    let (mut dave, dave_id, dave_token) = w.player("dave").await;
    let a1 = bet(&mut alice, mid, "a", 100, "a1").await;
    let b1 = bet(&mut bob, mid, "b", 100, "b1").await;
    let c1 = bet(&mut carol, mid, "a", 50, "c1").await;
    let c2 = bet(&mut carol, mid, "b", 30, "c2").await;
    let d1 = bet(&mut dave, mid, "a", 10, "d1").await;
    // carol logs out and leaves; dave just goes away (his token still resumes).
    assert_eq!(carol.call(msg::LOGOUT, json!({})).await.code(), 0);
    drop((carol, dave));
    w.offline(carol_id).await;
    w.offline(dave_id).await;

    // Staff move the match: the online bettors hear of each state.
    assert_eq!(w.staff(mid, "start", json!({})).await, 1);
    for c in [&mut alice, &mut bob] {
        assert_eq!(
            expect_push(c, msg::PUSH_MATCH_STATE).await,
            json!({ "match_id": mid, "market_id": mid, "state": 1 })
        );
    }
    assert_eq!(w.staff(mid, "result", json!({ "winner": "a" })).await, 3);
    for c in [&mut alice, &mut bob] {
        assert_eq!(
            expect_push(c, msg::PUSH_MATCH_STATE).await,
            json!({ "match_id": mid, "market_id": mid, "state": 3 })
        );
    }

    // Settlement (as resultcenter reports it): alice won 100 × 1.85, bob lost.
    w.notify(&settled(alice_id, a1, mid, "won", 185, 1085)).await;
    w.notify(&settled(bob_id, b1, mid, "lost", 0, 900)).await;
    assert_eq!(expect_push(&mut alice, msg::PUSH_BET_SETTLED).await, settled_body(a1, mid, "won", 185, 1085));
    assert_eq!(expect_push(&mut alice, msg::PUSH_BALANCE).await, json!({ "balance": 1085, "reason": "payout" }));
    assert_eq!(expect_push(&mut bob, msg::PUSH_BET_SETTLED).await, settled_body(b1, mid, "lost", 0, 900));
    w.pushsvr_idle().await;
    assert!(bob.pushes_until_ping().await.is_empty(), "no 904 for a lost bet");
    assert!(alice.pushes_until_ping().await.is_empty(), "nothing else for alice");

    // While carol and dave are away, their pushes wait in their inboxes (one event at a time, so
    // they are handled in this order).
    let carol_won = settled(carol_id, c1, mid, "won", 92, 1012);
    let carol_lost = settled(carol_id, c2, mid, "lost", 0, 1012);
    let dave_refund = settled(dave_id, d1, mid, "refunded", 10, 1000);
    for (event, uid, inbox) in [(&carol_won, carol_id, 2), (&carol_lost, carol_id, 3), (&dave_refund, dave_id, 2)] {
        w.notify(event).await;
        eventually("the pushes are kept in the inbox", || async { (w.inbox_len(uid).await == inbox).then_some(()) })
            .await;
    }
    let dave_balance = w.grant(dave_id, 500).await;
    assert_eq!(dave_balance, 1490);
    eventually("the grant is kept in dave's inbox", || async { (w.inbox_len(dave_id).await == 3).then_some(()) }).await;
    w.pushsvr_idle().await;
    assert!(alice.pushes_until_ping().await.is_empty(), "other users' pushes stay theirs");

    // carol logs in again: the reply first, then her inbox, oldest first; no match state pushes.
    let mut carol = w.stack.client().await;
    carol.login("carol", PW).await;
    assert!(carol.pushes_so_far().is_empty(), "nothing arrives before the login reply");
    assert_eq!(expect_push(&mut carol, msg::PUSH_BET_SETTLED).await, settled_body(c1, mid, "won", 92, 1012));
    assert_eq!(expect_push(&mut carol, msg::PUSH_BALANCE).await, json!({ "balance": 1012, "reason": "payout" }));
    assert_eq!(expect_push(&mut carol, msg::PUSH_BET_SETTLED).await, settled_body(c2, mid, "lost", 0, 1012));
    assert!(carol.pushes_until_ping().await.is_empty(), "902s are not kept for offline bettors");
    assert_eq!(w.inbox_len(carol_id).await, 0, "the inbox is taken");

    // dave resumes his session on a new connection: the same.
    let mut dave = w.stack.client().await;
    let r = dave.call(msg::RESUME, json!({ "token": dave_token })).await;
    assert_eq!(r.code(), 0, "{r:?}");
    // A resume rotates the token: the next one resumes with the new token.
    let dave_token = r.body["token"].clone();
    assert!(dave.pushes_so_far().is_empty(), "nothing arrives before the resume reply");
    assert_eq!(expect_push(&mut dave, msg::PUSH_BET_SETTLED).await, settled_body(d1, mid, "refunded", 10, 1000));
    assert_eq!(expect_push(&mut dave, msg::PUSH_BALANCE).await, json!({ "balance": 1000, "reason": "refund" }));
    assert_eq!(expect_push(&mut dave, msg::PUSH_BALANCE).await, json!({ "balance": 1490, "reason": "grant" }));
    assert!(dave.pushes_until_ping().await.is_empty());

    // Online now, both get the next pushes directly, on every connection.
    let mut dave2 = w.stack.client().await;
    assert_eq!(dave2.call(msg::RESUME, json!({ "token": dave_token })).await.code(), 0);
    assert_eq!(w.grant(dave_id, 10).await, 1500);
    for c in [&mut dave, &mut dave2] {
        assert_eq!(expect_push(c, msg::PUSH_BALANCE).await, json!({ "balance": 1500, "reason": "grant" }));
    }
    assert_eq!(w.inbox_len(dave_id).await, 0);
    assert_eq!(pushsvr::Stats::get(&w.push[0].dead), 0);
    drop((alice, bob, carol, dave, dave2));
    w.stop().await;
}

#[tokio::test]
async fn an_announcement_reaches_every_connection_on_every_connect_node() {
    let w = world(1, |_| {}).await;
    let (addr2, _) = spawn_connect(w.env.node(1), &w.services).await;
    w.connect_nodes_live(2).await;
    let (ann, _, _) = w.player("ann").await;
    let mut ben = Client::connect(addr2).await;
    ben.register("ben", PW).await;
    ben.login("ben", PW).await;
    let mut anon1 = w.stack.client().await;
    let mut anon2 = Client::connect(addr2).await;
    for c in [&mut anon1, &mut anon2] {
        assert_eq!(c.call(msg::PING, json!({})).await.code(), 0, "connected and registered by its node");
    }

    let r = w.gm.post("/api/announcements", OPERATOR, &json!({ "text": "Server maintenance at 04:00 UTC" })).await;
    assert_eq!(r.status, 202, "{r:?}");
    let mut clients = [ann, ben, anon1, anon2];
    for c in &mut clients {
        let body = expect_push(c, msg::PUSH_ANNOUNCEMENT).await;
        assert_eq!(body, json!({ "text": "Server maintenance at 04:00 UTC", "notice_id": r.body["id"] }));
    }
    w.pushsvr_idle().await;
    for c in &mut clients {
        assert!(c.pushes_until_ping().await.is_empty(), "one copy each");
    }
    drop(clients);
    w.stop().await;
}

#[tokio::test]
async fn a_scheduled_announcement_arrives_at_its_time_once_with_two_pushsvrs() {
    let w = world(2, |_| {}).await;
    let (mut c, _, _) = w.player("sam").await;
    let at = now_ms() + 1_500;
    let r = w.gm.post("/api/announcements", OPERATOR, &json!({ "text": "Finals start now", "at": at })).await;
    assert_eq!((r.status, r.body["scheduled_at"].as_u64()), (202, Some(at)), "{r:?}");
    let sched = w.env.keys().sched();
    let waiting: i64 = w.env.redis.pool.zcard(&sched).await.unwrap();
    assert_eq!(waiting, 1, "scheduled, not sent");

    let body = expect_push(&mut c, msg::PUSH_ANNOUNCEMENT).await;
    let arrived = now_ms();
    assert_eq!(body, json!({ "text": "Finals start now", "notice_id": r.body["id"] }));
    // Not before its time. How soon after (within a poll interval on a quiet machine) is a latency,
    // not a pass/fail matter: a loaded CI machine (the cluster pass) once delivered it later.
    assert!(arrived >= at, "arrived {} ms before its time", at - arrived);

    // Exactly once: one process moved it, one broadcast was made, nothing is left to make another.
    w.pushsvr_idle().await;
    let moved: u64 = w.push.iter().map(|s| pushsvr::Stats::get(&s.sched_moved)).sum();
    let broadcasts: u64 = w.push.iter().map(|s| pushsvr::Stats::get(&s.broadcasts)).sum();
    assert_eq!((moved, broadcasts), (1, 1));
    let waiting: i64 = w.env.redis.pool.zcard(&sched).await.unwrap();
    assert_eq!(waiting, 0);
    assert!(c.pushes_until_ping().await.is_empty(), "no second copy");
    drop(c);
    w.stop().await;
}

#[tokio::test]
async fn a_match_stops_taking_bets_at_its_start_time_and_bettors_are_reminded_before() {
    let w = world(1, |cfg| cfg.pushsvr.reminder_before_ms = 2_000).await;
    let (mut alice, _, _) = w.player("alice").await;
    let start_at = now_ms() + 4_000;
    let mid = w.new_match(start_at, &["approve", "open"]).await;
    bet(&mut alice, mid, "a", 100, "early").await;

    let reminder = expect_push(&mut alice, msg::PUSH_ANNOUNCEMENT).await;
    assert_eq!(reminder, json!({ "text": "A vs B starts in 1 minute", "match_id": mid }));
    assert!(now_ms() < start_at, "the reminder comes before the start");

    assert_eq!(
        expect_push(&mut alice, msg::PUSH_MATCH_STATE).await,
        json!({ "match_id": mid, "market_id": mid, "state": 1 })
    );
    let arrived = now_ms();
    assert!(arrived >= start_at, "betting closed {} ms early", start_at - arrived);
    assert!(arrived <= start_at + 2_000, "betting closed {} ms late", arrived - start_at);
    let late = json!({ "match_id": mid, "option": "a", "stake": 100, "odds_ver": 1, "req_id": "late" });
    assert_eq!(alice.call(msg::PLACE_BET, late).await.code(), 1004);
    let m = w.gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!((m["state"].as_i64(), m["state_name"].as_str()), (Some(1), Some("betting_stopped")));
    // Staff may still drive it on; a staff start before the time would have made auto start a no-op.
    let other = w.new_match(now_ms() + 300, &["approve", "open", "start"]).await;
    w.pushsvr_idle().await;
    eventually("the auto start of the other match is due and handled", || async {
        let due: i64 = w.env.redis.pool.zcard(w.env.keys().sched()).await.unwrap();
        (due == 0).then_some(())
    })
    .await;
    w.pushsvr_idle().await;
    let m = w.gm.get(&format!("/api/matches/{other}"), VIEWER).await.body;
    assert_eq!(m["state"].as_i64(), Some(1), "{m}");
    drop(alice);
    w.stop().await;
}

#[tokio::test]
async fn pushes_for_a_dead_connect_node_expire_with_it_and_then_go_to_the_inbox() {
    let w = world(1, |_| {}).await;
    let (c, uid, _) = w.player("erin").await;
    drop(c);
    w.offline(uid).await;
    let redis = &w.env.redis.pool;
    let keys = w.env.keys();

    // A node that is alive (it beats) but has not read its list yet: the push waits there, with a
    // TTL of 3 heartbeat TTLs.
    let (beat, list) = (keys.node("connect", "ghost"), keys.push("ghost"));
    let _: () = redis.hset(&beat, ("id", "ghost")).await.unwrap();
    let _: () = redis.pexpire(&beat, 10_000, None).await.unwrap();
    let _: () = redis.hset(keys.online(uid), ("4242", "ghost")).await.unwrap();
    assert_eq!(w.grant(uid, 100).await, 1100);
    eventually("the push is on the node's list", || async { (w.env.llen(&list).await == 1).then_some(()) }).await;
    let ttl: i64 = redis.pttl(&list).await.unwrap();
    let limit = 3 * w.stack.cfg.queue.heartbeat_ttl_ms as i64;
    assert!(ttl > 0 && ttl <= limit, "push list TTL {ttl} ms, expected at most {limit}");
    assert_eq!(w.inbox_len(uid).await, 0, "not kept: the user was online");

    // The node dies: its heartbeat goes, and its list expires after it.
    let _: i64 = redis.del(&beat).await.unwrap();
    eventually("the dead node's list expires", || async {
        let n: i64 = redis.exists(&list).await.unwrap();
        (n == 0).then_some(())
    })
    .await;

    // The next push finds the user's only connection on a dead node: it is kept, the entry removed.
    assert_eq!(w.grant(uid, 200).await, 1300);
    eventually("the push is kept in the inbox", || async { (w.inbox_len(uid).await == 1).then_some(()) }).await;
    let online: i64 = redis.exists(keys.online(uid)).await.unwrap();
    assert_eq!(online, 0, "the stale online entry is removed");
    assert_eq!(pushsvr::Stats::get(&w.push[0].stale_removed), 1);
    assert_eq!(w.env.llen(&list).await, 0, "nothing pushed to the dead node");

    let mut erin = w.stack.client().await;
    erin.login("erin", PW).await;
    assert_eq!(expect_push(&mut erin, msg::PUSH_BALANCE).await, json!({ "balance": 1300, "reason": "grant" }));
    assert!(erin.pushes_until_ping().await.is_empty());
    drop(erin);
    w.stop().await;
}

#[tokio::test]
async fn an_event_pushsvr_cannot_read_goes_to_the_dead_list() {
    let w = world(1, |_| {}).await;
    let notify = w.env.keys().notify(Home::Shard(5));
    let _: i64 = w
        .env
        .redis
        .pool
        .lpush(&notify, rmp_serde::to_vec_named(&json!({ "kind": "nonsense" })).unwrap())
        .await
        .unwrap();
    let dead = w.env.keys().dead(&notify);
    eventually("the event is dead-lettered", || async { (w.env.llen(&dead).await == 1).then_some(()) }).await;
    assert_eq!(pushsvr::Stats::get(&w.push[0].dead), 1);
    // A good event after it is handled as usual.
    let (mut c, uid, _) = w.player("fay").await;
    w.notify(&Event::Balance { uid, balance: 7, reason: "payment".into(), ts: 0 }).await;
    assert_eq!(expect_push(&mut c, msg::PUSH_BALANCE).await, json!({ "balance": 7, "reason": "payment" }));
    let _: i64 = w.env.redis.pool.del(&dead).await.unwrap();
    drop(c);
    w.stop().await;
}

// The scripts on their own.

/// Calls push_user.lua for `uid` with the online entries `read` (conn, node) and `frames`, each
/// node's liveness read from its heartbeat as pushsvr reads it; then, as pushsvr does, appends
/// "{conn}:{frame}" for each frame to the node list of each connection the script chose (TTL 5 s).
/// `{connections, kept, removed}`, or `{-1}`.
async fn push_user(env: &TestEnv, uid: u64, read: &[(&str, &str)], frames: &[&str], cap: u64) -> Vec<i64> {
    use common::store::push_user::{self, Outcome};
    let connections = common::push_lists::connections(&env.redis, read.iter().copied()).await.unwrap();
    let pushed: Vec<bytes::Bytes> = frames.iter().map(|f| bytes::Bytes::copy_from_slice(f.as_bytes())).collect();
    let args = push_user::Args { uid, inbox_cap: cap, connections: &connections, frames: &pushed };
    match push_user::call(&env.redis, &args).await.unwrap() {
        Outcome::Delivered { targets, kept, removed } => {
            let lists: Vec<(&str, Vec<bytes::Bytes>)> = targets
                .iter()
                .map(|&i| {
                    let (conn, node) = read[i];
                    (node, frames.iter().map(|f| bytes::Bytes::from(format!("{conn}:{f}"))).collect())
                })
                .collect();
            let lists: Vec<(&str, &[bytes::Bytes])> = lists.iter().map(|(n, e)| (*n, e.as_slice())).collect();
            common::push_lists::append(&env.redis, &lists, 5_000).await.unwrap();
            vec![targets.len() as i64, kept as i64, removed as i64]
        }
        Outcome::IndexChanged => vec![-1],
    }
}

async fn lrange(env: &TestEnv, key: &str) -> Vec<String> {
    env.redis.pool.lrange(key, 0, -1).await.unwrap()
}

#[tokio::test]
async fn push_user_pushes_to_live_nodes_or_keeps_and_refuses_a_stale_read() {
    let env = TestEnv::new().await;
    let (k, redis) = (env.keys(), &env.redis.pool);
    let _: () = redis.hset(k.node("connect", "live"), ("id", "live")).await.unwrap();
    let _: () = redis.hset(k.online(1), [("10", "live"), ("11", "dead")]).await.unwrap();

    // The index holds a connection the caller did not read: nothing is written.
    assert_eq!(push_user(&env, 1, &[("10", "live")], &["f1"], 3).await, vec![-1]);
    assert_eq!(push_user(&env, 1, &[], &["f1"], 3).await, vec![-1]);
    assert_eq!(push_user(&env, 1, &[("10", "live"), ("11", "other")], &["f1"], 3).await, vec![-1]);
    assert!(lrange(&env, &k.push("live")).await.is_empty() && lrange(&env, &k.inbox(1)).await.is_empty());

    // One live connection: both frames go to its node, in order; the dead node's entry is removed.
    let read = [("10", "live"), ("11", "dead")];
    assert_eq!(push_user(&env, 1, &read, &["f1", "f2"], 3).await, vec![1, 0, 1]);
    assert_eq!(lrange(&env, &k.push("live")).await, vec!["10:f2", "10:f1"], "the consumer pops f1 first");
    let ttl: i64 = redis.pttl(k.push("live")).await.unwrap();
    assert!(ttl > 0 && ttl <= 5_000);
    let online: HashMap<String, String> = redis.hgetall(k.online(1)).await.unwrap();
    assert_eq!(online, HashMap::from([("10".to_owned(), "live".to_owned())]));
    assert!(lrange(&env, &k.push("dead")).await.is_empty());

    // A connection gone since the read is skipped; with none left the frames are kept, capped.
    let _: i64 = redis.hdel(k.online(1), "10").await.unwrap();
    assert_eq!(push_user(&env, 1, &[("10", "live")], &["f3", "f4"], 3).await, vec![0, 2, 0]);
    assert_eq!(push_user(&env, 1, &[], &["f5", "f6"], 3).await, vec![0, 2, 0]);
    assert_eq!(lrange(&env, &k.inbox(1)).await, vec!["f6", "f5", "f4"], "newest first, the oldest dropped");
    // Online-only pushes (cap 0) are not kept.
    assert_eq!(push_user(&env, 2, &[], &["f7"], 0).await, vec![0, 0, 0]);
    assert!(lrange(&env, &k.inbox(2)).await.is_empty());

    // connect takes the inbox at once.
    let taken = common::store::inbox_take::call(&env.redis, &common::store::inbox_take::Args { uid: 1 }).await.unwrap();
    let frames = ["f6", "f5", "f4"].map(|f| bytes::Bytes::from_static(f.as_bytes())).to_vec();
    assert_eq!(taken, common::store::inbox_take::Outcome::Taken { frames });
    assert!(lrange(&env, &k.inbox(1)).await.is_empty());
}

async fn sched_due(env: &TestEnv, now: u64, limit: u64) -> u64 {
    use common::store::sched_due::{self, Args, Outcome};
    let Outcome::Moved { moved } = sched_due::call(&env.redis, &Args { now_ms: now, limit }).await.unwrap();
    moved
}

#[tokio::test]
async fn sched_due_moves_what_is_due_once_in_due_order() {
    let env = TestEnv::new().await;
    let (k, redis) = (env.keys(), &env.redis.pool);
    let _: i64 = redis
        .zadd(k.sched(), None, None, false, false, vec![(300.0, "c"), (100.0, "a"), (200.0, "b"), (900.0, "z")])
        .await
        .unwrap();
    let _: i64 = redis.lpush(k.notify(Home::Global), "queued-before").await.unwrap();
    assert_eq!(sched_due(&env, 50, 10).await, 0);
    assert_eq!(sched_due(&env, 300, 2).await, 2, "at most the limit");
    assert_eq!(sched_due(&env, 300, 2).await, 1);
    assert_eq!(sched_due(&env, 300, 2).await, 0, "moved once");
    // Consumers take from the right: what was queued before, then the events in due order.
    assert_eq!(lrange(&env, &k.notify(Home::Global)).await, vec!["c", "b", "a", "queued-before"]);
    let left: Vec<String> = redis.zrange(k.sched(), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(left, vec!["z"]);
}

#[tokio::test]
async fn staff_set_the_result_resultcenter_pays_and_bettors_are_told_online_or_at_next_login() {
    let w = world(1, |_| {}).await;
    test_support::spawn_resultcenter(w.env.node(1), &w.services);
    let mid = w.new_match(FAR, &["approve", "open"]).await;
    let (mut winner, _, _) = w.player("winner").await;
    let (mut loser, _, _) = w.player("loser").await;
    let (mut away, away_uid, away_token) = w.player("away").await;
    let won_bet = bet(&mut winner, mid, "a", 100, "w1").await;
    let lost_bet = bet(&mut loser, mid, "b", 200, "l1").await;
    let away_bet = bet(&mut away, mid, "a", 300, "a1").await;
    drop(away);
    w.offline(away_uid).await;
    w.staff(mid, "start", json!({})).await;
    w.staff(mid, "result", json!({"winner": "a"})).await;

    // Online: 901 then 904 with the payout floor(100 × 1850 / 1000) = 185 on a balance of 900.
    let mut got = Vec::new();
    while got.len() < 2 {
        let f = winner.push().await;
        if f.head.id != msg::PUSH_MATCH_STATE {
            got.push((f.head.id, f.body));
        }
    }
    assert_eq!(got[0], (msg::PUSH_BET_SETTLED, settled_body(won_bet, mid, "won", 185, 1085)));
    assert_eq!(got[1], (msg::PUSH_BALANCE, json!({ "balance": 1085, "reason": "payout" })));
    let lost = loop {
        let f = loser.push().await;
        if f.head.id == msg::PUSH_BET_SETTLED {
            break f.body;
        }
    };
    assert_eq!(lost, settled_body(lost_bet, mid, "lost", 0, 800));
    eventually("the match is credited", || async {
        (w.gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["state"].as_i64() == Some(9)).then_some(())
    })
    .await;
    w.pushsvr_idle().await;
    assert!(w.inbox_len(away_uid).await >= 2, "the offline bettor's pushes wait in the inbox");

    // The offline bettor resumes: the reply, then 901 and 904 in order.
    let mut back = w.stack.client().await;
    let r = back.call(msg::RESUME, json!({ "token": away_token })).await;
    assert_eq!((r.code(), r.body["balance"].as_i64()), (0, Some(700 + 555)));
    let pushes: Vec<(u16, Value)> = back
        .pushes_until_ping()
        .await
        .into_iter()
        .filter(|f| f.head.id != msg::PUSH_MATCH_STATE)
        .map(|f| (f.head.id, f.body))
        .collect();
    assert_eq!(
        pushes,
        vec![
            (msg::PUSH_BET_SETTLED, settled_body(away_bet, mid, "won", 555, 1255)),
            (msg::PUSH_BALANCE, json!({ "balance": 1255, "reason": "payout" })),
        ]
    );
    assert_eq!(w.inbox_len(away_uid).await, 0);
    drop((winner, loser, back));
    w.stop().await;
}
