//! Accounts for life (docs/protocol.md "Accounts"): changing the password ends the player's other
//! sessions, and a player lists their sessions and ends any of them; a guest plays on a device and
//! later takes a username without losing anything; a player closes their account.

use fred::prelude::*;
use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, PASSWORD, match_spec};
use test_support::{Client, eventually};

/// A resume of `token` on a fresh connection: its code.
async fn resume_code(app: &App, token: &str) -> u16 {
    let mut c = app.client().await;
    c.call(msg::RESUME, json!({ "token": token })).await.code()
}

async fn login_code(app: &App, name: &str, password: &str) -> u16 {
    let mut c = app.client().await;
    c.call(msg::LOGIN, json!({ "username": name, "password": password })).await.code()
}

async fn sessions(c: &mut Client) -> Vec<Value> {
    let r = c.call(msg::LIST_SESSIONS, json!({})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_only_the_new_password_logs_in() {
    let app = App::spawn().await;
    let mut phone = app.player("acc_pat").await;
    let mut tablet = app.client().await;
    tablet.login("acc_pat", PASSWORD).await;
    let tablet_token = tablet.token().to_owned();

    let list = sessions(&mut phone).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == json!(true)).count(), 1, "{list:?}");
    assert!(
        list.iter()
            .all(|s| s["session_id"].as_str().unwrap().len() == 16
                && s["expires_at"].as_u64() > s["created_at"].as_u64())
    );

    // A wrong current password changes nothing; a short new one is named.
    let r = phone.call(msg::CHANGE_PASSWORD, json!({"old_password": "not-it", "new_password": "brand-new-pw"})).await;
    assert_eq!(r.code(), 1001, "{r:?}");
    let r = phone.call(msg::CHANGE_PASSWORD, json!({"old_password": PASSWORD, "new_password": "short"})).await;
    assert_eq!(r.code(), 7, "{r:?}");
    assert!(r.body["msg"].as_str().unwrap().contains("new_password"), "{r:?}");
    assert_eq!(sessions(&mut phone).await.len(), 2);

    let r = phone.call(msg::CHANGE_PASSWORD, json!({"old_password": PASSWORD, "new_password": "brand-new-pw"})).await;
    assert_eq!((r.code(), r.body["revoked"].as_u64()), (0, Some(1)), "{r:?}");
    // The tablet's connection is closed, its token resumes no more; the phone goes on; only the new
    // password logs in.
    assert_eq!(tablet.closed_with_reason().await, Some((1008, "session ended".to_owned())));
    assert_eq!(resume_code(&app, &tablet_token).await, 1008);
    assert_eq!(phone.call(msg::BALANCE, json!({})).await.code(), 0);
    assert_eq!(sessions(&mut phone).await.len(), 1);
    assert_eq!(login_code(&app, "acc_pat", PASSWORD).await, 1001);
    assert_eq!(login_code(&app, "acc_pat", "brand-new-pw").await, 0);

    // MySQL holds the new hash (the row's ver raised), so a restore keeps the new password.
    let uid = phone.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    let pw: String = app.redis().pool.hget(app.keys().user(uid), "pw").await.unwrap();
    let pool = &app.db().pool;
    let row: (String, u64) = eventually("the new password in MySQL", || async {
        sqlx::query_as("SELECT pw, ver FROM users WHERE id = ?")
            .bind(uid)
            .fetch_one(pool)
            .await
            .ok()
            .filter(|r: &(String, u64)| r.1 == 2)
    })
    .await;
    assert_eq!(row, (pw, 2));
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn a_player_lists_their_sessions_and_ends_one_or_all_the_others() {
    let app = App::spawn().await;
    let mut me = app.player("acc_sam").await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let mut other = app.client().await;
        other.login("acc_sam", PASSWORD).await;
        tokens.push(other.token().to_owned());
    }
    let list = sessions(&mut me).await;
    assert_eq!(list.len(), 4, "{list:?}");
    let mine = list.iter().find(|s| s["current"] == json!(true)).unwrap()["session_id"].clone();

    // Not found, my own, and neither field are refused; one other is ended.
    let r = me.call(msg::REVOKE_SESSION, json!({"session_id": "0123456789abcdef"})).await;
    assert_eq!(r.code(), 1007, "{r:?}");
    let r = me.call(msg::REVOKE_SESSION, json!({"session_id": mine})).await;
    assert_eq!(r.code(), 7, "{r:?}");
    let r = me.call(msg::REVOKE_SESSION, json!({})).await;
    assert_eq!(r.code(), 7, "{r:?}");
    let other = list.iter().find(|s| s["current"] == json!(false)).unwrap()["session_id"].clone();
    let r = me.call(msg::REVOKE_SESSION, json!({"session_id": other})).await;
    assert_eq!((r.code(), r.body["revoked"].as_u64()), (0, Some(1)), "{r:?}");
    let left = sessions(&mut me).await;
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|s| s["session_id"] != other));
    let mut resumed = 0;
    for t in &tokens {
        if resume_code(&app, t).await == 0 {
            resumed += 1;
        }
    }
    assert_eq!(resumed, 2, "the ended session's token resumes no more, the others do");

    // Every other session at once (the resumes above rotated two; one more is logged in on a live
    // connection, which is closed): none is left.
    let mut watching = app.client().await;
    watching.login("acc_sam", PASSWORD).await;
    let r = me.call(msg::REVOKE_SESSION, json!({"others": true})).await;
    assert_eq!((r.code(), r.body["revoked"].as_u64()), (0, Some(3)), "{r:?}");
    assert_eq!(watching.closed_with_reason().await, Some((1008, "session ended".to_owned())));
    let left = sessions(&mut me).await;
    assert_eq!((left.len(), left[0]["session_id"].clone()), (1, mine));
    assert_eq!(me.call(msg::BALANCE, json!({})).await.code(), 0, "this connection goes on");
    app.finish().await;
}

