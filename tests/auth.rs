//! Login throttling: failed logins are counted per account and per client address; past the limit
//! logins are refused with code 5 and the seconds to wait — even with the right password — while
//! successful logins are never counted (players share NAT addresses).

use protocol::msg;
use serde_json::json;
use test_support::{Stack, TestEnv, eventually};

async fn stack(per_user: u64, per_addr: u64, window_s: u64) -> (TestEnv, Stack) {
    let env = TestEnv::new().await;
    let mut cfg = env.cfg.clone();
    cfg.logic.login_max_failures_per_user = per_user;
    cfg.logic.login_max_failures_per_addr = per_addr;
    cfg.logic.login_failure_window_s = window_s;
    cfg.connect.rate_burst = 1_000;
    let stack = Stack::spawn(cfg).await;
    (env, stack)
}

async fn login_code(c: &mut test_support::Client, user: &str, password: &str) -> (u16, serde_json::Value) {
    let r = c.call(msg::LOGIN, json!({ "username": user, "password": password })).await;
    (r.code(), r.body)
}

#[tokio::test]
async fn an_account_is_locked_after_its_failures_even_for_the_right_password_then_unlocked() {
    let (_env, stack) = stack(3, 1_000, 2).await;
    let mut c = stack.client().await;
    c.register("alice", "right-password").await;
    c.register("bob", "bobs-password").await;
    for attempt in 1..=3 {
        let (code, _) = login_code(&mut c, "Alice", "wrong").await;
        assert_eq!(code, 1001, "attempt {attempt}: a wrong password is 1001");
    }
    let (code, body) = login_code(&mut c, "alice", "right-password").await;
    assert_eq!(code, 5, "locked: {body}");
    let wait = body["retry_after_s"].as_u64().expect("retry_after_s");
    assert!((1..=2).contains(&wait), "{body}");
    // Another account on the same connection and address is not affected.
    c.login("bob", "bobs-password").await;
    // When the window ends, the right password works again.
    eventually("alice's lock ends with the window", || async {
        let mut c = stack.client().await;
        (login_code(&mut c, "alice", "right-password").await.0 == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_address_is_locked_after_failures_on_many_accounts_but_successes_are_never_counted() {
    let (_env, stack) = stack(1_000, 4, 60).await;
    let mut c = stack.client().await;
    c.register("carol", "carols-password").await;
    // Many successful logins from one address (a NAT) are fine.
    for _ in 0..10 {
        c.login("carol", "carols-password").await;
    }
    // Credential stuffing: one failure on each of many accounts.
    for name in ["u1", "u2", "u3", "u4"] {
        assert_eq!(login_code(&mut c, name, "guess").await.0, 1001);
    }
    let (code, body) = login_code(&mut c, "carol", "carols-password").await;
    assert_eq!(code, 5, "the address is locked: {body}");
    assert!(body["msg"].as_str().unwrap_or_default().contains("address"), "{body}");
    // A new connection from the same address is locked too: the count lives in Redis, not in the
    // connection.
    let mut other = stack.client().await;
    assert_eq!(login_code(&mut other, "carol", "carols-password").await.0, 5);
}

#[tokio::test]
async fn a_success_clears_the_accounts_count() {
    let (_env, stack) = stack(3, 1_000, 60).await;
    let mut c = stack.client().await;
    c.register("dave", "daves-password").await;
    for _ in 0..2 {
        assert_eq!(login_code(&mut c, "dave", "typo").await.0, 1001);
    }
    c.login("dave", "daves-password").await;
    // Two more typos are not the third and fourth failure: the success started the count again.
    for _ in 0..2 {
        assert_eq!(login_code(&mut c, "dave", "typo").await.0, 1001);
    }
    c.login("dave", "daves-password").await;
}
