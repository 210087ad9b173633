//! Every text value the services write to MySQL fits its column (protocol/src/fields.rs holds the
//! limits): the migrated schema read from information_schema against each limit, the validators
//! refusing one byte past each limit, and the longest values end to end — a gm grant, ban and
//! payment and order by a long staff name, a Lua credit with the longest reason and id — reaching MySQL with
//! nothing dead-lettered and `matchday verify` clean.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use common::Shutdown;
use common::config::{Role, StaffToken};
use common::store::order_create;
use protocol::fields::*;
use serde_json::json;
use sqlx::Row;
use test_support::http::{CURRENCY, Gm};
use test_support::{ADMIN, OPERATOR, Stack, TestDb, TestEnv, spawn_dbsvr, spawn_gm};

/// The longest argon2id PHC string: `$argon2id$v=19$m=<u32>,t=<u32>,p=<u8>$<22 salt>$<43 hash>`.
const PHC_MAX: usize = "$argon2id$v=19$m=".len() + 10 + ",t=".len() + 10 + ",p=".len() + 3 + 1 + 22 + 1 + 43;

/// Every character column a change record fills, with the longest value that can reach it and
/// where that bound comes from. A column missing here fails the test, so a new one must be added
/// with its limit.
fn producers() -> Vec<(&'static str, &'static str, usize, &'static str)> {
    let action = protocol::matches::TRANSITIONS
        .iter()
        .map(|t| "market.".len() + t.name.len())
        .chain(["payment.credit", "announcement", "match.import", "market.create"].map(str::len))
        .max()
        .unwrap();
    vec![
        ("users", "username", USERNAME_MAX, "register (logic)"),
        ("users", "pw", PHC_MAX, "an argon2id PHC string with the largest parameters"),
        (
            "users",
            "username",
            "~deleted".len() + U64_DIGITS,
            "a guest's ~guest{uid} (105), a closed account's ~deleted{uid} (210)",
        ),
        ("users", "device", 64, "a guest's SHA-256 of its device id, hex (105)"),
        ("account_events", "id", U64_DIGITS + 2 + U64_DIGITS, "{uid}:{user ver} or {uid}:p{profile ver}"),
        ("account_events", "kind", "password_changed".len(), "the account scripts' event kinds (the longest)"),
        (
            "account_events",
            "detail",
            "forfeited ".len() + U64_DIGITS,
            "profile fields, a linked name (32), forfeited coins",
        ),
        ("ledger", "id", U64_DIGITS + 1 + U64_DIGITS, "{uid}:{wallet version}"),
        ("ledger", "reason", CREDIT_REASON_MAX, "ctx.credit's reason (built-in reasons are short words)"),
        ("ledger", "ref", GRANT_REF_MAX, "a staff grant: {staff}: {reason}"),
        ("ledger", "ref", LUA_CREDIT_REF_MAX, "a Lua credit: lua:{module file}"),
        ("ledger", "ref", ORDER_ID_MAX, "a payment: its order id"),
        ("ledger", "ref", U64_DIGITS, "a bet or its payout: the bet id"),
        ("matches", "type", MATCH_TYPE_MAX, "matches.types (config)"),
        ("matches", "title", MATCH_TITLE_MAX, "gm match validation"),
        ("matches", "team_a", TEAM_NAME_MAX, "gm match validation"),
        ("matches", "team_b", TEAM_NAME_MAX, "gm match validation"),
        ("matches", "result", OPTION_KEY_MAX, "the winning option's key"),
        ("matches", "external_id", EXTERNAL_ID_MAX, "gm match import"),
        ("matches", "market", MARKET_NAME_MAX, "gm market validation"),
        ("matches", "stream_url", STREAM_URL_MAX, "gm match edit validation"),
        ("bets", "option_key", OPTION_KEY_MAX, "one of the match's option keys (place_bet.lua)"),
        ("bets", "state", "refunded".len(), "open, won, lost, refunded"),
        ("bets", "req_id", BET_REQ_ID_MAX, "place bet (logic)"),
        ("payments", "order_id", ORDER_ID_MAX, "gm payment callback"),
        ("grant_requests", "request_id", REQUEST_ID_MAX, "a staff grant's request id"),
        ("grant_requests", "request_id", LUA_GRANT_ID_MAX, "a Lua credit: lua:{module}:{uid}:{once}"),
        ("gm_audit", "id", 32, "a simple UUID"),
        ("gm_audit", "who", STAFF_NAME_MAX, "gm.tokens[].name (config)"),
        ("gm_audit", "role", "operator".len(), "viewer, operator, admin"),
        ("gm_audit", "action", action, "the actions gm records"),
        ("gm_audit", "target", "announcement:".len() + U64_DIGITS, "user:/match:/announcement:{id}, node:{node id}"),
        ("gm_audit", "target", "match::market:".len() + 2 * U64_DIGITS, "match:{id}:market:{id}"),
        ("gm_audit", "target", "approval:".len() + 32, "approval:{id} (grant approvals)"),
        ("gm_audit", "target", "staff:".len() + STAFF_NAME_MAX, "staff:{name}"),
        ("gm_audit", "target", "token:".len() + 32, "token:{id}"),
        ("gm_audit", "action", "staff.token_create".len(), "staff.token_create, staff.token_revoke"),
        (
            "gm_audit",
            "action",
            "staff.login_failed".len(),
            "staff.create, staff.edit, staff.login, staff.login_failed, staff.logout",
        ),
        ("gm_audit", "action", "grant.approve".len(), "grant.ask, grant.approve, grant.reject"),
        ("user_bans", "reason", STAFF_REASON_MAX, "gm ban reason"),
        ("orders", "order_id", U64_DIGITS + 1 + 32, "{uid}-{simple UUID} (common::orders::new_id)"),
        ("orders", "order_id", ORDER_ID_MAX, "what the payment callback accepts"),
        ("orders", "currency", 3, "orders.currency: an ISO 4217 code (config)"),
        ("orders", "channel", ORDER_CHANNEL_MAX, "orders.channels names (config), a staff order's channel"),
        ("orders", "created_by", STAFF_NAME_MAX, "gm.tokens[].name (config)"),
        ("orders", "state", "created".len(), "created, paid"),
        ("profiles", "nickname", NICKNAME_MAX, "205 set_profile (characters; the column counts characters too)"),
        ("profiles", "avatar_url", AVATAR_URL_MAX, "205 set_profile"),
        ("user_bans", "changed_by", STAFF_NAME_MAX, "gm.tokens[].name (config)"),
        ("staff", "name", STAFF_NAME_MAX, "gm staff name validation"),
        ("staff", "role", "operator".len(), "viewer, operator, admin"),
        ("staff", "pw", PHC_MAX, "an argon2id PHC string"),
        ("staff", "totp_secret", 32, "20 random bytes, base32"),
        ("staff", "created_by", STAFF_NAME_MAX, "a staff or token name"),
    ]
}

