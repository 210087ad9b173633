//! gm against the real Redis: auth and roles, validation, the whole match lifecycle (legal paths,
//! and every illegal transition refused with 409 and no change), odds, import, users and grants,
//! payments, announcements, ops figures, the audit trail and the error shape.

use common::shards::Home;
use std::collections::BTreeMap;

use bytes::Bytes;
use common::Shutdown;
use fred::prelude::*;
use protocol::matches::{MatchState, TRANSITIONS, allowed_from};
use serde_json::{Value, json};
use test_support::http::{CURRENCY, Gm, Res, sign, signed_payment};
use test_support::{ADMIN, OPERATOR, TestEnv, VIEWER, spawn_gm};

async fn start() -> (TestEnv, Gm, Shutdown) {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let addr = spawn_gm(env.node(1), &shutdown).await;
    (env, Gm::new(addr), shutdown)
}

fn spec() -> Value {
    json!({
        "type": "lol", "title": "T1 vs GEN", "teams": ["T1", "GEN"], "start_at": 1_900_000_000_000u64,
        "options": [{"key": "a", "label": "T1", "odds": 1850}, {"key": "b", "label": "GEN", "odds": 2100}],
        "min_stake": 10, "max_stake": 5000
    })
}

async fn create(gm: &Gm) -> u64 {
    let r = gm.post("/api/matches", OPERATOR, &spec()).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body["match_id"].as_u64().unwrap()
}

/// Runs a staff action by its table name.
async fn act(gm: &Gm, mid: u64, action: &str) -> Res {
    match action {
        "result" => gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await,
        "no_result" => gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": null})).await,
        other => gm.post(&format!("/api/matches/{mid}/{other}"), OPERATOR, &json!({})).await,
    }
}

/// Everything a transition could touch, for before/after comparisons.
async fn snapshot(env: &TestEnv, mid: u64) -> BTreeMap<String, String> {
    let k = env.keys();
    let mut out: BTreeMap<String, String> = env.redis.pool.hgetall(k.match_(mid)).await.unwrap();
    let mut zsets = vec![k.matches_pending()];
    for family in ["list", "doing", "finished"] {
        zsets.push(k.matches_index(family, "all"));
        zsets.push(k.matches_index(family, "lol"));
    }
    for z in zsets {
        let ids: Vec<String> = env.redis.pool.zrange(&z, 0, -1, None, false, None, false).await.unwrap();
        out.insert(z, ids.join(","));
    }
    for q in [k.notifies(), vec![k.settle()], k.outboxes()].concat() {
        out.insert(q.clone(), env.llen(&q).await.to_string());
    }
    out
}

/// The elements of a queue, oldest first (producers LPUSH; consumers take from the right).
async fn decoded(env: &TestEnv, key: &str) -> Vec<Value> {
    let raw: Vec<Bytes> = env.redis.pool.lrange(key, 0, -1).await.unwrap();
    raw.iter().rev().map(|r| rmp_serde::from_slice(r).unwrap()).collect()
}