#[tokio::test]
async fn a_player_sets_and_clears_a_nickname_and_an_allowed_avatar_and_mysql_follows() {
    let app = App::spawn().await;
    let mut me = app.player("acc_nia").await;
    for (body, field) in [
        (json!({"nickname": "x".repeat(25)}), "nickname"),
        (json!({"nickname": "tab\there"}), "nickname"),
        (json!({"avatar_url": "https://evil.test/avatars/1.png"}), "avatar_url"),
        (json!({"avatar_url": "http://cdn.test/avatars/1.png"}), "avatar_url"),
        (json!({}), "nickname"),
    ] {
        let r = me.call(msg::SET_PROFILE, body).await;
        assert_eq!(r.code(), 7, "{r:?}");
        assert!(r.body["msg"].as_str().unwrap().contains(field), "{r:?}");
    }
    let r = me
        .call(
            msg::SET_PROFILE,
            json!({"nickname": "  Nia the Bold ", "avatar_url": "https://cdn.test/avatars/nia.png"}),
        )
        .await;
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(
        (r.body["nickname"].as_str(), r.body["avatar_url"].as_str()),
        (Some("Nia the Bold"), Some("https://cdn.test/avatars/nia.png"))
    );
    assert_eq!(me.call(msg::PROFILE, json!({})).await.body, r.body, "201 shows the same");
    // Leaving a field out keeps it; an empty one clears it (the username is shown again).
    let r = me.call(msg::SET_PROFILE, json!({"nickname": ""})).await;
    assert_eq!(
        (r.body.get("nickname"), r.body["avatar_url"].as_str()),
        (None, Some("https://cdn.test/avatars/nia.png")),
        "{r:?}"
    );
    let r = me.call(msg::SET_PROFILE, json!({"nickname": "Nia"})).await;
    let uid = r.body["user_id"].as_u64().unwrap();
    let pool = &app.db().pool;
    let row: (String, String, u64) = eventually("the profile in MySQL", || async {
        sqlx::query_as("SELECT nickname, avatar_url, ver FROM profiles WHERE uid = ?")
            .bind(uid)
            .fetch_optional(pool)
            .await
            .unwrap()
            .filter(|r: &(String, String, u64)| r.2 == 3)
    })
    .await;
    assert_eq!(row, ("Nia".to_owned(), "https://cdn.test/avatars/nia.png".to_owned(), 3));
    let names = common::users::display_names(app.redis(), &[uid]).await.unwrap();
    assert_eq!(names[&uid], "Nia", "boards show the nickname");
    app.check().await;
    app.finish().await;
}

