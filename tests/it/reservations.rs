//! Reservations (docs/protocol.md "Reservations"): a player subscribes to a match (305) and is told
//! when it opens for bets, starts, and has its result (906) — on the WebSocket while online, and
//! through the push gateway (a local webhook sink here) while their app is closed: exactly one
//! push per event, signed, tried again after the gateway failed twice, and not again when the
//! event is handled twice.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use common::events::Event;
use common::shards::Home;
use fred::prelude::*;
use hmac::{Hmac, Mac};
use protocol::msg;
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::app::{App, match_spec};
use test_support::{Client, eventually};

const SECRET: &str = "webhook-secret-0123456789abcdef0123456789";

/// What the sink saw: every request (status answered, delivery header, signature ok, body).
#[derive(Default)]
struct Sink {
    fail_first: usize,
    seen: Mutex<Vec<(u16, String, bool, Value)>>,
}

impl Sink {
    fn delivered(&self) -> Vec<Value> {
        self.seen.lock().unwrap().iter().filter(|s| s.0 == 200).map(|s| s.3.clone()).collect()
    }

    fn requests(&self) -> Vec<(u16, String, bool)> {
        self.seen.lock().unwrap().iter().map(|s| (s.0, s.1.clone(), s.2)).collect()
    }
}

/// A push gateway on a local port that answers 500 to its first `fail_first` requests, then 200.
async fn sink(fail_first: usize) -> (SocketAddr, Arc<Sink>) {
    let state = Arc::new(Sink { fail_first, ..Sink::default() });
    let s = state.clone();
    let app = axum::Router::new().route(
        "/push",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(&body);
                let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let signed = header("x-matchday-signature") == want;
                let mut seen = s.seen.lock().unwrap();
                let status = if seen.len() < s.fail_first { 500 } else { 200 };
                seen.push((status, header("x-matchday-delivery"), signed, serde_json::from_slice(&body).unwrap()));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

/// The next 906 (state pushes to a bettor are passed over).
async fn match_event(c: &mut Client) -> Value {
    loop {
        let f = c.push().await;
        if f.head.id == msg::PUSH_MATCH_EVENT {
            return f.body;
        }
    }
}

#[tokio::test]
async fn subscribers_are_told_online_on_the_websocket_and_offline_once_per_event_through_the_gateway() {
    let (addr, sink) = sink(2).await;
    let app = App::builder()
        .config(move |cfg| {
            cfg.pushsvr.webhook_url = format!("http://{addr}/push");
            cfg.pushsvr.webhook_secret = SECRET.to_owned().into();
            cfg.pushsvr.webhook_backoff_ms = 20;
        })
        .spawn()
        .await;
    let mid = app.create_match(&match_spec("lol")).await;
    app.act(mid, "approve", json!({})).await;

    let mut online = app.player("res_online").await;
    let r = online.call(msg::SUBSCRIBE_MATCH, json!({"match_id": mid})).await;
    assert_eq!((r.code(), r.body.clone()), (0, json!({"match_id": mid, "subscribed": true})), "{r:?}");
    // Push tokens are registered on the connection; the app then closes.
    let offline_uid = {
        let mut away = app.player("res_away").await;
        let r = away.call(msg::REGISTER_DEVICE, json!({"platform": "fcm", "token": "fcm-token-away-1"})).await;
        assert_eq!((r.code(), r.body["devices"].as_u64()), (0, Some(1)), "{r:?}");
        let r = away.call(msg::REGISTER_DEVICE, json!({"platform": "pager", "token": "x"})).await;
        assert_eq!(r.code(), 7, "{r:?}");
        assert_eq!(away.call(msg::SUBSCRIBE_MATCH, json!({"match_id": mid})).await.code(), 0);
        away.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap()
    };
    // One who subscribed and changed their mind hears nothing.
    let mut fickle = app.player("res_fickle").await;
    assert_eq!(fickle.call(msg::SUBSCRIBE_MATCH, json!({"match_id": mid})).await.code(), 0);
    let r = fickle.call(msg::SUBSCRIBE_MATCH, json!({"match_id": mid, "subscribe": false})).await;
    assert_eq!(r.body["subscribed"], json!(false));
    assert_eq!(online.call(msg::SUBSCRIBE_MATCH, json!({"match_id": 999_999})).await.code(), 1007);

    // Opens: the online player gets 906; the closed app gets it through the gateway, after the
    // gateway failed twice.
    app.act(mid, "open", json!({})).await;
    assert_eq!(match_event(&mut online).await, json!({"match_id": mid, "event": "open", "title": "A vs B"}));
    eventually("the open push through the gateway", || async { (sink.delivered().len() == 1).then_some(()) }).await;
    let first = &sink.delivered()[0];
    assert_eq!((first["user_id"].as_u64(), first["push"]["id"].as_u64()), (Some(offline_uid), Some(906)));
    assert_eq!(first["devices"], json!([{"platform": "fcm", "token": "fcm-token-away-1"}]));
    assert_eq!(first["push"]["body"]["event"], "open");
    assert_eq!(first["text"], "A vs B is open for bets");
    let delivery = format!("{offline_uid}:{mid}:open");
    assert_eq!(
        sink.requests(),
        vec![(500, delivery.clone(), true), (500, delivery.clone(), true), (200, delivery.clone(), true)],
        "the same signed delivery, tried until the gateway took it"
    );

    // The same event handled again (a redelivery) sends nothing more.
    let again =
        Event::MatchState { match_id: mid, market_id: Some(mid), state: 2, from: 0, action: "open".into(), ts: 0 };
    let bytes = rmp_serde::to_vec_named(&again).unwrap();
    let _: i64 = app.redis().pool.lpush(app.keys().notify(Home::Global), bytes).await.unwrap();
    app.check().await;

    app.act(mid, "start", json!({})).await;
    assert_eq!(match_event(&mut online).await["event"], "start");
    app.act(mid, "result", json!({"winner": "b"})).await;
    let result = match_event(&mut online).await;
    assert_eq!((result["event"].as_str(), result["winner"].as_str()), (Some("result"), Some("b")));
    eventually("three pushes through the gateway", || async { (sink.delivered().len() == 3).then_some(()) }).await;
    app.wait_state(mid, 9).await;
    app.check().await;
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for (status, delivery, signed) in sink.requests() {
        assert!(signed, "every request is signed");
        if status == 200 {
            *per_delivery.entry(delivery).or_default() += 1;
        }
    }
    let want: BTreeMap<String, usize> =
        ["open", "start", "result"].iter().map(|e| (format!("{offline_uid}:{mid}:{e}"), 1)).collect();
    assert_eq!(per_delivery, want, "exactly one push per event, only to the closed app");
    let events: Vec<Value> = online
        .pushes_until_ping()
        .await
        .into_iter()
        .filter(|f| f.head.id == msg::PUSH_MATCH_EVENT)
        .map(|f| f.body)
        .collect();
    assert!(events.is_empty(), "one WebSocket push per event: {events:?}");
    let fickle_events: Vec<u16> = fickle.pushes_until_ping().await.iter().map(|f| f.head.id).collect();
    assert!(!fickle_events.contains(&msg::PUSH_MATCH_EVENT), "{fickle_events:?}");
    app.finish().await;
}
