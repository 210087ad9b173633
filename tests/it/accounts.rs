//! Accounts for life (docs/protocol.md "Accounts"): changing the password ends the player's other
//! sessions, and a player lists their sessions and ends any of them.

use fred::prelude::*;
use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, PASSWORD};
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
