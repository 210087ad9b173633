//! Betting over WebSocket against the real Redis: browsing matches, placing bets under concurrency
//! and retries, my bets, bet detail, the ledger; staff drive the matches through gm.

use std::collections::{HashMap, HashSet};

use common::config::Role;
use futures_util::future::join_all;
use protocol::{ClientHead, msg};
use serde_json::{Value, json};
use test_support::app::match_spec;
use test_support::client::Frame;
use test_support::matchday_client::gm::Request;
use test_support::{App, Client};

/// Every service; each player starts with 1000 coins and may send bursts of 50.
async fn app() -> App {
    App::builder()
        .config(|cfg| {
            cfg.logic.signup_grant = 1000;
            cfg.connect.rate_burst = 1000;
        })
        .spawn()
        .await
}

/// A match created by staff and moved through `actions` (e.g. approve, open).
async fn new_match(app: &App, kind: &str, actions: &[&str]) -> u64 {
    let mid = app.create_match(&match_spec(kind)).await;
    for a in actions {
        app.act(mid, a, json!({})).await;
    }
    mid
}

/// Another connection of the session of `token`; returns it and the session's new token (a
/// resume rotates it: `token` resumes no more).
async fn resume(app: &App, token: &str) -> (Client, String) {
    let mut c = app.client().await;
    let next = c.resume(token).await;
    (c, next)
}

fn bet(mid: u64, option: &str, stake: i64, odds_ver: u64, req_id: &str) -> Value {
    json!({ "match_id": mid, "option": option, "stake": stake, "odds_ver": odds_ver, "req_id": req_id })
}

