//! Betting over WebSocket against the real Redis: browsing matches, placing bets under concurrency
//! and retries, my bets, bet detail, the ledger; staff drive the matches through gm.

use std::collections::{HashMap, HashSet};

use common::Shutdown;
use fred::prelude::*;
use futures_util::future::join_all;
use protocol::{ClientHead, msg};
use serde_json::{Value, json};
use test_support::client::Frame;
use test_support::http::Gm;
use test_support::{Client, OPERATOR, Stack, TestEnv, VIEWER, spawn_gm};

const PW: &str = "secret-pw";

struct World {
    env: TestEnv,
    stack: Stack,
    gm: Gm,
    gm_shutdown: Shutdown,
}

async fn world(grant: i64) -> World {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.logic.signup_grant = grant;
    cfg.connect.rate_burst = 1000;
    let stack = Stack::spawn(cfg.clone()).await;
    let gm_shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(cfg, &gm_shutdown).await);
    World { env, stack, gm, gm_shutdown }
}

impl World {
    /// A match created and moved by staff through `actions` (e.g. approve, open).
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
            let r = self.gm.post(&format!("/api/matches/{mid}/{a}"), OPERATOR, &json!({})).await;
            assert_eq!(r.status, 200, "{a}: {r:?}");
        }
        mid
    }

    /// A logged-in client; returns it and the session token.
    async fn player(&self, name: &str) -> (Client, String) {
        let mut c = self.stack.client().await;
        c.register(name, PW).await;
        let token = c.login(name, PW).await["token"].as_str().unwrap().to_owned();
        (c, token)
    }

    async fn resume(&self, token: &str) -> Client {
        let mut c = self.stack.client().await;
        assert_eq!(c.call(msg::RESUME, json!({ "token": token })).await.code(), 0);
        c
    }

    async fn stop(self) {
        self.stack.stop().await;
        self.gm_shutdown.shutdown(std::time::Duration::from_secs(5)).await;
        self.env.assert_queues_drained().await;
    }
}

fn bet(mid: u64, option: &str, stake: i64, odds_ver: u64, req_id: &str) -> Value {
    json!({ "match_id": mid, "option": option, "stake": stake, "odds_ver": odds_ver, "req_id": req_id })
}

/// Sends every body on one connection without waiting, then reads every reply.
async fn burst(c: &mut Client, id: u16, bodies: Vec<Value>) -> Vec<Frame> {
    for (i, b) in bodies.iter().enumerate() {
        let f = protocol::codec::encode_frame(&ClientHead { id, seq: 10_000 + i as u32, ver: None }, b).unwrap();
        c.send_binary(f).await;
    }
    let mut out = Vec::new();
    for _ in 0..bodies.len() {
        out.push(c.recv().await);
    }
    out
}

async fn balance(c: &mut Client) -> i64 {
    c.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap()
}

/// The sum of every ledger delta, reading the ledger page by page.
async fn ledger_sum(c: &mut Client) -> i64 {
    let (mut sum, mut offset) = (0, 0);
    loop {
        let r = c.call(msg::LEDGER, json!({ "offset": offset, "limit": 100 })).await;
        assert_eq!(r.code(), 0, "{r:?}");
        let items = r.body["items"].as_array().unwrap();
        if items.is_empty() {
            return sum;
        }
        offset += items.len();
        sum += items.iter().map(|e| e["delta"].as_i64().unwrap()).sum::<i64>();
    }
}