#[tokio::test]
async fn every_field_limit_fits_its_mysql_column() {
    let db = TestDb::new().await;
    let rows = sqlx::query(
        "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, DATA_TYPE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE IN ('char', 'varchar') AND TABLE_NAME NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let columns: HashMap<(String, String), u64> = rows
        .iter()
        .map(|r| {
            let (table, column): (String, String) = (r.get(0), r.get(1));
            ((table, column), r.get::<u64, _>(2))
        })
        .collect();
    assert!(columns.len() >= 20, "the schema was read: {columns:?}");
    let producers = producers();
    let mut wrong = Vec::new();
    for (table, column, limit, from) in &producers {
        match columns.get(&(table.to_string(), column.to_string())) {
            None => wrong.push(format!("{table}.{column} is not in the schema")),
            Some(&n) if *limit as u64 > n => {
                wrong.push(format!("{table}.{column} holds {n} characters but {from} can be {limit} bytes"))
            }
            Some(_) => {}
        }
    }
    for (table, column) in columns.keys() {
        if !producers.iter().any(|(t, c, ..)| t == table && c == column) {
            wrong.push(format!("{table}.{column} has no limit listed here (add it to producers())"));
        }
    }
    assert!(wrong.is_empty(), "limits that do not fit their columns:\n{}", wrong.join("\n"));
}

/// A folder of Lua modules of the test's own, removed when dropped.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_values_reach_mysql_and_verify_is_clean() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    // A Lua module with the longest file name that may credit, crediting with the longest reason
    // and `once`: the credit's id is lua:{64}:{uid}:{128}.
    let folder = Folder(std::env::temp_dir().join(format!("md-cols-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&folder.0).unwrap();
    let module = "m".repeat(LUA_MODULE_MAX);
    let (reason, once) = ("r".repeat(CREDIT_REASON_MAX), "o".repeat(CREDIT_ONCE_MAX));
    std::fs::write(
        folder.0.join(format!("{module}.lua")),
        format!(
            "return {{ msg_ids = {{ 700 }}, handle = function(ctx, head, body)
               local balance, repeated = ctx.credit(7, '{reason}', '{once}')
               return {{ balance = balance, repeated = repeated }}
             end }}"
        ),
    )
    .unwrap();
    let staff = format!("staff-{}", "s".repeat(54));
    assert_eq!(staff.len(), 60);
    let token = "long-staff-token-0123456789abcdef0123456789";
    let mut cfg = env.node(1);
    cfg.mysql.url = db.url.clone();
    cfg.logic.lua_dir = folder.0.display().to_string();
    cfg.gm.tokens.push(StaffToken { name: staff.clone(), token: token.into(), role: Role::Admin });
    cfg.validate().expect("a 60-byte staff name is accepted");

    let stack = Stack::spawn(cfg.clone()).await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(cfg.clone(), &shutdown).await);
    let stats = spawn_dbsvr(cfg, &shutdown);

    let mut c = stack.client().await;
    let uid = c.register(&"u".repeat(USERNAME_MAX), "secret-pw").await;
    c.login(&"u".repeat(USERNAME_MAX), "secret-pw").await;
    let credited = c.call(700, json!({})).await;
    assert_eq!(credited.code(), 0, "{credited:?}");
    let lua_id = format!("lua:{module}:{uid}:{once}");

    let grant_reason = "g".repeat(STAFF_REASON_MAX);
    let request_id = "q".repeat(REQUEST_ID_MAX);
    let body = json!({"amount": 5, "reason": grant_reason, "request_id": request_id});
    let r = gm.post(&format!("/api/users/{uid}/grant"), token, &body).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The longest order id the callback takes (the server's own ids are shorter), on an order as the
    // scripts record one, paid; and an order the long-named staff member made, on the longest channel.
    let order_id = "o".repeat(ORDER_ID_MAX);
    let order = order_create::Args {
        uid,
        order_id: &order_id,
        amount: 3,
        channel: &"c".repeat(ORDER_CHANNEL_MAX),
        now_ms: common::time::now_ms(),
        keep_s: 60,
        list_max: 5,
        currency: CURRENCY,
        staff: None,
    };
    assert_eq!(order_create::call(&env.redis, &order).await.unwrap(), order_create::Outcome::Created);
    let r = gm.pay(&order_id, uid, 3).await;
    assert_eq!(r.status, 200, "{r:?}");
    let staff_order = json!({"user_id": uid, "amount": 4, "channel": "c".repeat(ORDER_CHANNEL_MAX), "reason": "r"});
    let r = gm.post("/api/orders", token, &staff_order).await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = gm.post(&format!("/api/users/{uid}/ban"), token, &json!({"reason": "b".repeat(STAFF_REASON_MAX)})).await;
    assert_eq!(r.status, 200, "{r:?}");

    env.lanes_idle(&env.keys().outboxes()).await;
    assert_eq!(stats.dead.load(std::sync::atomic::Ordering::Relaxed), 0, "nothing was dead-lettered");
    let report = dbsvr::verify::run(&env.redis, &db.pool, dbsvr::verify::Options::default()).await.unwrap();
    assert!(report.is_clean(), "MySQL equals Redis: {:?}", report.differences);
    assert_eq!((report.unflushed, report.dead), (0, 0));

    let one = |sql: &str| {
        let sql = sql.to_owned();
        let pool = db.pool.clone();
        async move { sqlx::query(&sql).fetch_optional(&pool).await.unwrap().map(|r| r.get::<String, _>(0)) }
    };
    let ids = [lua_id.as_str(), request_id.as_str()];
    for id in ids {
        let found = one(&format!("SELECT request_id FROM grant_requests WHERE request_id = '{id}'")).await;
        assert_eq!(found.as_deref(), Some(id), "the credit's request id is in MySQL");
    }
    let grant_ref = format!("{staff}: {grant_reason}");
    assert_eq!(one(&format!("SELECT ref FROM ledger WHERE ref = '{grant_ref}'")).await, Some(grant_ref));
    assert_eq!(one(&format!("SELECT reason FROM ledger WHERE reason = '{reason}'")).await, Some(reason));
    assert_eq!(one(&format!("SELECT order_id FROM payments WHERE order_id = '{order_id}'")).await, Some(order_id));
    assert_eq!(one(&format!("SELECT changed_by FROM user_bans WHERE uid = {uid}")).await, Some(staff.clone()));
    assert_eq!(one("SELECT who FROM gm_audit WHERE action = 'user.ban'").await, Some(staff));

    stack.stop().await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn validators_refuse_one_byte_past_each_limit() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let stack = Stack::spawn(env.node(1)).await;
    let mut c = stack.client().await;

    // Logic: usernames and bet request ids.
    let r = c
        .call(protocol::msg::REGISTER, json!({"username": "u".repeat(USERNAME_MAX + 1), "password": "secret-pw"}))
        .await;
    assert_ne!(r.code(), 0, "{r:?}");
    let uid = c.register(&"u".repeat(USERNAME_MAX), "secret-pw").await;
    c.login(&"u".repeat(USERNAME_MAX), "secret-pw").await;
    let bet =
        json!({"match_id": 1, "option": "a", "stake": 1, "odds_ver": 1, "req_id": "x".repeat(BET_REQ_ID_MAX + 1)});
    let r = c.call(protocol::msg::PLACE_BET, bet).await;
    assert_eq!(r.code(), protocol::ErrorCode::InvalidBody as u16, "{r:?}");

    // gm: match fields, one at a time past its limit (the valid match is created).
    let good = || {
        json!({"type": "lol", "title": "t".repeat(MATCH_TITLE_MAX), "teams": ["a".repeat(TEAM_NAME_MAX), "b"],
        "start_at": 4_102_444_800_000u64, "min_stake": 1, "max_stake": 100,
        "options": [{"key": "k".repeat(OPTION_KEY_MAX), "label": "l".repeat(OPTION_LABEL_MAX), "odds": 1500},
                    {"key": "b", "label": "b", "odds": 1500}]})
    };
    assert_eq!(gm.post("/api/matches", OPERATOR, &good()).await.status, 201);
    let mut too_long = Vec::new();
    for (field, edit) in [
        (
            "title",
            Box::new(|m: &mut serde_json::Value| m["title"] = json!("t".repeat(MATCH_TITLE_MAX + 1)))
                as Box<dyn Fn(&mut serde_json::Value)>,
        ),
        ("teams", Box::new(|m| m["teams"][0] = json!("a".repeat(TEAM_NAME_MAX + 1)))),
        ("options[0].key", Box::new(|m| m["options"][0]["key"] = json!("k".repeat(OPTION_KEY_MAX + 1)))),
        ("options[0].label", Box::new(|m| m["options"][0]["label"] = json!("l".repeat(OPTION_LABEL_MAX + 1)))),
    ] {
        let mut m = good();
        edit(&mut m);
        let r = gm.post("/api/matches", OPERATOR, &m).await;
        if r.status != 400 {
            too_long.push(format!("{field}: {r:?}"));
        }
    }
    let import = |ext: String| {
        json!({"matches": [{"external_id": ext, "type": "lol", "title": "t", "teams": ["a", "b"],
        "start_at": 4_102_444_800_000u64, "min_stake": 1, "max_stake": 100,
        "options": [{"key": "a", "label": "a", "odds": 1500}, {"key": "b", "label": "b", "odds": 1500}]}]})
    };
    assert_eq!(gm.post("/api/matches/import", OPERATOR, &import("e".repeat(EXTERNAL_ID_MAX))).await.status, 200);
    let r = gm.post("/api/matches/import", OPERATOR, &import("e".repeat(EXTERNAL_ID_MAX + 1))).await;
    if r.status != 400 {
        too_long.push(format!("external_id: {r:?}"));
    }
    // gm: grant reason and request id, ban reason, payment order id.
    let grant = |reason: String, id: String| json!({"amount": 1, "reason": reason, "request_id": id});
    let ok = grant("g".repeat(STAFF_REASON_MAX), "q".repeat(REQUEST_ID_MAX));
    assert_eq!(gm.post(&format!("/api/users/{uid}/grant"), ADMIN, &ok).await.status, 200);
    for (field, body) in [
        ("grant reason", grant("g".repeat(STAFF_REASON_MAX + 1), "q".into())),
        ("grant request_id", grant("g".into(), "q".repeat(REQUEST_ID_MAX + 1))),
    ] {
        let r = gm.post(&format!("/api/users/{uid}/grant"), ADMIN, &body).await;
        if r.status != 400 {
            too_long.push(format!("{field}: {r:?}"));
        }
    }
    let r =
        gm.post(&format!("/api/users/{uid}/ban"), OPERATOR, &json!({"reason": "b".repeat(STAFF_REASON_MAX + 1)})).await;
    if r.status != 400 {
        too_long.push(format!("ban reason: {r:?}"));
    }
    let r = gm.pay(&"o".repeat(ORDER_ID_MAX + 1), uid, 3).await;
    if r.status != 400 {
        too_long.push(format!("order_id: {r:?}"));
    }
    assert!(too_long.is_empty(), "accepted past their limit:\n{}", too_long.join("\n"));

    // Config: a staff name past its limit does not start.
    let mut cfg = env.node(1);
    cfg.gm.tokens[0].name = "s".repeat(STAFF_NAME_MAX + 1);
    assert!(cfg.validate().unwrap_err().to_string().contains("gm.tokens"));
    cfg.gm.tokens[0].name = "s".repeat(STAFF_NAME_MAX);
    cfg.validate().unwrap();

    stack.stop().await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
}
