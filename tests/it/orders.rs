//! Deposit orders (docs/protocol.md "Orders"): the app creates one (212), the payment provider's
//! signed callback completes it once however often it is sent, the player sees it paid in their
//! list (213) and as a balance push (904), and MySQL holds the order, the payment and the ledger.

use protocol::msg;
use serde_json::json;
use test_support::app::App;
use test_support::eventually;

#[tokio::test]
async fn an_order_paid_by_two_identical_callbacks_credits_once_and_shows_paid_with_a_balance_push() {
    let app = App::spawn().await;
    let mut p = app.player("order_fan").await;
    let uid = p.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    let before = p.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap();

    // What the app cannot order: an unknown channel, an amount out of range, a missing field.
    for (body, field) in [
        (json!({"amount": 500, "channel": "bitcoin"}), "channel"),
        (json!({"amount": 5, "channel": "card"}), "amount"),
        (json!({"amount": 5_000_000, "channel": "card"}), "amount"),
        (json!({"channel": "card"}), "amount"),
    ] {
        let r = p.call(msg::CREATE_ORDER, body).await;
        assert_eq!(r.code(), 7, "{r:?}");
        assert!(r.body["msg"].as_str().unwrap().contains(field), "{r:?}");
    }

    let r = p.call(msg::CREATE_ORDER, json!({"amount": 500, "channel": "card"})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let order = r.body.clone();
    let oid = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (order["state"].as_str(), order["amount"].as_i64(), order["channel"].as_str(), order["currency"].as_str()),
        (Some("created"), Some(500), Some("card"), Some(test_support::http::CURRENCY))
    );
    assert_eq!(order["pay_url"], json!(format!("https://pay.test/checkout?order={oid}&amount=500&via=card")));
    let list = p.call(msg::LIST_ORDERS, json!({})).await;
    assert_eq!(list.body["items"], json!([order]), "the new order is listed");

    // The callback for another amount or another user is refused and changes nothing.
    let gm = app.gm();
    let other = app.player("order_other").await;
    drop(other);
    let other_uid: u64 =
        app.gm().get("/api/users?name=order_other", test_support::ADMIN).await.body["user_id"].as_u64().unwrap();
    let r = gm.pay(&oid, uid, 400).await;
    assert_eq!((r.status, r.error_code()), (409, "order_mismatch"), "{}", r.text);
    // (The other user holds no order of that id; where their shard is the player's, it is not theirs.)
    let r = gm.pay(&oid, other_uid, 500).await;
    assert!(matches!((r.status, r.error_code()), (404, "not_found") | (409, "order_mismatch")), "{}", r.text);

    // Two identical callbacks: one credit, the same answer twice.
    let first = gm.pay(&oid, uid, 500).await;
    let second = gm.pay(&oid, uid, 500).await;
    assert_eq!((first.status, second.status), (200, 200), "{} / {}", first.text, second.text);
    assert_eq!(first.body, second.body);
    assert_eq!(first.body["balance"].as_i64(), Some(before + 500));

    // The player is told, and sees the order paid.
    let push = p.push().await;
    assert_eq!(
        (push.head.id, push.body["reason"].as_str(), push.body["balance"].as_i64()),
        (msg::PUSH_BALANCE, Some("payment"), Some(before + 500)),
        "{push:?}"
    );
    assert_eq!(p.call(msg::BALANCE, json!({})).await.body["balance"].as_i64(), Some(before + 500));
    let list = p.call(msg::LIST_ORDERS, json!({})).await;
    let paid = &list.body["items"][0];
    assert_eq!(
        (paid["order_id"].as_str(), paid["state"].as_str(), paid["balance"].as_i64()),
        (Some(oid.as_str()), Some("paid"), Some(before + 500)),
        "{list:?}"
    );
    assert!(paid["paid_at"].as_u64().is_some() && paid.get("pay_url").is_none(), "{paid}");

    // A second order stays created, listed first.
    let r = p.call(msg::CREATE_ORDER, json!({"amount": 20, "channel": "card"})).await;
    let list = p.call(msg::LIST_ORDERS, json!({"limit": 1})).await;
    assert_eq!(list.body["items"], json!([r.body]), "newest first");

    // The record: the order paid (ver 2), one payment, one ledger credit.
    let pool = &app.db().pool;
    let row: (u64, i64, String, Option<i64>, u64) = eventually("the paid order in MySQL", || async {
        sqlx::query_as("SELECT uid, amount, state, balance, ver FROM orders WHERE order_id = ?")
            .bind(&oid)
            .fetch_optional(pool)
            .await
            .unwrap()
            .filter(|r: &(u64, i64, String, Option<i64>, u64)| r.2 == "paid")
    })
    .await;
    assert_eq!(row, (uid, 500, "paid".to_owned(), Some(before + 500), 2));
    let credits: Vec<(i64,)> = eventually("the payment's ledger row", || async {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT delta FROM ledger WHERE uid = ? AND reason = 'payment'")
            .bind(uid)
            .fetch_all(pool)
            .await
            .unwrap();
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(credits, vec![(500,)]);
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = ?")
        .bind(&oid)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(payments, 1);
    let created: Vec<(String, u64)> = eventually("both orders in MySQL", || async {
        let rows: Vec<(String, u64)> = sqlx::query_as("SELECT state, ver FROM orders WHERE uid = ? ORDER BY ver")
            .bind(uid)
            .fetch_all(pool)
            .await
            .unwrap();
        (rows.len() == 2).then_some(rows)
    })
    .await;
    assert_eq!(created, [("created".to_owned(), 1), ("paid".to_owned(), 2)]);
    app.check().await;
    app.finish().await;
}
