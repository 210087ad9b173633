//! Dead letters in gm (docs/gm.md "Dead letters"): listed, read with secrets hidden, and requeued
//! once the cause is fixed — a requeued change record reaches MySQL, and the requeue is audited.

use bytes::Bytes;
use common::config::Role;
use common::shards::Home;
use fred::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use test_support::app::App;

/// dbsvr's dead record (dbsvr/src/flush.rs `DeadRecord`).
#[derive(Serialize)]
struct DeadRecord<'a> {
    reason: &'a str,
    #[serde(with = "serde_bytes")]
    record: &'a [u8],
    ts: u64,
}

fn change(table: &str, key: &str, fields: Value) -> Vec<u8> {
    rmp_serde::to_vec_named(
        &json!({ "ts": 1_700_000_000_000u64, "table": table, "key": key, "ver": 1, "fields": fields }),
    )
    .unwrap()
}

#[tokio::test]
async fn dead_records_are_listed_read_without_secrets_and_requeued_into_mysql() {
    let app = App::spawn().await;
    let k = app.keys();
    let dead = k.dead(&k.outbox(Home::Global));
    let audit = change(
        "audit",
        "dead-letter-test-1",
        json!({"who": "ops", "role": "admin", "action": "test.dead", "target": "x", "payload": "{}", "ts": 1_700_000_000_000u64}),
    );
    let user = change(
        "user",
        "987654",
        json!({"username": "ghost", "pw": "$argon2id$v=19$secret-hash", "created_at": 1_700_000_000_000u64}),
    );
    for record in [&audit, &user] {
        let entry = rmp_serde::to_vec_named(&DeadRecord { reason: "MySQL refused it", record, ts: 1 }).unwrap();
        let _: () = app.redis().pool.lpush(&dead, Bytes::from(entry)).await.unwrap();
    }
    let name = dead.strip_prefix(k.prefix()).unwrap().to_owned();

    let admin = app.staff(Role::Admin);
    let lists: Value = admin.get("/api/dead").await.unwrap();
    let listed: Vec<(String, String, i64)> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (l["name"].as_str().unwrap().into(), l["queue"].as_str().unwrap().into(), l["depth"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(listed, [(name.clone(), "q:outbox:{g}".to_owned(), 2)]);
    let viewer = app.staff(Role::Viewer).get::<Value>("/api/dead").await;
    assert_eq!(viewer.unwrap_err().status(), Some(403), "dead frames hold players' secrets: admin only");

    let path = format!("/api/dead/entries?list={}", urlencode(&name));
    let entries: Value = admin.get(&path).await.unwrap();
    let items = entries["items"].as_array().unwrap();
    assert_eq!((entries["depth"].as_i64(), items.len()), (Some(2), 2));
    // Newest first: the user record, its password hash hidden; the reason is shown.
    assert_eq!(items[0]["frame"]["reason"], "MySQL refused it");
    assert_eq!(items[0]["frame"]["record"]["fields"]["pw"], "***");
    assert_eq!(items[0]["frame"]["record"]["fields"]["username"], "ghost");
    assert_eq!(items[1]["frame"]["record"]["key"], "dead-letter-test-1");
    let nowhere = admin.get::<Value>("/api/dead/entries?list=q:dead:nothing").await;
    assert_eq!(nowhere.unwrap_err().status(), Some(404));
    let not_dead = admin.get::<Value>(&format!("/api/dead/entries?list={}", urlencode("q:outbox:{g}"))).await;
    assert_eq!(not_dead.unwrap_err().status(), Some(400), "only dead lists are read");

    // The cause fixed, both go back to the outbox: dbsvr writes them; the requeue is audited.
    let bad = admin.post::<Value>("/api/dead/requeue", &json!({"list": name, "count": 0})).await;
    assert_eq!(bad.unwrap_err().status(), Some(400));
    let moved: Value = admin.post("/api/dead/requeue", &json!({"list": name, "count": 5})).await.unwrap();
    assert_eq!(moved["moved"], 2, "{moved}");
    let left: i64 = app.redis().pool.llen(&dead).await.unwrap();
    assert_eq!(left, 0);
    app.check().await;
    let pool = &app.db().pool;
    let row: (String, String) = sqlx::query_as("SELECT who, action FROM gm_audit WHERE id = 'dead-letter-test-1'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(row, ("ops".into(), "test.dead".into()));
    let ghost: (String,) =
        sqlx::query_as("SELECT username FROM users WHERE id = 987654").fetch_one(pool).await.unwrap();
    assert_eq!(ghost.0, "ghost");
    let requeue: (String, String) = sqlx::query_as("SELECT action, target FROM gm_audit WHERE action = 'dead.requeue'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(requeue, ("dead.requeue".into(), format!("dead:{name}")));
    app.finish().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