#[tokio::test]
async fn two_hundred_concurrent_bets_with_a_balance_for_one_hundred() {
    let w = world(1000).await;
    let mid = w.new_match("lol", &["approve", "open"]).await;
    let (mut first, token) = w.player("whale").await;
    let mut conns = vec![];
    for _ in 0..3 {
        conns.push(w.resume(&token).await);
    }
    // 4 connections of one user, 50 bets of 10 each: the balance covers exactly 100.
    let mut all = Vec::new();
    let bodies = |c: usize| {
        (0..50)
            .map(move |i| bet(mid, if i % 2 == 0 { "a" } else { "b" }, 10, 1, &format!("r{c}-{i}")))
            .collect::<Vec<_>>()
    };
    let mut runs = vec![burst(&mut first, msg::PLACE_BET, bodies(0))];
    for (i, c) in conns.iter_mut().enumerate() {
        runs.push(burst(c, msg::PLACE_BET, bodies(i + 1)));
    }
    for replies in join_all(runs).await {
        all.extend(replies);
    }
    let accepted: Vec<&Frame> = all.iter().filter(|r| r.code() == 0).collect();
    let refused = all.iter().filter(|r| r.code() == 1003).count();
    assert_eq!((accepted.len(), refused), (100, 100), "codes: {:?}", all.iter().map(Frame::code).collect::<Vec<_>>());
    let ids: HashSet<u64> = accepted.iter().map(|r| r.body["bet_id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 100, "100 distinct bets");
    let mut balances: Vec<i64> = accepted.iter().map(|r| r.body["balance"].as_i64().unwrap()).collect();
    balances.sort();
    assert_eq!(balances, (0..100).map(|i| i * 10).collect::<Vec<_>>(), "every debit saw the one before it");
    assert_eq!(balance(&mut first).await, 0);
    assert_eq!(ledger_sum(&mut first).await, 0, "the ledger deltas sum to the balance");
    let m = w.gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!(
        (m["pool"]["a"].as_i64().unwrap() + m["pool"]["b"].as_i64().unwrap(), m["bet_count"].as_u64()),
        (1000, Some(100))
    );
    drop((first, conns));
    w.stop().await;
}

#[tokio::test]
async fn the_same_req_id_fifty_times_at_once_debits_once() {
    let w = world(1000).await;
    let mid = w.new_match("lol", &["approve", "open"]).await;
    let (mut c, token) = w.player("twice").await;
    let mut c2 = w.resume(&token).await;
    let body = bet(mid, "a", 100, 1, "same-request");
    let (r1, r2) = tokio::join!(
        burst(&mut c, msg::PLACE_BET, vec![body.clone(); 25]),
        burst(&mut c2, msg::PLACE_BET, vec![body; 25])
    );
    let replies: Vec<Frame> = r1.into_iter().chain(r2).collect();
    assert!(replies.iter().all(|r| r.code() == 0), "{replies:?}");
    let first = &replies[0].body;
    assert!(replies.iter().all(|r| r.body == *first), "every reply names the same bet: {replies:?}");
    assert_eq!(first["balance"], 900);
    assert_eq!(balance(&mut c).await, 900, "debited once");
    let mine = c.call(msg::MY_BETS, json!({})).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(ledger_sum(&mut c).await, 900);
    drop((c, c2));
    w.stop().await;
}

#[tokio::test]
async fn bets_are_refused_unless_the_match_is_open_and_the_bet_is_valid() {
    let w = world(1000).await;
    let pending = w.new_match("lol", &[]).await;
    let visible = w.new_match("lol", &["approve"]).await;
    let suspended = w.new_match("lol", &["approve", "open", "suspend"]).await;
    let settling = w.new_match("lol", &["approve", "open", "start"]).await;
    let r = w.gm.post(&format!("/api/matches/{settling}/result"), OPERATOR, &json!({"winner": "a"})).await;
    assert_eq!(r.body["state"], 3);
    let open = w.new_match("lol", &["approve", "open"]).await;
    let (mut c, _) = w.player("picky").await;
    for (mid, what) in
        [(pending, "pending"), (visible, "not started"), (suspended, "suspended"), (settling, "settling")]
    {
        let r = c.call(msg::PLACE_BET, bet(mid, "a", 10, 1, &format!("x{mid}"))).await;
        assert_eq!(r.code(), 1004, "{what}: {r:?}");
    }
    assert_eq!(c.call(msg::PLACE_BET, bet(open, "a", 9, 1, "low")).await.code(), 1006);
    assert_eq!(c.call(msg::PLACE_BET, bet(open, "a", 1001, 1, "high")).await.code(), 1006);
    assert_eq!(c.call(msg::PLACE_BET, bet(open, "a", -5, 1, "neg")).await.code(), 1006);
    assert_eq!(c.call(msg::PLACE_BET, bet(open, "zz", 10, 1, "opt")).await.code(), 1007);
    assert_eq!(c.call(msg::PLACE_BET, bet(987_654, "a", 10, 1, "nomatch")).await.code(), 1007);
    assert_eq!(c.call(msg::PLACE_BET, json!({"match_id": open, "option": "a"})).await.code(), 7);
    assert_eq!(balance(&mut c).await, 1000, "nothing was debited");
    assert_eq!(c.call(msg::MY_BETS, json!({})).await.body["items"], json!([]));
    drop(c);
    w.stop().await;
}

#[tokio::test]
async fn an_odds_change_between_detail_and_bet_is_1005_and_the_retry_wins() {
    let w = world(1000).await;
    let mid = w.new_match("cs2", &["approve", "open"]).await;
    let (mut c, _) = w.player("punter").await;
    let detail = c.call(msg::MATCH_DETAIL, json!({ "match_id": mid })).await;
    assert_eq!((detail.code(), detail.body["odds_ver"].as_u64()), (0, Some(1)));
    let r =
        w.gm.call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "b", "odds": 1600}]})),
        )
        .await;
    assert_eq!(r.status, 200);
    let stale = c.call(msg::PLACE_BET, bet(mid, "b", 50, 1, "try-1")).await;
    assert_eq!(stale.code(), 1005, "{stale:?}");
    assert_eq!(stale.body["odds_ver"], 2);
    assert_eq!(stale.body["options"][1], json!({"key": "b", "label": "B", "odds": 1600}));
    assert_eq!(balance(&mut c).await, 1000);
    let retry = c.call(msg::PLACE_BET, bet(mid, "b", 50, 2, "try-2")).await;
    assert_eq!((retry.code(), retry.body["odds"].as_i64(), retry.body["balance"].as_i64()), (0, Some(1600), Some(950)));
    let detail = c.call(msg::BET_DETAIL, json!({ "bet_id": retry.body["bet_id"] })).await;
    assert_eq!(
        (detail.body["odds"].as_i64(), detail.body["state"].as_str()),
        (Some(1600), Some("open")),
        "taken at the new odds"
    );
    drop(c);
    w.stop().await;
}