#[tokio::test]
async fn auth_roles_and_the_error_shape() {
    let (_env, gm, shutdown) = start().await;
    let r = gm.call("GET", "/api/matches", None, None::<&()>).await;
    assert_eq!((r.status, r.error_code()), (401, "unauthorized"));
    let r = gm.get("/api/matches", "not-a-token-at-all").await;
    assert_eq!(r.status, 401);
    assert_eq!(gm.get("/api/matches", VIEWER).await.status, 200);
    let lower = gm.get_with("/api/matches", &[("authorization", format!("bearer {VIEWER}"))]).await;
    assert_eq!(lower.status, 200, "the scheme is case-insensitive");
    let basic = gm.get_with("/api/matches", &[("authorization", format!("Basic {VIEWER}"))]).await;
    assert_eq!(basic.status, 401);
    let r = gm.post("/api/matches", VIEWER, &spec()).await;
    assert_eq!((r.status, r.error_code()), (403, "forbidden"), "{r:?}");
    assert!(r.message().contains("operator"), "{r:?}");
    let r = gm.post("/api/users/1/grant", OPERATOR, &json!({"amount": 5, "reason": "x"})).await;
    assert_eq!(r.status, 403, "grants are for admins");
    // axum's own rejections and unknown routes answer in the same shape.
    let r = gm.call("POST", "/api/matches", Some(OPERATOR), Some(&json!({"type": 5}))).await;
    assert_eq!((r.status, r.error_code()), (400, "bad_request"), "{r:?}");
    let r = gm.get("/api/matches/not-a-number", VIEWER).await;
    assert_eq!((r.status, r.error_code()), (400, "bad_request"), "{r:?}");
    let r = gm.get("/api/nothing-here", VIEWER).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    let r = gm.call("DELETE", "/api/matches", Some(ADMIN), None::<&()>).await;
    assert_eq!((r.status, r.error_code()), (405, "method_not_allowed"));
    let r = gm.get("/api/matches/999999", VIEWER).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    // Who a token is (the console draws its buttons from it).
    for (token, name, role) in [(VIEWER, "vera", "viewer"), (OPERATOR, "otto", "operator"), (ADMIN, "ada", "admin")] {
        let r = gm.get("/api/whoami", token).await;
        assert_eq!((r.status, r.body.clone()), (200, json!({"name": name, "role": role})));
    }
    assert_eq!(gm.call("GET", "/api/whoami", None, None::<&()>).await.status, 401);
    // Users by name: 400 without one, 404 for no such user.
    assert_eq!(gm.get("/api/users?name=", VIEWER).await.error_code(), "invalid");
    let r = gm.get("/api/users?name=nobody", VIEWER).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"));
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn each_validation_failure_is_named() {
    let (env, gm, shutdown) = start().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("type", json!("chess"), "type"),
        ("teams", json!(["only one"]), "teams"),
        ("options", json!([{"key": "a", "label": "A", "odds": 1500}]), "options"),
        (
            "options",
            json!([{"key": "a", "label": "A", "odds": 1500}, {"key": "a", "label": "B", "odds": 1500}]),
            "options[1].key",
        ),
        (
            "options",
            json!([{"key": "a", "label": "A", "odds": 1000}, {"key": "b", "label": "B", "odds": 1500}]),
            "options[0].odds",
        ),
        (
            "options",
            json!([{"key": "a", "label": "A", "odds": 1_000_001}, {"key": "b", "label": "B", "odds": 1500}]),
            "options[0].odds",
        ),
        ("min_stake", json!(0), "min_stake"),
        ("max_stake", json!(5), "max_stake"),
        // Beyond 10^12 a payout could pass 2^53, where the Lua scripts' doubles stop being exact.
        ("max_stake", json!(1_000_000_000_001i64), "max_stake"),
    ];
    for (field, value, named) in cases {
        let mut body = spec();
        body[field] = value;
        let r = gm.post("/api/matches", OPERATOR, &body).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid"), "{field}: {r:?}");
        assert!(r.message().starts_with(named), "{field}: the message names {named}: {}", r.message());
    }
    assert!(env.scan("{g}:match:*").await.is_empty(), "nothing was created");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_legal_path_moves_state_indexes_jobs_and_events() {
    let (env, gm, shutdown) = start().await;
    let k = env.keys().clone();
    let mid = create(&gm).await;
    let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!((m["state"].as_i64(), m["state_name"].as_str()), (Some(-1), Some("pending")));
    assert_eq!(m["odds_ver"], 1);
    let in_index = |family: &'static str| {
        let (env, k) = (&env, &k);
        async move {
            let key = if family == "pending" { k.matches_pending() } else { k.matches_index(family, "lol") };
            let score: Option<f64> = env.redis.pool.zscore(&key, mid).await.unwrap();
            score.is_some()
        }
    };
    assert!(in_index("pending").await);
    let steps = [
        ("approve", 0, "list"),
        ("open", 2, "list"),
        ("suspend", 1, "list"),
        ("open", 2, "list"),
        ("start", 1, "doing"),
        ("result", 3, "doing"),
    ];
    for (action, state, family) in steps {
        let r = act(&gm, mid, action).await;
        assert_eq!((r.status, r.body["state"].as_i64()), (200, Some(state)), "{action}: {r:?}");
        assert!(in_index(family).await, "after {action} the match is in {family}");
        let all: Option<f64> = if family == "pending" {
            None
        } else {
            env.redis.pool.zscore(k.matches_index(family, "all"), mid).await.unwrap()
        };
        assert!(all.is_some(), "…and in {family}:all");
    }
    assert_eq!(gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["result"], "a");
    // One event per transition, and one settle job.
    let events = decoded(&env, &k.notify(Home::Global)).await;
    let states: Vec<i64> = events.iter().map(|e| e["state"].as_i64().unwrap()).collect();
    assert_eq!(states, vec![0, 2, 1, 2, 1, 3]);
    assert!(events.iter().all(|e| e["kind"] == "match_state" && e["match_id"] == mid));
    let jobs = decoded(&env, &k.settle()).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0]["kind"].as_str(), jobs[0]["winner"].as_str()), (Some("settle"), Some("a")));
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn cancel_from_every_state_that_allows_it_and_no_result() {
    let (env, gm, shutdown) = start().await;
    let paths: [&[&str]; 5] =
        [&[], &["approve"], &["approve", "open"], &["approve", "open", "suspend"], &["approve", "start"]];
    for path in paths {
        let mid = create(&gm).await;
        for a in path {
            assert_eq!(act(&gm, mid, a).await.status, 200);
        }
        let r = act(&gm, mid, "cancel").await;
        assert_eq!((r.status, r.body["state"].as_i64()), (200, Some(6)), "cancel after {path:?}: {r:?}");
        let finished: Option<f64> =
            env.redis.pool.zscore(env.keys().matches_index("finished", "all"), mid).await.unwrap();
        assert!(finished.is_some());
    }
    let mid = create(&gm).await;
    for a in ["approve", "open", "start", "no_result"] {
        assert_eq!(act(&gm, mid, a).await.status, 200, "{a}");
    }
    let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!(m["state"], 7);
    let jobs = decoded(&env, &env.keys().settle()).await;
    assert_eq!(jobs.iter().filter(|j| j["kind"] == "refund").count(), 6, "5 cancels and 1 no-result queue refunds");
    let r = gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({})).await;
    assert_eq!((r.status, r.error_code()), (400, "invalid"), "winner is required");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn every_illegal_transition_is_a_409_that_changes_nothing() {
    let (env, gm, shutdown) = start().await;
    let reach: [&[&str]; 8] = [
        &[],
        &["approve"],
        &["approve", "open"],
        &["approve", "open", "suspend"],
        &["approve", "start"],
        &["approve", "start", "result"],
        &["approve", "start", "no_result"],
        &["cancel"],
    ];
    let staff_actions = ["approve", "open", "suspend", "start", "cancel", "close", "result", "no_result"];
    let mut refused = 0;
    for path in reach {
        let mid = create(&gm).await;
        for a in path {
            assert_eq!(act(&gm, mid, a).await.status, 200, "{a}");
        }
        let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
        let state = MatchState::from_code(m["state"].as_i64().unwrap()).unwrap();
        let live = m["live"].as_bool().unwrap();
        let allowed = allowed_from(state, live);
        assert_eq!(m["actions"], json!(allowed), "the view lists the allowed actions");
        for action in staff_actions.into_iter().filter(|a| !allowed.contains(a)) {
            let before = snapshot(&env, mid).await;
            let r = act(&gm, mid, action).await;
            assert_eq!(
                (r.status, r.error_code()),
                (409, "illegal_transition"),
                "{action} from {}: {r:?}",
                state.name()
            );
            assert!(r.message().contains(state.name()), "names the current state: {}", r.message());
            let named = if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") };
            assert!(r.message().contains(&named), "names the allowed actions: {}", r.message());
            assert_eq!(snapshot(&env, mid).await, before, "{action} from {} changed Redis", state.name());
            refused += 1;
        }
    }
    assert!(refused >= 40, "{refused} illegal transitions tried");
    assert_eq!(TRANSITIONS.len(), 11);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn odds_changes_bump_the_version() {
    let (_env, gm, shutdown) = start().await;
    let mid = create(&gm).await;
    let r = gm
        .call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "b", "odds": 2500}]})),
        )
        .await;
    assert_eq!((r.status, r.body["odds_ver"].as_u64()), (200, Some(2)), "{r:?}");
    assert_eq!(r.body["options"][1]["odds"], 2500);
    assert_eq!(r.body["options"][0]["odds"], 1850, "untouched options keep their odds");
    let r = gm
        .call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "zz", "odds": 2500}]})),
        )
        .await;
    assert_eq!((r.status, r.error_code()), (400, "invalid"));
    let r = gm
        .call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "a", "odds": 999}]})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = gm
        .call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "a", "odds": 1_000_001}]})),
        )
        .await;
    assert_eq!(r.status, 400, "odds above 1000.0");
    for a in ["approve", "start", "result"] {
        assert_eq!(act(&gm, mid, a).await.status, 200);
    }
    let r = gm
        .call(
            "PUT",
            &format!("/api/matches/{mid}/odds"),
            Some(OPERATOR),
            Some(&json!({"options": [{"key": "a", "odds": 1900}]})),
        )
        .await;
    assert_eq!(r.status, 409, "no odds changes while settling");
    assert_eq!(gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["odds_ver"], 2);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn import_is_idempotent_and_lists_filter_and_page() {
    let (env, gm, shutdown) = start().await;
    let feed: Vec<Value> = (0..5)
        .map(|i| {
            let mut m = spec();
            m["external_id"] = json!(format!("feed-{i}"));
            m["start_at"] = json!(1_900_000_000_000u64 + i * 1000);
            if i == 4 {
                m["type"] = json!("dota2");
            }
            m
        })
        .collect();
    let first = gm.post("/api/matches/import", OPERATOR, &json!({"matches": feed})).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert!(first.body["items"].as_array().unwrap().iter().all(|i| i["created"] == true));
    let again = gm.post("/api/matches/import", OPERATOR, &json!({"matches": feed})).await;
    assert!(again.body["items"].as_array().unwrap().iter().all(|i| i["created"] == false));
    let ids = |r: &Res| {
        r.body["items"].as_array().unwrap().iter().map(|i| i["match_id"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), ids(&again), "the same matches");
    assert_eq!(env.scan("{g}:match:ext:*").await.len(), 5);
    let matches: Vec<String> = env.scan("{g}:match:*").await.into_iter().filter(|k| !k.contains("ext")).collect();
    assert_eq!(matches.len(), 5, "nothing new on the second import");
    let mut bad = feed.clone();
    bad[2]["options"][0]["odds"] = json!(500);
    let r = gm.post("/api/matches/import", OPERATOR, &json!({"matches": bad})).await;
    assert!(r.message().starts_with("matches[2].options[0].odds"), "{r:?}");

    let page = gm.get("/api/matches?type=lol&limit=2&offset=1", VIEWER).await;
    let titles: Vec<u64> =
        page.body["items"].as_array().unwrap().iter().map(|m| m["start_at"].as_u64().unwrap()).collect();
    assert_eq!(titles, vec![1_900_000_001_000, 1_900_000_002_000], "sorted by start time, paged");
    let pending = gm.get("/api/matches?state=-1", VIEWER).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 5);
    let dota = gm.get("/api/matches?type=dota2", VIEWER).await;
    assert_eq!(dota.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(gm.get("/api/matches?state=42", VIEWER).await.status, 400);
    let first_id = ids(&first)[0];
    assert_eq!(act(&gm, first_id, "approve").await.status, 200);
    let visible = gm.get("/api/matches?state=0", VIEWER).await;
    assert_eq!(ids(&visible), vec![first_id]);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn match_detail_reports_pool_totals_and_bet_count() {
    let (env, gm, shutdown) = start().await;
    let mid = create(&gm).await;
    // What place_bet writes in each shard (issue 4) is summed over the shards; the bet count is
    // the open bets plus those settled so far (each shard's copy counts them).
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.match_pool(3, mid), [("a", 300), ("b", 20)]).await.unwrap();
    let _: () = env.redis.pool.hset(k.match_pool(40, mid), [("b", 100)]).await.unwrap();
    let _: () = env.redis.pool.hset(k.match_open(3, mid), vec![("3", "67")]).await.unwrap();
    let _: () = env.redis.pool.hset(k.match_open(40, mid), vec![("40", "104")]).await.unwrap();
    let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!(
        (m["pool"]["a"].as_i64(), m["pool"]["b"].as_i64(), m["bet_count"].as_u64()),
        (Some(300), Some(120), Some(2))
    );
    let _: () = env.redis.pool.hset(k.match_copy(3, mid), ("settled", 1)).await.unwrap();
    let _: () = env.redis.pool.hset(k.match_copy(63, mid), ("settled", 2)).await.unwrap();
    let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    assert_eq!((m["bet_count"].as_u64(), m["settled"].as_u64()), (Some(5), Some(3)), "2 open + 3 settled");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

async fn user(env: &TestEnv, uid: u64, balance: i64) {
    let k = env.keys();
    let _: () = env
        .redis
        .pool
        .hset(k.user(uid), [("id", uid.to_string()), ("username", format!("u{uid}")), ("created_at", "1".into())])
        .await
        .unwrap();
    let _: () = env.redis.pool.hset(k.wallet(uid), [("balance", balance), ("ver", 0)]).await.unwrap();
}

async fn ledger_sum(env: &TestEnv, uid: u64) -> i64 {
    decoded(env, &env.keys().ledger(uid)).await.iter().map(|e| e["delta"].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn a_staff_member_grants_at_most_the_daily_limit_and_coins_not_granted_go_back() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    cfg.gm.grant_daily_limit = 1000;
    let gm = Gm::new(spawn_gm(cfg, &shutdown).await);
    user(&env, 7, 0).await;
    let grant = |amount: i64, request_id: &str| json!({"amount": amount, "reason": "promo", "request_id": request_id});
    let r = gm.post("/api/users/7/grant", ADMIN, &grant(600, "g-1")).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(600)), "{r:?}");
    // A retry of the same grant, taking coins back, and a grant refused (no such user) use none of it.
    assert_eq!(gm.post("/api/users/7/grant", ADMIN, &grant(600, "g-1")).await.status, 200);
    assert_eq!(gm.post("/api/users/7/grant", ADMIN, &grant(-100, "g-2")).await.status, 200);
    assert_eq!(gm.post("/api/users/99/grant", ADMIN, &grant(300, "g-3")).await.status, 404);
    // 600 granted: 500 more would pass 1000 — refused, clearly, nothing credited.
    let r = gm.post("/api/users/7/grant", ADMIN, &grant(500, "g-4")).await;
    assert_eq!((r.status, r.error_code()), (409, "daily_limit"), "{r:?}");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("ada has granted 600 coins today") && message.contains("1000"), "{message}");
    assert_eq!(ledger_sum(&env, 7).await, 500);
    // Up to the limit exactly, then nothing more today.
    let r = gm.post("/api/users/7/grant", ADMIN, &grant(400, "g-5")).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(900)), "{r:?}");
    let r = gm.post("/api/users/7/grant", ADMIN, &grant(1, "g-6")).await;
    assert_eq!((r.status, r.error_code()), (409, "daily_limit"), "{r:?}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// Two more admins for maker–checker tests: bea and cid.
const BEA: &str = "bea-admin-token-0123456789abcdef0123456789";
const CID: &str = "cid-admin-token-0123456789abcdef0123456789";

#[tokio::test]
async fn a_grant_above_the_threshold_does_nothing_until_a_second_admin_approves_and_applies_once() {
    use common::config::{Role, StaffToken};
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    cfg.gm.grant_approval_above = 1000;
    for (name, token) in [("bea", BEA), ("cid", CID)] {
        cfg.gm.tokens.push(StaffToken { name: name.into(), token: token.into(), role: Role::Admin });
    }
    let gm = Gm::new(spawn_gm(cfg, &shutdown).await);
    user(&env, 3, 100).await;
    // Up to the threshold a grant is made at once.
    let r = gm.post("/api/users/3/grant", ADMIN, &json!({"amount": 1000, "reason": "promo"})).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(1100)), "{r:?}");
    // Above it (either way) it is asked for, and nothing changes.
    let before = snapshot_wallet(&env, 3).await;
    let r =
        gm.post("/api/users/3/grant", ADMIN, &json!({"amount": 5000, "reason": "prize", "request_id": "p-1"})).await;
    assert_eq!(
        (r.status, r.body["state"].as_str(), r.body["asked_by"].as_str()),
        (202, Some("pending"), Some("ada")),
        "{r:?}"
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The same request sent again is the same request.
    let again =
        gm.post("/api/users/3/grant", ADMIN, &json!({"amount": 5000, "reason": "prize", "request_id": "p-1"})).await;
    assert_eq!((again.status, again.body["id"].as_str()), (202, Some(id.as_str())), "{again:?}");
    let take = gm.post("/api/users/3/grant", ADMIN, &json!({"amount": -1001, "reason": "correction"})).await;
    assert_eq!((take.status, take.body["state"].as_str()), (202, Some("pending")), "{take:?}");
    let wallet = snapshot_wallet(&env, 3).await;
    assert_eq!((&wallet.0, wallet.1), (&before.0, before.1), "no coins moved, no ledger record");
    let pending = gm.get("/api/approvals?state=pending", VIEWER).await;
    let ids: Vec<&str> = pending.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![take.body["id"].as_str().unwrap(), id.as_str()], "newest first");

    // The admin who asked cannot approve it; an operator cannot either.
    let r = gm.post(&format!("/api/approvals/{id}/approve"), ADMIN, &json!({})).await;
    assert_eq!((r.status, r.error_code()), (409, "own_request"), "{r:?}");
    let r = gm.post(&format!("/api/approvals/{id}/approve"), OPERATOR, &json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(gm.get(&format!("/api/approvals/{id}"), VIEWER).await.body["state"], "pending");
    assert_eq!(snapshot_wallet(&env, 3).await.0, before.0, "still nothing granted");

    // Two admins approve at once, and one of them again: one grant of 5000.
    let path = format!("/api/approvals/{id}/approve");
    let empty = json!({});
    let (a, b) = tokio::join!(gm.post(&path, BEA, &empty), gm.post(&path, CID, &empty));
    for r in [&a, &b] {
        assert_eq!((r.status, r.body["state"].as_str()), (200, Some("approved")), "{r:?}");
        assert_eq!(r.body["result"]["balance"].as_i64(), Some(6100), "{r:?}");
    }
    let r = gm.post(&path, BEA, &json!({})).await;
    assert_eq!((r.status, r.body["result"]["balance"].as_i64()), (200, Some(6100)), "{r:?}");
    assert_eq!(ledger_sum(&env, 3).await, 6000, "one grant of 5000 after the 1000");
    let checker = r.body["decided_by"].as_str().unwrap();
    assert!(checker == "bea" || checker == "cid", "{r:?}");
    let r = gm.post(&format!("/api/approvals/{id}/reject"), CID, &json!({})).await;
    assert_eq!((r.status, r.error_code()), (409, "decided"), "{r:?}");

    // Rejected: nothing granted, and it cannot be approved after.
    let other = take.body["id"].as_str().unwrap();
    let r = gm.post(&format!("/api/approvals/{other}/reject"), BEA, &json!({})).await;
    assert_eq!(
        (r.status, r.body["state"].as_str(), r.body["decided_by"].as_str()),
        (200, Some("rejected"), Some("bea"))
    );
    let r = gm.post(&format!("/api/approvals/{other}/approve"), CID, &json!({})).await;
    assert_eq!((r.status, r.error_code()), (409, "decided"), "{r:?}");
    assert_eq!(ledger_sum(&env, 3).await, 6000);
    assert_eq!(gm.post("/api/approvals/nope/approve", BEA, &json!({})).await.status, 404);

    // Each step is in the audit trail under the person who took it.
    let audit: Vec<(String, String)> = decoded(&env, &env.keys().outbox(Home::Global))
        .await
        .iter()
        .filter(|r| r["table"] == "audit")
        .map(|r| (r["fields"]["who"].as_str().unwrap().to_owned(), r["fields"]["action"].as_str().unwrap().to_owned()))
        .collect();
    for (who, action) in [("ada", "grant.ask"), (checker, "grant.approve"), ("bea", "grant.reject")] {
        assert!(audit.contains(&(who.to_owned(), action.to_owned())), "{who} {action} in {audit:?}");
    }
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn grants_write_the_ledger_and_never_go_below_zero() {
    let (env, gm, shutdown) = start().await;
    user(&env, 7, 0).await;
    let r = gm.post("/api/users/7/grant", ADMIN, &json!({"amount": 500, "reason": "welcome back"})).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(500)), "{r:?}");
    let r = gm.post("/api/users/7/grant", ADMIN, &json!({"amount": -200, "reason": "chargeback"})).await;
    assert_eq!(r.body["balance"], 300);
    let before = snapshot_wallet(&env, 7).await;
    let r = gm.post("/api/users/7/grant", ADMIN, &json!({"amount": -301, "reason": "too much"})).await;
    assert_eq!((r.status, r.error_code()), (409, "insufficient_balance"), "{r:?}");
    assert_eq!(snapshot_wallet(&env, 7).await, before, "a refused grant changes nothing");
    assert_eq!(gm.post("/api/users/7/grant", ADMIN, &json!({"amount": 0, "reason": "x"})).await.status, 400);
    assert_eq!(gm.post("/api/users/7/grant", ADMIN, &json!({"amount": 5, "reason": " "})).await.status, 400);
    assert_eq!(gm.post("/api/users/99/grant", ADMIN, &json!({"amount": 5, "reason": "x"})).await.status, 404);
    assert_eq!(ledger_sum(&env, 7).await, 300, "the ledger sums to the balance");
    // A grant sent with a request id happens once, however often it is retried.
    for _ in 0..3 {
        let r = gm
            .post("/api/users/7/grant", ADMIN, &json!({"amount": 50, "reason": "bonus", "request_id": "bonus-7"}))
            .await;
        assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(350)), "{r:?}");
    }
    let r =
        gm.post("/api/users/7/grant", ADMIN, &json!({"amount": 60, "reason": "bonus", "request_id": "bonus-7"})).await;
    assert_eq!(r.status, 409, "the same request id for another amount");
    assert_eq!(ledger_sum(&env, 7).await, 350);
    let u = gm.get("/api/users/7", VIEWER).await;
    assert_eq!((u.status, u.body["balance"].as_i64()), (200, Some(350)));
    let reasons: Vec<&str> =
        u.body["recent_ledger"].as_array().unwrap().iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["grant", "grant", "grant"]);
    assert_eq!(gm.get("/api/users/99", VIEWER).await.status, 404);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

