//! datacenter: a local feed server's items create, update (by external id) and cancel matches
//! through gm; a malformed item is rejected alone, and a feed outage changes nothing
//! (docs/gm.md "Data feeds").

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::config::{FeedConfig, Role};
use serde_json::{Value, json};
use test_support::app::{App, token};
use test_support::{eventually, spawn_datacenter};

/// A feed server: answers GET /feed with the status and body it holds now.
#[derive(Clone)]
struct Feed(Arc<Mutex<(StatusCode, String)>>);

impl Feed {
    async fn start() -> (Feed, String) {
        let feed = Feed(Arc::new(Mutex::new((StatusCode::OK, json!({"matches": []}).to_string()))));
        let state = feed.clone();
        let app = axum::Router::new().route(
            "/feed",
            axum::routing::get(move || {
                let state = state.clone();
                async move {
                    let (status, body) = state.0.lock().unwrap().clone();
                    (status, [("content-type", "application/json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feed", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (feed, url)
    }

    fn serve(&self, status: StatusCode, body: String) {
        *self.0.lock().unwrap() = (status, body);
    }
}

fn item(external_id: &str, title: &str, start_at: u64) -> Value {
    json!({
        "external_id": external_id, "type": "lol", "title": title, "teams": ["A", "B"], "start_at": start_at,
        "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}],
        "min_stake": 10, "max_stake": 1000
    })
}

/// gm's matches by external id.
async fn by_external_id(app: &App, external_id: &str) -> Option<Value> {
    let list: Value = app.staff(Role::Viewer).get("/api/matches?limit=100").await.unwrap();
    list["items"].as_array().unwrap().iter().find(|m| m["external_id"] == external_id).cloned()
}

#[tokio::test]
async fn a_feed_creates_updates_and_cancels_matches_and_a_bad_item_or_an_outage_changes_nothing() {
    let app = App::spawn().await;
    let (feed, url) = Feed::start().await;
    let start = 1_900_000_000_000u64;
    let mut bad_odds = item("feed-bad-odds", "Bad odds", start);
    bad_odds["options"][0]["odds"] = json!(999);
    feed.serve(
        StatusCode::OK,
        json!({"matches": [item("feed-1", "T1 vs GEN", start), item("feed-2", "DK vs KT", start),
            {"external_id": "feed-no-type", "title": "no type"}, bad_odds]})
        .to_string(),
    );
    let mut cfg = app.node();
    cfg.datacenter.gm_url = format!("http://{}", app.gm_addr);
    cfg.datacenter.token = token(Role::Operator).to_owned().into();
    cfg.datacenter.feeds =
        vec![FeedConfig { name: "test-feed".into(), url, interval_ms: 1000, timeout_ms: 2000, auto_settle: false }];
    let stats = spawn_datacenter(cfg, &app.shutdown);
    let pulled = |n: u64| {
        let stats = stats.clone();
        async move { eventually(&format!("{n} pulls of the feed"), || async { (stats.pulls() >= n).then_some(()) }).await }
    };

    // The first pull: two matches created pending approval; the two bad items rejected alone.
    pulled(1).await;
    let m1 = by_external_id(&app, "feed-1").await.expect("feed-1 created");
    let m2 = by_external_id(&app, "feed-2").await.expect("feed-2 created");
    assert_eq!((m1["state"].as_i64(), m2["state"].as_i64()), (Some(-1), Some(-1)), "created pending approval");
    assert!(by_external_id(&app, "feed-bad-odds").await.is_none());
    assert_eq!(stats.rejected(), 2, "the item without a type and the one with bad odds");
    let (id1, id2) = (m1["match_id"].as_u64().unwrap(), m2["match_id"].as_u64().unwrap());

    // Staff open feed-2 and a player bets on it.
    app.act(id2, "approve", json!({})).await;
    app.act(id2, "open", json!({})).await;
    let mut p = app.player("feed_fan").await;
    let grant = app.cfg.logic.signup_grant;
    let bet = json!({"match_id": id2, "option": "a", "stake": 100, "odds_ver": 1, "req_id": "feed-bet"});
    assert_eq!(p.call(protocol::msg::PLACE_BET, bet).await.code(), 0);

    // The next document: feed-1 renamed and moved, feed-2 called off (refunded).
    let later = start + 3_600_000;
    let mut cancelled = item("feed-2", "DK vs KT", start);
    cancelled["status"] = json!("cancelled");
    feed.serve(StatusCode::OK, json!({"matches": [item("feed-1", "T1 vs GEN (final)", later), cancelled]}).to_string());
    let seen = stats.pulls();
    pulled(seen + 1).await;
    let m1 = app.match_view(id1).await;
    assert_eq!((m1["title"].as_str(), m1["start_at"].as_u64()), (Some("T1 vs GEN (final)"), Some(later)));
    app.wait_state(id2, 8).await;
    let balance = p.call(protocol::msg::BALANCE, json!({})).await.body["balance"].as_i64();
    assert_eq!(balance, Some(grant), "the stake came back");

    // An outage, then a document that is not one: nothing changes, and each pull counts as failed.
    let failed = stats.failed();
    feed.serve(StatusCode::INTERNAL_SERVER_ERROR, "down".into());
    eventually("a failed pull", || async { (stats.failed() > failed).then_some(()) }).await;
    feed.serve(StatusCode::OK, json!({"games": []}).to_string());
    eventually("another failed pull", || async { (stats.failed() > failed + 1).then_some(()) }).await;
    assert_eq!(app.match_view(id1).await["title"], "T1 vs GEN (final)");

    // The feed reports feed-1's winner: kept for staff to confirm, not settled.
    let mut finished = item("feed-1", "T1 vs GEN (final)", later);
    finished["status"] = json!("finished");
    finished["winner"] = json!("b");
    feed.serve(StatusCode::OK, json!({"matches": [finished]}).to_string());
    let seen = stats.pulls();
    pulled(seen + 1).await;
    let m1 = app.match_view(id1).await;
    assert_eq!((m1["feed_result"].as_str(), m1["state"].as_i64()), (Some("b"), Some(-1)));

    // Every change went through gm, audited under the datacenter's token.
    app.check().await;
    let who: Vec<(String, String)> = sqlx::query_as("SELECT DISTINCT who, action FROM gm_audit WHERE action IN ('match.import', 'match.edit', 'match.cancel') ORDER BY action")
        .fetch_all(&app.db().pool)
        .await
        .unwrap();
    let actions: Vec<&str> = who.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(actions, ["match.cancel", "match.edit", "match.import"], "{who:?}");
    app.finish().await;
}