#[tokio::test]
async fn browsing_my_bets_bet_detail_and_the_ledger() {
    let w = world(1000).await;
    let hidden = w.new_match("lol", &[]).await;
    let lol = w.new_match("lol", &["approve", "open"]).await;
    let dota = w.new_match("dota2", &["approve"]).await;
    let live = w.new_match("lol", &["approve", "open", "start"]).await;
    let (mut c, _) = w.player("browser").await;
    let ids = |r: &Frame| {
        r.body["items"].as_array().unwrap().iter().map(|m| m["match_id"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    let all = c.call(msg::LIST_MATCHES, json!({})).await;
    assert_eq!(all.code(), 0, "{all:?}");
    let listed = ids(&all);
    assert!(!listed.contains(&hidden), "pending matches are never shown");
    assert_eq!(listed.len(), 3);
    assert_eq!(ids(&c.call(msg::LIST_MATCHES, json!({"type": "dota2"})).await), vec![dota]);
    assert_eq!(ids(&c.call(msg::LIST_MATCHES, json!({"state": 2})).await), vec![lol]);
    assert_eq!(ids(&c.call(msg::LIST_MATCHES, json!({"state": 1})).await), vec![live]);
    assert!(ids(&c.call(msg::LIST_MATCHES, json!({"state": -1})).await).is_empty());
    assert_eq!(ids(&c.call(msg::LIST_MATCHES, json!({"limit": 1, "offset": 1})).await).len(), 1);
    assert_eq!(c.call(msg::LIST_MATCHES, json!({"type": "chess"})).await.code(), 7);
    let m = c.call(msg::MATCH_DETAIL, json!({ "match_id": lol })).await;
    assert_eq!(
        (m.body["state"].as_i64(), m.body["state_name"].as_str(), m.body["teams"].clone()),
        (Some(2), Some("open"), json!(["A", "B"]))
    );
    assert_eq!(c.call(msg::MATCH_DETAIL, json!({ "match_id": hidden })).await.code(), 1007);

    let mut placed = vec![];
    for (i, stake) in [10, 20, 30].into_iter().enumerate() {
        let r = c.call(msg::PLACE_BET, bet(lol, "a", stake, 1, &format!("b{i}"))).await;
        placed.push(r.body["bet_id"].as_u64().unwrap());
    }
    let mine = c.call(msg::MY_BETS, json!({ "limit": 2 })).await;
    let stakes: Vec<i64> =
        mine.body["items"].as_array().unwrap().iter().map(|b| b["stake"].as_i64().unwrap()).collect();
    assert_eq!(stakes, vec![30, 20], "newest first, paged");
    let older = c.call(msg::MY_BETS, json!({ "offset": 2 })).await;
    assert_eq!(older.body["items"][0]["bet_id"].as_u64(), Some(placed[0]));
    let ledger = c.call(msg::LEDGER, json!({})).await;
    let deltas: Vec<i64> =
        ledger.body["items"].as_array().unwrap().iter().map(|e| e["delta"].as_i64().unwrap()).collect();
    assert_eq!(deltas, vec![-30, -20, -10, 1000], "newest first");
    assert_eq!(ledger.body["items"][0]["reason"], "bet");
    assert_eq!(ledger.body["items"][0]["ref"], placed[2].to_string());
    assert_eq!(ledger_sum(&mut c).await, balance(&mut c).await);

    // Staff see the same bets, in the same shape.
    let uid = c.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    let staff_view = w.gm.get(&format!("/api/users/{uid}"), VIEWER).await.body;
    assert_eq!(staff_view["recent_bets"][0], c.call(msg::BET_DETAIL, json!({ "bet_id": placed[2] })).await.body);

    // Another user's bet does not exist for me.
    let (mut other, _) = w.player("nosy").await;
    assert_eq!(other.call(msg::BET_DETAIL, json!({ "bet_id": placed[0] })).await.code(), 1007);
    assert_eq!(c.call(msg::BET_DETAIL, json!({ "bet_id": placed[0] })).await.code(), 0);
    assert_eq!(c.call(msg::BET_DETAIL, json!({ "bet_id": 424242 })).await.code(), 1007);
    drop((c, other));
    w.stop().await;
}

#[tokio::test]
async fn fifty_players_bet_and_gm_shows_the_pool_they_add_up_to() {
    let w = world(1000).await;
    let mid = w.new_match("valorant", &["approve", "open"]).await;
    let runs = (0..50).map(|i| {
        let w = &w;
        async move {
            let (mut c, _) = w.player(&format!("fan{i:02}")).await;
            let detail = c.call(msg::MATCH_DETAIL, json!({ "match_id": mid })).await;
            let odds_ver = detail.body["odds_ver"].as_u64().unwrap();
            let (option, stake) = if i % 3 == 0 { ("b", 10 + i) } else { ("a", 20 + i) };
            let r = c.call(msg::PLACE_BET, bet(mid, option, stake as i64, odds_ver, &format!("fan{i}"))).await;
            assert_eq!(r.code(), 0, "{r:?}");
            (option, stake as i64)
        }
    });
    let mut expected: HashMap<&str, i64> = HashMap::new();
    for (option, stake) in join_all(runs).await {
        *expected.entry(option).or_default() += stake;
    }
    let m = w.gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!(m["bet_count"], 50);
    assert_eq!(m["pool"]["a"].as_i64(), expected.get("a").copied());
    assert_eq!(m["pool"]["b"].as_i64(), expected.get("b").copied());
    let volume: i64 = w.gm.get("/api/stats", VIEWER).await.body["volume"]["today"].as_i64().unwrap();
    assert_eq!(volume, expected.values().sum::<i64>());
    let outbox_bets = {
        let raw: Vec<bytes::Bytes> = w.env.redis.pool.lrange(w.env.keys().outbox(), 0, -1).await.unwrap();
        raw.iter().filter(|r| rmp_serde::from_slice::<Value>(r).unwrap()["table"] == "bet").count()
    };
    assert_eq!(outbox_bets, 50, "every bet is on its way to MySQL");
    w.stop().await;
}
