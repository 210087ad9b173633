//! Personal staff accounts (docs/gm.md "Staff accounts"): admins create them at runtime; a person
//! signs in with a password and a TOTP code and gets a session that ends at logout, when idle, at
//! its lifetime, or at once when the account is disabled; failed sign-ins are throttled and
//! audited; the audit log names the person; the accounts reach MySQL.

use bytes::Bytes;
use common::Shutdown;
use fred::prelude::*;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{ADMIN, TestDb, TestEnv, VIEWER, eventually, spawn_dbsvr, spawn_gm};

async fn start(env: &TestEnv, tweak: impl FnOnce(&mut common::Config)) -> (Gm, Shutdown) {
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    tweak(&mut cfg);
    (Gm::new(spawn_gm(cfg, &shutdown).await), shutdown)
}

/// The audit records gm sent to the outbox, oldest first: (who, action).
async fn audit(env: &TestEnv) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lane in env.keys().outboxes() {
        let raw: Vec<Bytes> = env.redis.pool.lrange(&lane, 0, -1).await.unwrap();
        for r in raw.iter().rev() {
            let v: Value = rmp_serde::from_slice(r).unwrap();
            if v["table"] == "audit" {
                let f = &v["fields"];
                out.push((f["who"].as_str().unwrap().to_owned(), f["action"].as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

#[tokio::test]
async fn without_a_totp_code_a_staff_member_reaches_no_gm_route() {
    let env = TestEnv::new().await;
    let (gm, shutdown) = start(&env, |_| {}).await;
    let eve = gm.staff("eve", "admin").await;
    // The password alone, a wrong code, or another account's password: no session.
    for body in [
        json!({"name": "eve", "password": eve.password, "code": ""}),
        json!({"name": "eve", "password": eve.password}),
        json!({"name": "eve", "password": eve.password, "code": "000000"}),
        json!({"name": "eve", "password": "not-the-password", "code": eve.code(0)}),
        json!({"name": "nobody", "password": eve.password, "code": eve.code(0)}),
    ] {
        let r = gm.call("POST", "/api/staff/login", None, Some(&body)).await;
        assert!(r.status == 401 || r.status == 400, "{body}: {r:?}");
        assert!(r.body["token"].is_null(), "{body}: {r:?}");
    }
    // No gm route answers anything but 401 to a token that is not a session: every one in the
    // document (the sign-in and the provider's signed callback need no token).
    let doc = gm.get("/openapi.json", VIEWER).await.body;
    let forged = format!("mds_{}", "0".repeat(64));
    let mut reached = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path == "/api/staff/login" || path == "/api/payments/callback" {
                continue;
            }
            let concrete = path
                .replace("{id}", "1")
                .replace("{name}", "eve")
                .replace("{market_id}", "1")
                .replace("{action}", "open")
                .replace("{by}", "day");
            let r = gm.call(&method.to_uppercase(), &concrete, Some(&forged), Some(&json!({}))).await;
            if r.status != 401 {
                reached.push(format!("{method} {path}: {}", r.status));
            }
        }
    }
    assert!(reached.is_empty(), "answered without a session: {reached:?}");
    // With the code: a session, for the person.
    let code = eve.fresh_code().await;
    let r = gm
        .call("POST", "/api/staff/login", None, Some(&json!({"name": "eve", "password": eve.password, "code": code})))
        .await;
    assert_eq!(
        (r.status, r.body["name"].as_str(), r.body["role"].as_str()),
        (200, Some("eve"), Some("admin")),
        "{r:?}"
    );
    let token = r.body["token"].as_str().unwrap().to_owned();
    let me = gm.get("/api/whoami", &token).await;
    assert_eq!((me.status, me.body["name"].as_str()), (200, Some("eve")));
    // A code is taken once: the same code again is refused.
    let again = gm
        .call("POST", "/api/staff/login", None, Some(&json!({"name": "eve", "password": eve.password, "code": code})))
        .await;
    assert_eq!((again.status, again.error_code()), (401, "bad_login"), "{again:?}");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_disabled_staff_members_session_stops_at_once_and_logout_and_lifetime_end_one() {
    let env = TestEnv::new().await;
    let (gm, shutdown) = start(&env, |_| {}).await;
    let otto = gm.staff("otto2", "operator").await;
    let token = gm.session(&otto).await;
    assert_eq!(gm.get("/api/whoami", &token).await.status, 200);
    // Its role holds: an operator cannot grant.
    let r = gm.post("/api/users/1/grant", &token, &json!({"amount": 5, "reason": "x"})).await;
    assert_eq!(r.status, 403, "{r:?}");
    // The idle timeout is the session's TTL, renewed on use.
    let key = |t: &str| env.keys().staff_session(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(t.as_bytes())));
    let ttl: i64 = env.redis.pool.ttl(key(&token)).await.unwrap();
    assert!((1..=1800).contains(&ttl), "the idle timeout: {ttl}");

    let r = gm.call("PATCH", "/api/staff/otto2", Some(ADMIN), Some(&json!({"disabled": true}))).await;
    assert_eq!((r.status, r.body["disabled"].as_bool()), (200, Some(true)), "{r:?}");
    let me = gm.get("/api/whoami", &token).await;
    assert_eq!((me.status, me.error_code()), (401, "unauthorized"), "the session stopped at once: {me:?}");
    // (A code not used yet: the refusal is the disabled account's.)
    let body = json!({"name": "otto2", "password": otto.password, "code": otto.unused_code().unwrap()});
    let r = gm.call("POST", "/api/staff/login", None, Some(&body)).await;
    assert_eq!(r.status, 401, "a disabled account cannot sign in: {r:?}");
    let r = gm.call("PATCH", "/api/staff/otto2", Some(ADMIN), Some(&json!({"disabled": false}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let token = gm.session(&otto).await;
    assert_eq!(gm.get("/api/whoami", &token).await.status, 200);
    // Logout ends it.
    assert_eq!(gm.call("POST", "/api/staff/logout", Some(&token), None::<&()>).await.status, 204);
    assert_eq!(gm.get("/api/whoami", &token).await.status, 401);
    // A new TOTP secret: the old one's codes stop working (one not used yet is refused).
    let r = gm.call("PATCH", "/api/staff/otto2", Some(ADMIN), Some(&json!({"new_totp": true}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let renewed = otto.with_secret(r.body["totp_secret"].as_str().unwrap());
    let old = json!({"name": "otto2", "password": otto.password, "code": otto.unused_code().unwrap()});
    assert_eq!(gm.call("POST", "/api/staff/login", None, Some(&old)).await.status, 401, "the old secret's code");
    // A session past its lifetime ends, however recently used.
    let token = gm.session(&renewed).await;
    assert_eq!(gm.get("/api/whoami", &token).await.status, 200);
    let _: () = env.redis.pool.hset(key(&token), ("expires_at", common::time::now_ms() - 1)).await.unwrap();
    assert_eq!(gm.get("/api/whoami", &token).await.status, 401);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn failed_staff_logins_are_throttled_and_audited_and_the_audit_names_the_person() {
    let env = TestEnv::new().await;
    let (gm, shutdown) = start(&env, |cfg| cfg.gm.staff_login_max_failures = 2).await;
    let eve = gm.staff("eve", "admin").await;
    let wrong = json!({"name": "eve", "password": "wrong-password-123", "code": "123456"});
    for _ in 0..2 {
        let r = gm.call("POST", "/api/staff/login", None, Some(&wrong)).await;
        assert_eq!((r.status, r.error_code()), (401, "bad_login"), "{r:?}");
    }
    // Past the limit even the right password and code are refused, with a time to wait.
    let r = gm.sign_in(&eve, 0).await;

    assert_eq!((r.status, r.error_code()), (429, "too_many_attempts"), "{r:?}");
    let wait: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    let failures = audit(&env).await.into_iter().filter(|(who, a)| who == "eve" && a == "staff.login_failed").count();
    assert_eq!(failures, 3, "each failure (and the throttled one) is in the audit log");
    // Another admin lifts nothing here; the window ends it. Another account still signs in, and
    // what it does is recorded under its name.
    let ann = gm.staff("ann", "admin").await;
    let token = gm.session(&ann).await;
    let _: () =
        env.redis.pool.hset(env.keys().user(9), [("id", "9"), ("username", "u9"), ("created_at", "1")]).await.unwrap();
    let before = audit(&env).await;
    let r = gm.post("/api/users/9/grant", &token, &json!({"amount": 5, "reason": "welcome"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = gm.post("/api/users/9/ban", &token, &json!({"reason": "spam"})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = gm.post("/api/matches", &token, &json!({"type": "lol", "title": "A vs B", "teams": ["A", "B"],
        "start_at": 1_900_000_000_000u64, "options": [{"key": "a", "label": "A", "odds": 1500}, {"key": "b", "label": "B", "odds": 2500}],
        "min_stake": 10, "max_stake": 100})).await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = gm.post("/api/announcements", &token, &json!({"text": "hello"})).await;
    assert_eq!(r.status, 202, "{r:?}");
    let trail = audit(&env).await;
    // Every change made in ann's session is recorded under her name, and nothing under another.
    // (Records are per lane, so what is new is what the trail holds beyond what it held before.)
    let mut new = trail.clone();
    for old in &before {
        let at = new.iter().position(|r| r == old).expect("records stay");
        new.remove(at);
    }
    let actions: Vec<&str> = new.iter().map(|(_, a)| a.as_str()).collect();
    for action in ["user.grant", "user.ban", "match.create", "notice.publish"] {
        assert!(actions.contains(&action), "{action} in {new:?}");
    }
    assert!(new.iter().all(|(who, _)| who == "ann"), "{new:?}");
    for action in ["staff.create", "staff.login", "user.grant", "user.ban"] {
        let names: Vec<&str> = trail.iter().filter(|(_, a)| a == action).map(|(w, _)| w.as_str()).collect();
        assert!(!names.is_empty(), "{action} in {trail:?}");
        let expected = if action == "staff.create" { "ada" } else { "ann" };
        assert!(names.contains(&expected), "{action} by {expected}: {names:?}");
    }
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn staff_accounts_are_checked_when_made_and_reach_mysql() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    let (gm, shutdown) = start(&env, |_| {}).await;
    let mut cfg = env.node(1);
    cfg.mysql.url = db.url.clone();
    let _stats = spawn_dbsvr(cfg, &shutdown);
    for (field, body) in [
        ("name", json!({"name": "Eve", "role": "admin", "password": "long-enough-pw"})),
        ("role", json!({"name": "eve", "role": "root", "password": "long-enough-pw"})),
        ("password", json!({"name": "eve", "role": "admin", "password": "short"})),
    ] {
        let r = gm.post("/api/staff", ADMIN, &body).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid"), "{field}: {r:?}");
        assert!(r.message().starts_with(field), "{field}: {r:?}");
    }
    let r = gm.post("/api/staff", VIEWER, &json!({"name": "eve", "role": "admin", "password": "long-enough-pw"})).await;
    assert_eq!(r.status, 403, "only admins: {r:?}");
    let eve = gm.staff("eve", "viewer").await;
    for name in ["eve", "ada"] {
        let r =
            gm.post("/api/staff", ADMIN, &json!({"name": name, "role": "admin", "password": "long-enough-pw"})).await;
        assert_eq!((r.status, r.error_code()), (409, "exists"), "{name} (an account, a config token): {r:?}");
    }
    let r = gm.call("PATCH", "/api/staff/eve", Some(ADMIN), Some(&json!({"role": "operator", "disabled": true}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    let listed = gm.get("/api/staff", ADMIN).await;
    assert_eq!(listed.body["items"][0]["role"], "operator");
    assert!(
        listed.body["items"][0].get("totp_secret").is_none() && !listed.text.contains(&eve.secret),
        "no secrets listed"
    );
    assert_eq!(gm.call("PATCH", "/api/staff/nobody", Some(ADMIN), Some(&json!({"disabled": true}))).await.status, 404);
    let row: (String, bool, String, u64) = eventually("the staff row in MySQL at version 2", || async {
        let row: Option<(String, bool, String, u64)> =
            sqlx::query_as("SELECT role, disabled, created_by, ver FROM staff WHERE name = 'eve'")
                .fetch_optional(&db.pool)
                .await
                .unwrap();
        row.filter(|r| r.3 == 2)
    })
    .await;
    assert_eq!(row, ("operator".into(), true, "ada".into(), 2));
    let secret: String =
        sqlx::query_scalar("SELECT totp_secret FROM staff WHERE name = 'eve'").fetch_one(&db.pool).await.unwrap();
    assert_eq!(secret, eve.secret);
    let audit_rows: i64 = eventually("the audit rows", || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gm_audit WHERE action IN ('staff.create', 'staff.edit')")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (n == 2).then_some(n)
    })
    .await;
    assert_eq!(audit_rows, 2);
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_api_token_acts_for_its_owner_until_it_expires_or_is_revoked() {
    let env = TestEnv::new().await;
    let (gm, shutdown) = start(&env, |_| {}).await;
    gm.staff("eve", "admin").await;
    gm.staff("vic", "viewer").await;
    for (field, body, status) in [
        ("role", json!({"owner": "eve", "role": "root"}), 400),
        ("expires_in_days", json!({"owner": "eve", "role": "viewer", "expires_in_days": 0}), 400),
        ("owner", json!({"owner": "nobody", "role": "viewer"}), 404),
    ] {
        let r = gm.post("/api/staff/tokens", ADMIN, &body).await;
        assert_eq!(r.status, status, "{field}: {r:?}");
    }
    assert_eq!(gm.post("/api/staff/tokens", VIEWER, &json!({"owner": "eve", "role": "viewer"})).await.status, 403);
    let made =
        gm.post("/api/staff/tokens", ADMIN, &json!({"owner": "eve", "role": "operator", "expires_in_days": 30})).await;
    assert_eq!(made.status, 201, "{made:?}");
    let (id, token) = (made.body["id"].as_str().unwrap().to_owned(), made.body["token"].as_str().unwrap().to_owned());
    let days = (made.body["expires_at"].as_u64().unwrap() - made.body["created_at"].as_u64().unwrap()) / 86_400_000;
    assert_eq!(days, 30);
    // It acts for its owner with its own (lower) role; the audit log names the owner.
    let me = gm.get("/api/whoami", &token).await;
    assert_eq!((me.status, me.body["name"].as_str(), me.body["role"].as_str()), (200, Some("eve"), Some("operator")));
    assert_eq!(gm.post("/api/users/9/grant", &token, &json!({"amount": 5, "reason": "x"})).await.status, 403);
    let _: () =
        env.redis.pool.hset(env.keys().user(9), [("id", "9"), ("username", "u9"), ("created_at", "1")]).await.unwrap();
    assert_eq!(gm.post("/api/users/9/ban", &token, &json!({"reason": "spam"})).await.status, 200);
    assert!(audit(&env).await.contains(&("eve".to_owned(), "user.ban".to_owned())), "the ban is eve's");
    // Never more than its owner's role.
    let vic = gm.post("/api/staff/tokens", ADMIN, &json!({"owner": "vic", "role": "admin"})).await;
    let vic_token = vic.body["token"].as_str().unwrap().to_owned();
    assert_eq!(gm.get("/api/whoami", &vic_token).await.body["role"], "viewer");
    // Listed without the secret, with its last use; Redis keeps only its SHA-256.
    let listed = gm.get("/api/staff/tokens", ADMIN).await;
    assert!(!listed.text.contains(&token) && !listed.text.contains(&token[4..]), "no secret listed");
    let mine = listed.body["items"].as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).unwrap().clone();
    assert_eq!((mine["owner"].as_str(), mine["created_by"].as_str()), (Some("eve"), Some("ada")));
    assert!(mine["last_used"].as_u64().is_some(), "{mine}");
    assert!(env.scan(&format!("*{}*", &token[4..])).await.is_empty(), "the token is not a key");
    // Revoked: refused at once; revoking again is 404.
    assert_eq!(gm.post(&format!("/api/staff/tokens/{id}/revoke"), ADMIN, &json!({})).await.status, 204);
    assert_eq!(gm.get("/api/whoami", &token).await.status, 401);
    assert_eq!(gm.post(&format!("/api/staff/tokens/{id}/revoke"), ADMIN, &json!({})).await.status, 404);
    // Expired: refused.
    let short =
        gm.post("/api/staff/tokens", ADMIN, &json!({"owner": "eve", "role": "viewer", "expires_in_days": 1})).await;
    let short_token = short.body["token"].as_str().unwrap().to_owned();
    assert_eq!(gm.get("/api/whoami", &short_token).await.status, 200);
    let key = env.keys().staff_token(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(short_token.as_bytes())));
    let _: () = env.redis.pool.hset(&key, ("expires_at", common::time::now_ms() - 1)).await.unwrap();
    assert_eq!(gm.get("/api/whoami", &short_token).await.status, 401, "expired");
    // Its owner disabled: refused.
    assert_eq!(gm.get("/api/whoami", &vic_token).await.status, 200);
    assert_eq!(gm.call("PATCH", "/api/staff/vic", Some(ADMIN), Some(&json!({"disabled": true}))).await.status, 200);
    assert_eq!(gm.get("/api/whoami", &vic_token).await.status, 401, "its owner is disabled");
    let trail = audit(&env).await;
    for action in ["staff.token_create", "staff.token_revoke"] {
        assert!(trail.contains(&("ada".to_owned(), action.to_owned())), "{action} in {trail:?}");
    }
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}