async fn bet(c: &mut Client, mid: u64, option: &str, stake: i64) -> Value {
    let req = uuid::Uuid::new_v4().simple().to_string();
    let r = c
        .call(msg::PLACE_BET, json!({"match_id": mid, "option": option, "stake": stake, "odds_ver": 1, "req_id": req}))
        .await;
    assert_eq!(r.code(), 0, "bet on {mid}: {r:?}");
    r.body
}

async fn guest(app: &App, device: &str) -> (Client, Value) {
    let mut c = app.client().await;
    let r = c.call(msg::GUEST_LOGIN, json!({ "device_id": device })).await;
    assert_eq!(r.code(), 0, "{r:?}");
    (c, r.body)
}

/// `verify` finds Redis and MySQL equal once dbsvr has flushed.
async fn verified(app: &App) {
    eventually("verify finds no difference", || async {
        let report = dbsvr::verify::run(app.redis(), &app.db().pool, dbsvr::verify::Options::default()).await.ok()?;
        report.is_clean().then_some(())
    })
    .await;
}

/// A user's ledger in MySQL: (sum of deltas, the wallet's balance), once both agree with `balance`.
async fn mysql_money(app: &App, uid: u64, balance: i64) -> (i64, i64) {
    let pool = &app.db().pool;
    eventually("the user's money in MySQL", || async {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(l.delta), 0) AS SIGNED), w.balance FROM wallets w \
             LEFT JOIN ledger l ON l.uid = w.uid WHERE w.uid = ? GROUP BY w.balance",
        )
        .bind(uid)
        .fetch_one(pool)
        .await
        .ok()?;
        (row.1 == balance).then_some(row)
    })
    .await
}

