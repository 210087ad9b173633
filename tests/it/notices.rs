//! The notice board (docs/protocol.md "Notices", docs/gm.md "Notices"): staff publish notices for
//! everyone, one user or the bettors of a match, now or scheduled, and withdraw them; players online
//! get each as 903 when it is published, everyone finds theirs on their board (214) — offline ones
//! too, when they come back — and marks them read (215).

use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, match_spec};
use test_support::{Client, OPERATOR, VIEWER};

async fn publish(app: &App, body: Value) -> Value {
    let r = app.gm().post("/api/notices", OPERATOR, &body).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

/// The next 903, which must be for notice `id` (match state pushes to a bettor are passed over).
async fn notice_push(c: &mut Client, id: &Value) -> Value {
    loop {
        let f = c.push().await;
        if f.head.id == msg::PUSH_MATCH_STATE {
            continue;
        }
        assert_eq!((f.head.id, &f.body["notice_id"]), (msg::PUSH_ANNOUNCEMENT, id), "{f:?}");
        return f.body;
    }
}

/// The ids on a player's board, newest first, and its unread count.
async fn board(c: &mut Client) -> (Vec<Value>, u64) {
    let r = c.call(msg::LIST_NOTICES, json!({"limit": 50})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let ids = r.body["items"].as_array().unwrap().iter().map(|n| n["notice_id"].clone()).collect();
    (ids, r.body["unread"].as_u64().unwrap())
}

#[tokio::test]
async fn notices_reach_their_audience_online_at_once_and_offline_on_the_board() {
    let app = App::spawn().await;
    let mut alice = app.player("ntc_alice").await;
    let mut bob = app.player("ntc_bob").await;
    let carol_id = {
        let mut carol = app.player("ntc_carol").await;
        carol.call(msg::PROFILE, json!({})).await.body["user_id"].clone()
    };
    let mid = app.open_match(&match_spec("lol")).await.id;
    let req = json!({"match_id": mid, "option": "a", "stake": 10, "odds_ver": 1, "req_id": "ntc-1"});
    assert_eq!(alice.call(msg::PLACE_BET, req).await.code(), 0);

    // For everyone: both online players get it at once.
    let all = publish(&app, json!({"title": "Welcome", "text": "Season 3 starts today"})).await;
    assert_eq!((all["state"].as_str(), all["target"].as_str()), (Some("live"), Some("all")));
    let pushed = notice_push(&mut alice, &all["id"]).await;
    assert_eq!((pushed["title"].as_str(), pushed["text"].as_str()), (Some("Welcome"), Some("Season 3 starts today")));
    notice_push(&mut bob, &all["id"]).await;
    // For the bettors of the match: alice bet on it, bob did not.
    let bettors = publish(&app, json!({"text": "Map 2 is delayed", "target": "match", "target_id": mid})).await;
    assert_eq!(notice_push(&mut alice, &bettors["id"]).await["match_id"], json!(mid));
    // For carol, who is offline.
    let mine =
        publish(&app, json!({"text": "Your prize is on its way", "target": "user", "target_id": carol_id})).await;

    app.check().await;
    assert!(bob.pushes_until_ping().await.is_empty(), "nothing more for bob");
    let more: Vec<_> =
        alice.pushes_until_ping().await.into_iter().filter(|f| f.head.id != msg::PUSH_MATCH_STATE).collect();
    assert!(more.is_empty(), "nothing more for alice: {more:?}");
    assert_eq!(board(&mut alice).await, (vec![bettors["id"].clone(), all["id"].clone()], 2));
    assert_eq!(board(&mut bob).await, (vec![all["id"].clone()], 1));
    let mut carol = app.client().await;
    carol.login("ntc_carol", test_support::app::PASSWORD).await;
    assert_eq!(board(&mut carol).await, (vec![mine["id"].clone(), all["id"].clone()], 2));

    // Read marks: one, then all; bad requests are named.
    let r = alice.call(msg::MARK_NOTICES_READ, json!({"notice_ids": [all["id"]]})).await;
    assert_eq!((r.code(), r.body["unread"].as_u64()), (0, Some(1)), "{r:?}");
    let r = alice.call(msg::LIST_NOTICES, json!({})).await;
    let read: Vec<bool> = r.body["items"].as_array().unwrap().iter().map(|n| n["read"].as_bool().unwrap()).collect();
    assert_eq!(read, vec![false, true]);
    assert_eq!(alice.call(msg::MARK_NOTICES_READ, json!({})).await.code(), 7);
    let r = alice.call(msg::MARK_NOTICES_READ, json!({"all": true})).await;
    assert_eq!(r.body["unread"].as_u64(), Some(0), "{r:?}");
    assert_eq!(board(&mut bob).await.1, 1, "marks are each player's own");

    // Withdrawn: off every board at once, still in gm's list; once only.
    let r =
        app.gm().post(&format!("/api/notices/{}/withdraw", all["id"].as_str().unwrap()), OPERATOR, &json!({})).await;
    assert_eq!(
        (r.status, r.body["state"].as_str(), r.body["withdrawn_by"].as_str()),
        (200, Some("withdrawn"), Some("otto"))
    );
    let r =
        app.gm().post(&format!("/api/notices/{}/withdraw", all["id"].as_str().unwrap()), OPERATOR, &json!({})).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(board(&mut bob).await, (vec![], 0));
    assert_eq!(board(&mut carol).await.0, vec![mine["id"].clone()]);
    let listed = app.gm().get("/api/notices", VIEWER).await.body;
    let states: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|n| n["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["live", "live", "withdrawn"], "{listed:?}");

    // Bad targets.
    let gm = app.gm();
    let r = gm.post("/api/notices", OPERATOR, &json!({"text": "x", "target": "user", "target_id": 999_999_999})).await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = gm.post("/api/notices", OPERATOR, &json!({"text": "x", "target": "match"})).await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = gm.post("/api/notices", OPERATOR, &json!({"text": ""})).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(gm.post("/api/notices", VIEWER, &json!({"text": "x"})).await.status, 403);
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn a_scheduled_notice_appears_and_is_pushed_at_its_time_unless_withdrawn_before() {
    let app = App::spawn().await;
    let mut bob = app.player("ntc_sched").await;
    let at = common::time::now_ms() + 1_500;
    let withdrawn = publish(&app, json!({"text": "Cancelled promo", "at": at})).await;
    let kept = publish(&app, json!({"text": "Finals start now", "at": at + 300})).await;
    assert_eq!((withdrawn["state"].as_str(), withdrawn["publish_at"].as_u64()), (Some("scheduled"), Some(at)));
    assert_eq!(board(&mut bob).await, (vec![], 0), "not on the board before its time");
    let r = app
        .gm()
        .post(&format!("/api/notices/{}/withdraw", withdrawn["id"].as_str().unwrap()), OPERATOR, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // The kept one arrives (not before its time); once every event is handled, the withdrawn one,
    // due earlier, has not been pushed, and only the kept one is on the board.
    notice_push(&mut bob, &kept["id"]).await;
    assert!(common::time::now_ms() >= at + 300, "not before its time");
    app.check().await;
    assert!(bob.pushes_until_ping().await.is_empty(), "the withdrawn notice was not pushed");
    assert_eq!(board(&mut bob).await, (vec![kept["id"].clone()], 1));
    let v = app.gm().get(&format!("/api/notices/{}", kept["id"].as_str().unwrap()), VIEWER).await.body;
    assert_eq!((v["state"].as_str(), v["text"].as_str()), (Some("live"), Some("Finals start now")));
    app.finish().await;
}