/// Sends every body on one connection without waiting, then reads one reply per request, in the
/// order they arrive, skipping pushes. A reply may come twice (delivery is at least once: a frame whose worker was
/// taken for dead — a starved test machine misses heartbeats — is handled again); the second must
/// be the same answer, and is dropped.
async fn burst(c: &mut Client, id: u16, bodies: Vec<Value>) -> Vec<Frame> {
    const FIRST_SEQ: u32 = 10_000;
    for (i, b) in bodies.iter().enumerate() {
        let f = protocol::codec::encode_frame(&ClientHead { id, seq: FIRST_SEQ + i as u32, ver: None }, b).unwrap();
        c.send_binary(f).await;
    }
    let mut by_seq: HashMap<u32, Value> = HashMap::new();
    let mut out = Vec::new();
    while out.len() < bodies.len() {
        let reply = c.recv().await;
        if reply.is_push() {
            continue; // e.g. the 902 of the match opening, late on a busy machine
        }
        let seq = reply.head.seq;
        assert!((FIRST_SEQ..FIRST_SEQ + bodies.len() as u32).contains(&seq), "a reply to no request: {reply:?}");
        let answer = json!({ "code": reply.code(), "body": reply.body });
        match by_seq.get(&seq) {
            Some(first) => assert_eq!(first, &answer, "seq {seq} answered twice, differently"),
            None => {
                by_seq.insert(seq, answer);
                out.push(reply);
            }
        }
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
    let app = app().await;
    let mid = app.open_match(&match_spec("lol")).await.id;
    let mut first = app.player("whale").await;
    let mut token = first.token().to_owned();
    let mut conns = vec![];
    for _ in 0..3 {
        let (c, next) = resume(&app, &token).await;
        conns.push(c);
        token = next;
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
    let m = app.match_view(mid).await;
    assert_eq!(
        (m["pool"]["a"].as_i64().unwrap() + m["pool"]["b"].as_i64().unwrap(), m["bet_count"].as_u64()),
        (1000, Some(100))
    );
    drop((first, conns));
    app.finish().await;
}

#[tokio::test]
async fn the_same_req_id_fifty_times_at_once_debits_once() {
    let app = app().await;
    let mid = app.open_match(&match_spec("lol")).await.id;
    let mut c = app.player("twice").await;
    let (mut c2, _) = resume(&app, c.token()).await;
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
    app.finish().await;
}

#[tokio::test]
async fn bets_are_refused_unless_the_match_is_open_and_the_bet_is_valid() {
    let app = app().await;
    let pending = new_match(&app, "lol", &[]).await;
    let visible = new_match(&app, "lol", &["approve"]).await;
    let suspended = new_match(&app, "lol", &["approve", "open", "suspend"]).await;
    let settling = new_match(&app, "lol", &["approve", "open", "start"]).await;
    let r = app.act(settling, "result", json!({"winner": "a"})).await;
    assert_eq!(r["state"], 3);
    let open = app.open_match(&match_spec("lol")).await.id;
    let mut c = app.player("picky").await;
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
    app.finish().await;
}

#[tokio::test]
async fn an_odds_change_between_detail_and_bet_is_1005_and_the_retry_wins() {
    let app = app().await;
    let mid = app.open_match(&match_spec("cs2")).await.id;
    let mut c = app.player("punter").await;
    let detail = c.call(msg::MATCH_DETAIL, json!({ "match_id": mid })).await;
    assert_eq!((detail.code(), detail.body["odds_ver"].as_u64()), (0, Some(1)));
    let path = format!("/api/matches/{mid}/odds");
    let odds = Request::new("PUT", &path).json(&json!({"options": [{"key": "b", "odds": 1600}]}));
    let r = app.staff(Role::Operator).send(odds).await.unwrap();
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
    app.finish().await;
}

#[tokio::test]
async fn browsing_my_bets_bet_detail_and_the_ledger() {
    let app = app().await;
    let hidden = new_match(&app, "lol", &[]).await;
    let lol = app.open_match(&match_spec("lol")).await.id;
    let dota = new_match(&app, "dota2", &["approve"]).await;
    let live = new_match(&app, "lol", &["approve", "open", "start"]).await;
    let mut c = app.player("browser").await;
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
    let staff_view: Value = app.staff(Role::Viewer).get(&format!("/api/users/{uid}")).await.unwrap();
    assert_eq!(staff_view["recent_bets"][0], c.call(msg::BET_DETAIL, json!({ "bet_id": placed[2] })).await.body);

    // Another user's bet does not exist for me.
    let mut other = app.player("nosy").await;
    assert_eq!(other.call(msg::BET_DETAIL, json!({ "bet_id": placed[0] })).await.code(), 1007);
    assert_eq!(c.call(msg::BET_DETAIL, json!({ "bet_id": placed[0] })).await.code(), 0);
    assert_eq!(c.call(msg::BET_DETAIL, json!({ "bet_id": 424242 })).await.code(), 1007);
    drop((c, other));
    app.finish().await;
}

#[tokio::test]
async fn fifty_players_bet_and_gm_shows_the_pool_they_add_up_to() {
    let app = app().await;
    let mid = app.open_match(&match_spec("valorant")).await.id;
    let runs = (0..50).map(|i| {
        let app = &app;
        async move {
            let mut c = app.player(&format!("fan{i:02}")).await;
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
    let m = app.match_view(mid).await;
    assert_eq!(m["bet_count"], 50);
    assert_eq!(m["pool"]["a"].as_i64(), expected.get("a").copied());
    assert_eq!(m["pool"]["b"].as_i64(), expected.get("b").copied());
    // dbsvr has flushed the outbox once the app is idle, and counted the day's bets and volume.
    app.check().await;
    let stats: Value = app.staff(Role::Viewer).get("/api/stats").await.unwrap();
    let volume = stats["volume"]["today"].as_i64().unwrap();
    assert_eq!(volume, expected.values().sum::<i64>());
    assert_eq!(stats["bets"]["today"].as_i64(), Some(50));
    let (mysql_bets,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bets WHERE match_id = ?")
        .bind(mid)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(mysql_bets, 50, "every bet reached MySQL");
    app.finish().await;
}