async fn snapshot_wallet(env: &TestEnv, uid: u64) -> (BTreeMap<String, String>, i64, i64) {
    let w: BTreeMap<String, String> = env.redis.pool.hgetall(env.keys().wallet(uid)).await.unwrap();
    (w, env.llen(&env.keys().ledger(uid)).await, env.lanes_len(&env.keys().outboxes()).await)
}

#[tokio::test]
async fn payment_callbacks_are_signed_and_credit_once() {
    let (env, gm, shutdown) = start().await;
    user(&env, 3, 100).await;
    let order = gm.order(3, 250).await;
    let paid = json!({"order_id": order, "user_id": 3, "amount": 250, "currency": CURRENCY});
    let (body, sig) = signed_payment(&paid);
    let before = snapshot_wallet(&env, 3).await;
    for bad in [sign(&body, "wrong-secret"), "zz".into(), String::new()] {
        let r = gm.raw("/api/payments/callback", body.clone(), &[("x-signature", bad)]).await;
        assert_eq!((r.status, r.error_code()), (401, "bad_signature"), "{r:?}");
    }
    let r = gm.raw("/api/payments/callback", body.clone(), &[]).await;
    assert_eq!(r.status, 401, "no signature");
    assert_eq!(snapshot_wallet(&env, 3).await, before, "bad signatures credit nothing");

    // The provider repeats the callback, even concurrently: one credit, the same answer each time.
    let headers = [("x-signature", sig.clone())];
    let calls = (0..10).map(|_| gm.raw("/api/payments/callback", body.clone(), &headers));
    let answers = futures_util::future::join_all(calls).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.body, answers[0].body);
    }
    assert_eq!(answers[0].body["balance"], 350);
    let balance: i64 = env.redis.pool.hget(env.keys().wallet(3), "balance").await.unwrap();
    assert_eq!(balance, 350);
    assert_eq!(ledger_sum(&env, 3).await, 250, "one ledger record");
    let state: Option<String> = env.redis.pool.hget(env.keys().order(3, &order), "state").await.unwrap();
    assert_eq!(state.as_deref(), Some("paid"));
    // The same order id for another amount is a conflict.
    let r = gm.pay(&order, 3, 999).await;
    assert_eq!(r.status, 409, "{r:?}");
    // So is the same order id for another user (whose wallet is in another shard): nothing credited.
    user(&env, 4, 100).await;
    let before = snapshot_wallet(&env, 4).await;
    let r = gm.pay(&order, 4, 250).await;
    assert_eq!((r.status, r.error_code()), (409, "conflict"), "{r:?}");
    assert_eq!(snapshot_wallet(&env, 4).await, before, "nothing credited to the other user");
    // Without a configured secret, callbacks are refused as a configuration matter, not a retry.
    let mut unconfigured = env.node(1);
    unconfigured.gm.payment_secret = "".into();
    let gm2 = Gm::new(spawn_gm(unconfigured, &shutdown).await);
    let r = gm2.raw("/api/payments/callback", body.clone(), &[("x-signature", sig)]).await;
    assert_eq!((r.status, r.error_code()), (503, "not_configured"), "{r:?}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// The callback credits only an order the server created, for its user, amount and currency:
/// anything else is refused, credits nothing, and does not spend the order.
#[tokio::test]
async fn a_callback_credits_only_an_order_the_server_made_for_its_user_amount_and_currency() {
    let (env, gm, shutdown) = start().await;
    user(&env, 3, 100).await;
    user(&env, 4, 100).await;
    let order = gm.order(3, 250).await;
    let (before_3, before_4) = (snapshot_wallet(&env, 3).await, snapshot_wallet(&env, 4).await);
    // An order id the server never made (what a provider or checkout bug would send).
    let r = gm.pay("made-up-order", 3, 250).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"), "{r:?}");
    let wrong = [
        json!({"order_id": order, "user_id": 3, "amount": 251, "currency": CURRENCY}),
        json!({"order_id": order, "user_id": 3, "amount": 25_000, "currency": CURRENCY}),
        json!({"order_id": order, "user_id": 3, "amount": 250, "currency": "EUR"}),
    ];
    for body in &wrong {
        let (bytes, sig) = signed_payment(body);
        let r = gm.raw("/api/payments/callback", bytes, &[("x-signature", sig)]).await;
        assert_eq!((r.status, r.error_code()), (409, "order_mismatch"), "{body}: {r:?}");
    }
    // Another user than the order's: that user has no such order.
    let r = gm.pay(&order, 4, 250).await;
    assert!(matches!((r.status, r.error_code()), (404, "not_found") | (409, "order_mismatch")), "{r:?}");
    let r = gm.pay(&order, 404, 250).await;
    assert_eq!(r.status, 404, "no such user: {r:?}");
    assert_eq!(snapshot_wallet(&env, 3).await, before_3, "nothing credited to the order's user");
    assert_eq!(snapshot_wallet(&env, 4).await, before_4, "nothing credited to the other user");
    let state: Option<String> = env.redis.pool.hget(env.keys().order(3, &order), "state").await.unwrap();
    assert_eq!(state.as_deref(), Some("created"), "the order is still unpaid");
    // The refusals did not spend the order: the provider's right callback credits it.
    let r = gm.pay(&order, 3, 250).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(350)), "{r:?}");
    // The contract's callback names no currency: it is the deployment's (orders.currency).
    let order = gm.order(3, 40).await;
    let plain = json!({"order_id": order, "user_id": 3, "amount": 40});
    let (bytes, sig) = signed_payment(&plain);
    let r = gm.raw("/api/payments/callback", bytes, &[("x-signature", sig)]).await;
    assert_eq!((r.status, r.body["balance"].as_i64()), (200, Some(390)), "{r:?}");
    // Only admins make orders, for users that exist; the order names what the callback must send.
    let r =
        gm.post("/api/orders", OPERATOR, &json!({"user_id": 3, "amount": 5, "channel": "bank", "reason": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    let r =
        gm.post("/api/orders", ADMIN, &json!({"user_id": 404, "amount": 5, "channel": "bank", "reason": "x"})).await;
    assert_eq!(r.status, 404, "{r:?}");
    for (field, body) in [
        ("amount", json!({"user_id": 3, "amount": 0, "channel": "bank", "reason": "x"})),
        ("channel", json!({"user_id": 3, "amount": 5, "channel": "a b", "reason": "x"})),
        ("reason", json!({"user_id": 3, "amount": 5, "channel": "bank", "reason": " "})),
    ] {
        let r = gm.post("/api/orders", ADMIN, &body).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid"), "{field}: {r:?}");
        assert!(r.message().starts_with(field), "{field}: {r:?}");
    }
    let r =
        gm.post("/api/orders", ADMIN, &json!({"user_id": 4, "amount": 70, "channel": "bank", "reason": "wire"})).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        (
            r.body["user_id"].as_u64(),
            r.body["amount"].as_i64(),
            r.body["currency"].as_str(),
            r.body["created_by"].as_str()
        ),
        (Some(4), Some(70), Some(CURRENCY), Some("ada"))
    );
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn announcements_now_or_later_and_ops_figures() {
    let (env, gm, shutdown) = start().await;
    let r = gm.post("/api/announcements", OPERATOR, &json!({"text": "finals tonight"})).await;
    assert_eq!(r.status, 202, "{r:?}");
    let events = decoded(&env, &env.keys().notify(Home::Global)).await;
    // An announcement is a notice for everyone: on the board, and its push queued.
    assert_eq!((events[0]["kind"].as_str(), events[0]["id"].as_str()), (Some("notice"), r.body["id"].as_str()));
    let notice = gm.get(&format!("/api/notices/{}", r.body["id"].as_str().unwrap()), VIEWER).await.body;
    assert_eq!((notice["text"].as_str(), notice["target"].as_str()), (Some("finals tonight"), Some("all")));
    let at = common::time::now_ms() + 3_600_000;
    let r = gm.post("/api/announcements", OPERATOR, &json!({"text": "later", "at": at})).await;
    assert_eq!(r.body["scheduled_at"], at);
    let due: Vec<(Bytes, f64)> =
        env.redis.pool.zrange(env.keys().sched(), 0, -1, None, false, None, true).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1 as u64, at);
    assert_eq!(gm.post("/api/announcements", OPERATOR, &json!({"text": ""})).await.status, 400);

    let today = common::time::day_of(common::time::now_ms());
    // Registrations are counted per shard: gm sums them.
    let _: () = env.redis.pool.set(env.keys().stats_reg(3, today), 3, None, None, false).await.unwrap();
    let _: () = env.redis.pool.set(env.keys().stats_reg(60, today), 1, None, None, false).await.unwrap();
    let _: () = env.redis.pool.set(env.keys().stats_reg(7, today - 1), 9, None, None, false).await.unwrap();
    let _: () = env.redis.pool.hset(env.keys().online(5), ("c1", "n1")).await.unwrap();
    let stats = gm.get("/api/stats", VIEWER).await.body;
    assert_eq!(
        (stats["registrations"]["today"].as_i64(), stats["registrations"]["yesterday"].as_i64()),
        (Some(4), Some(9))
    );
    assert_eq!(stats["users_online"], 1);
    let queues = gm.get("/api/queues", VIEWER).await.body;
    let depth = |name: &str| {
        queues["items"].as_array().unwrap().iter().find(|q| q["name"] == name).map(|q| q["depth"].as_i64().unwrap())
    };
    assert_eq!(depth("q:notify:{g}"), Some(1), "announcements are queued in the global lane");
    assert_eq!(depth("q:settle:{g}"), None, "no settlement queued");
    assert_eq!(depth("sched"), Some(1));
    let nodes = gm.get("/api/nodes", VIEWER).await;
    assert_eq!(nodes.status, 200);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn every_mutating_call_is_audited_in_the_outbox() {
    let (env, gm, shutdown) = start().await;
    user(&env, 8, 0).await;
    let mid = create(&gm).await;
    assert_eq!(act(&gm, mid, "approve").await.status, 200);
    assert_eq!(act(&gm, mid, "open").await.status, 200);
    assert_eq!(act(&gm, mid, "approve").await.status, 409, "refused calls are not audited");
    gm.call(
        "PUT",
        &format!("/api/matches/{mid}/odds"),
        Some(OPERATOR),
        Some(&json!({"options": [{"key": "a", "odds": 1700}]})),
    )
    .await;
    gm.post("/api/users/8/grant", ADMIN, &json!({"amount": 10, "reason": "r"})).await;
    gm.post("/api/announcements", OPERATOR, &json!({"text": "hi"})).await;
    let k = env.keys();
    let audits: Vec<Value> =
        decoded(&env, &k.outbox(Home::Global)).await.into_iter().filter(|r| r["table"] == "audit").collect();
    let actions: Vec<&str> = audits.iter().map(|a| a["fields"]["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["match.create", "match.approve", "match.open", "match.odds", "notice.publish"]);
    assert!(audits.iter().all(|a| a["fields"]["who"] == "otto"));
    assert_eq!(audits[1]["fields"]["target"], format!("match:{mid}"));
    // A grant's audit is written with the credit, in the user's own lane.
    let grants: Vec<Value> =
        decoded(&env, &k.outbox(Home::of_uid(8))).await.into_iter().filter(|r| r["table"] == "audit").collect();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(
        (grants[0]["fields"]["action"].as_str(), grants[0]["fields"]["who"].as_str()),
        (Some("user.grant"), Some("ada"))
    );
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}