#[tokio::test]
async fn a_guest_plays_on_a_device_then_links_a_username_and_keeps_its_coins_and_bets() {
    let app = App::spawn().await;
    let device = uuid::Uuid::new_v4().to_string();
    let (mut g, first) = guest(&app, &device).await;
    let uid = first["user_id"].as_u64().unwrap();
    assert_eq!(first["balance"], json!(1000), "a guest gets the sign-up grant: {first:?}");
    let profile = g.call(msg::PROFILE, json!({})).await.body;
    assert_eq!(profile["guest"], json!(true), "{profile:?}");
    assert_eq!(profile["username"], json!(format!("~guest{uid}")));
    // The same device logs in as the same guest; a bad device id is named.
    let (_again, second) = guest(&app, &device).await;
    assert_eq!(second["user_id"].as_u64(), Some(uid));
    let r = app.client().await.call(msg::GUEST_LOGIN, json!({ "device_id": "short" })).await;
    assert_eq!(r.code(), 7, "{r:?}");
    assert!(r.body["msg"].as_str().unwrap().contains("device_id"), "{r:?}");
    // No password logs in as a guest.
    assert_eq!(login_code(&app, &format!("~guest{uid}"), "").await, 1001);

    let mid = app.open_match(&match_spec("lol")).await.id;
    let placed = bet(&mut g, mid, "a", 100).await;

    // A taken name and a short password change nothing.
    drop(app.player("acc_taken").await);
    let r = g.call(msg::LINK_ACCOUNT, json!({"username": "ACC_taken", "password": PASSWORD})).await;
    assert_eq!(r.code(), 1002, "{r:?}");
    let r = g.call(msg::LINK_ACCOUNT, json!({"username": "acc_gus", "password": "short"})).await;
    assert_eq!(r.code(), 7, "{r:?}");
    let r = g.call(msg::LINK_ACCOUNT, json!({"username": "acc_gus", "password": PASSWORD})).await;
    assert_eq!((r.code(), r.body.clone()), (0, json!({"user_id": uid, "username": "acc_gus"})), "{r:?}");
    let r = g.call(msg::LINK_ACCOUNT, json!({"username": "acc_gus2", "password": PASSWORD})).await;
    assert_eq!(r.code(), 1011, "linked once: {r:?}");
    let profile = g.call(msg::PROFILE, json!({})).await.body;
    assert_eq!((profile.get("guest"), profile["username"].as_str()), (None, Some("acc_gus")), "{profile:?}");

    // The name and password log in as the same user, with the same coins and bet.
    let mut named = app.client().await;
    let session = named.login("acc_gus", PASSWORD).await;
    assert_eq!((session["user_id"].as_u64(), session["balance"].as_i64()), (Some(uid), Some(900)));
    let mine = named.call(msg::MY_BETS, json!({})).await.body;
    assert_eq!(mine["items"][0]["bet_id"], placed["bet_id"], "{mine:?}");
    // The device no longer logs in as it: it starts a new guest.
    let (_fresh, other) = guest(&app, &device).await;
    assert_ne!(other["user_id"].as_u64(), Some(uid));

    // The bet settles into the linked account; MySQL has the name and no device.
    app.act(mid, "start", json!({})).await;
    app.act(mid, "result", json!({"winner": "a"})).await;
    app.wait_state(mid, 9).await;
    let balance = named.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap();
    assert_eq!(balance, 900 + 185);
    assert_eq!(mysql_money(&app, uid, balance).await, (balance, balance));
    let pool = &app.db().pool;
    let row: (String, Option<String>) =
        sqlx::query_as("SELECT username, device FROM users WHERE id = ?").bind(uid).fetch_one(pool).await.unwrap();
    assert_eq!(row, ("acc_gus".to_owned(), None));
    verified(&app).await;
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn a_closed_account_logs_in_no_more_its_name_is_held_and_its_coins_are_accounted_for() {
    let app = App::spawn().await;
    let mut me = app.player("acc_del").await;
    let mut tablet = app.client().await;
    let tablet_token = tablet.login("acc_del", PASSWORD).await["token"].as_str().unwrap().to_owned();
    let uid = me.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    let r = me.call(msg::SET_PROFILE, json!({"nickname": "Del"})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let mid = app.open_match(&match_spec("lol")).await.id;
    bet(&mut me, mid, "b", 200).await;

    // Proof is required: a wrong password or none changes nothing.
    let r = me.call(msg::DELETE_ACCOUNT, json!({"password": "not-it"})).await;
    assert_eq!(r.code(), 1001, "{r:?}");
    let r = me.call(msg::DELETE_ACCOUNT, json!({})).await;
    assert_eq!(r.code(), 7, "{r:?}");
    let r = me.call(msg::DELETE_ACCOUNT, json!({"password": PASSWORD})).await;
    assert_eq!((r.code(), r.body.clone()), (0, json!({"forfeited": 800})), "{r:?}");

    // Every session ends: the other connection is closed, this one logged out, no token resumes,
    // the password logs in no more.
    assert_eq!(tablet.closed_with_reason().await, Some((1008, "session ended".to_owned())));
    assert_eq!(me.call(msg::BALANCE, json!({})).await.code(), 4);
    assert_eq!(resume_code(&app, &tablet_token).await, 1008);
    assert_eq!(login_code(&app, "acc_del", PASSWORD).await, 1001);
    // The name is held (nobody may pose as the player) for deleted_name_hold_days, then free.
    let r = app.client().await.call(msg::REGISTER, json!({"username": "Acc_Del", "password": PASSWORD})).await;
    assert_eq!(r.code(), 1002, "{r:?}");
    let ttl: i64 = app.redis().pool.ttl(app.keys().uname("acc_del")).await.unwrap();
    assert!((30 * 86_400 - 60..=30 * 86_400).contains(&ttl), "held for 30 days: {ttl}");

    // Anonymised in Redis: no name, password, nickname; the coins went out with a ledger record.
    let user: std::collections::HashMap<String, String> = app.redis().pool.hgetall(app.keys().user(uid)).await.unwrap();
    assert_eq!(user["username"], format!("~deleted{uid}"));
    assert_eq!(user["pw"], "");
    assert!(!user.contains_key("nickname") && !user.contains_key("held_name"), "{user:?}");
    assert_eq!(mysql_money(&app, uid, 0).await, (0, 0));

    // The open bet settles into the closed wallet, as any other: the ledger still sums to it.
    app.act(mid, "start", json!({})).await;
    app.act(mid, "result", json!({"winner": "b"})).await;
    app.wait_state(mid, 9).await;
    assert_eq!(mysql_money(&app, uid, 420).await, (420, 420));
    let pool = &app.db().pool;
    let row: (String, String, Option<u64>, String) = eventually("the closed account in MySQL", || async {
        sqlx::query_as(
            "SELECT u.username, u.pw, u.deleted_at, COALESCE(p.nickname, '') FROM users u \
             LEFT JOIN profiles p ON p.uid = u.id WHERE u.id = ?",
        )
        .bind(uid)
        .fetch_one(pool)
        .await
        .ok()
        .filter(|r: &(String, String, Option<u64>, String)| r.2.is_some() && r.3.is_empty())
    })
    .await;
    assert_eq!((row.0, row.1), (format!("~deleted{uid}"), String::new()));
    verified(&app).await;
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn a_guest_closes_its_account_with_its_device_id_and_the_device_starts_afresh() {
    let app = App::spawn().await;
    let device = uuid::Uuid::new_v4().to_string();
    let (mut g, first) = guest(&app, &device).await;
    let uid = first["user_id"].as_u64().unwrap();
    let r = g.call(msg::DELETE_ACCOUNT, json!({"password": PASSWORD})).await;
    assert_eq!(r.code(), 7, "a guest proves itself with its device id: {r:?}");
    let r = g.call(msg::DELETE_ACCOUNT, json!({"device_id": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(r.code(), 1001, "{r:?}");
    let r = g.call(msg::DELETE_ACCOUNT, json!({"device_id": device})).await;
    assert_eq!((r.code(), r.body.clone()), (0, json!({"forfeited": 1000})), "{r:?}");
    let (_fresh, again) = guest(&app, &device).await;
    assert_ne!(again["user_id"].as_u64(), Some(uid), "a new guest");
    assert_eq!(mysql_money(&app, uid, 0).await, (0, 0));
    verified(&app).await;
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn staff_issue_a_one_time_reset_code_and_see_the_accounts_history() {
    let app = App::spawn().await;
    let mut phone = app.player("acc_rst").await;
    let uid = phone.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    assert_eq!(phone.call(msg::SET_PROFILE, json!({"nickname": "Rusty"})).await.code(), 0);
    let gm = app.gm();
    let r = gm.post(&format!("/api/users/{uid}/password-reset"), test_support::OPERATOR, &json!({})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert!(r.body["expires_at"].as_u64() > Some(common::time::now_ms()));
    assert_eq!(
        gm.post(&format!("/api/users/{uid}/password-reset"), test_support::VIEWER, &json!({})).await.status,
        403
    );
    assert_eq!(gm.post("/api/users/999999999/password-reset", test_support::OPERATOR, &json!({})).await.status, 404);
    let (_, guest) = guest(&app, &uuid::Uuid::new_v4().to_string()).await;
    let r =
        gm.post(&format!("/api/users/{}/password-reset", guest["user_id"]), test_support::OPERATOR, &json!({})).await;
    assert_eq!((r.status, r.error_code()), (409, "guest_account"), "{r:?}");

    // A wrong code changes nothing; the right one, however typed, sets the password and ends
    // every session; it works once.
    let mut fresh = app.client().await;
    let reset = |code: &str| json!({"username": "ACC_rst", "code": code, "new_password": "after-reset-pw"});
    assert_eq!(fresh.call(msg::RESET_PASSWORD, reset("AAAA-BBBB-CCCC")).await.code(), 1001);
    let typed = code.replace('-', " ").to_lowercase();
    let r = fresh.call(msg::RESET_PASSWORD, reset(&typed)).await;
    assert_eq!((r.code(), r.body.clone()), (0, json!({"user_id": uid, "revoked": 1})), "{r:?}");
    assert_eq!(phone.closed_with_reason().await, Some((1008, "session ended".to_owned())));
    assert_eq!(fresh.call(msg::RESET_PASSWORD, reset(&code)).await.code(), 1001, "used up");
    assert_eq!(login_code(&app, "acc_rst", PASSWORD).await, 1001);
    assert_eq!(login_code(&app, "acc_rst", "after-reset-pw").await, 0);

    // The history: the player's changes and staff's, newest first.
    let history = eventually("the account's history in MySQL", || async {
        let r = gm.get(&format!("/api/users/{uid}/history"), test_support::VIEWER).await;
        let items = r.body["items"].as_array()?.clone();
        (items.len() == 4).then_some(items)
    })
    .await;
    let kinds: Vec<(&str, Option<&str>)> =
        history.iter().map(|e| (e["kind"].as_str().unwrap(), e["by"].as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            ("password_reset", None),
            ("user.password_reset", Some("otto")),
            ("profile_changed", None),
            ("registered", None)
        ]
    );
    assert_eq!(history[2]["detail"], "nickname");
    app.check().await;
    app.finish().await;
}

#[tokio::test]
async fn an_uploaded_avatar_is_checked_stored_and_shown_and_replaces_the_previous_upload() {
    let dir = std::env::temp_dir().join(format!("md-avatars-{}", uuid::Uuid::new_v4().simple()));
    let store = dir.clone();
    let app = App::builder()
        .config(move |cfg| {
            cfg.logic.avatar_dir = store.to_string_lossy().into_owned();
            cfg.logic.avatar_public_url = "https://cdn.test/up/".into();
            cfg.logic.avatar_max_bytes = 2048;
        })
        .spawn()
        .await;
    let mut me = app.player("acc_pic").await;
    let uid = me.call(msg::PROFILE, json!({})).await.body["user_id"].as_u64().unwrap();
    let upload =
        |content_type: &str, data: Vec<u8>| protocol::body::UploadAvatar { content_type: content_type.into(), data };
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 100]].concat();

    for (bad, field) in [
        (upload("image/gif", png.clone()), "content_type"),
        (upload("image/jpeg", png.clone()), "not a image/jpeg"),
        (upload("image/png", [png.as_slice(), &[0u8; 2048]].concat()), "1 to 2048 bytes"),
    ] {
        let r = me.call(msg::UPLOAD_AVATAR, &bad).await;
        assert_eq!(r.code(), 7, "{r:?}");
        assert!(r.body["msg"].as_str().unwrap().contains(field), "{r:?}");
    }
    let r = me.call(msg::UPLOAD_AVATAR, &upload("image/png", png.clone())).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let first = r.body["avatar_url"].as_str().unwrap().to_owned();
    let name = first.strip_prefix("https://cdn.test/up/").unwrap().to_owned();
    assert!(name.starts_with(&format!("{uid}-")) && name.ends_with(".png"), "{name}");
    assert_eq!(std::fs::read(dir.join(&name)).unwrap(), png, "stored as uploaded");
    assert_eq!(me.call(msg::PROFILE, json!({})).await.body["avatar_url"], json!(first));

    // Another picture replaces it: the old file goes; MySQL's profile has the new URL.
    let jpeg = [b"\xff\xd8\xff\xe0".as_slice(), &[9u8; 50]].concat();
    let r = me.call(msg::UPLOAD_AVATAR, &upload("image/jpeg", jpeg.clone())).await;
    let second = r.body["avatar_url"].as_str().unwrap().to_owned();
    assert!(second.ends_with(".jpg") && second != first, "{r:?}");
    assert!(!dir.join(&name).exists(), "the replaced upload is removed");
    let pool = &app.db().pool;
    let stored: String = eventually("the avatar in MySQL", || async {
        sqlx::query_scalar("SELECT avatar_url FROM profiles WHERE uid = ?")
            .bind(uid)
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
            .filter(|u: &String| u.ends_with(".jpg"))
    })
    .await;
    assert_eq!(stored, second);
    app.check().await;
    app.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}
