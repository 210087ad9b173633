//! With Redis unreachable, every WebSocket msg id answers code 6 and every gm route 503 with Retry-After.
//!
//! Two outages, one driver: Redis paused (SIGSTOP: connections stay open and every command hangs
//! until `redis.command_timeout_ms`) and Redis stopped (killed: connections refused). The driver is
//! built from the tables, so a new msg id, handler or route is covered without touching this file:
//!
//! - every msg id of `protocol::msg::CATALOGUE`, sent by a logged-in client that keeps its
//!   connection through the outage (connect answers 6 for a frame it cannot queue), and every
//!   session msg id (register, login, resume, ...) from a client that connects during the outage;
//! - every handler of logic's dispatch table (`logic::HANDLERS`), called directly with a context on
//!   the unreachable Redis: what it answers when Redis goes away between the queue and the handler;
//! - every route of the public API's document (`web::openapi()`): 503 `unavailable`;
//! - every route × method of gm's OpenAPI document (`gm::openapi()`), path parameters filled with
//!   the ids of a real user and match, bodies with plausible JSON, with an admin token.
//!
//! What does not answer 6 or 503 must be in an exception list below, with what it answers instead
//! and why; anything else fails the test, naming it. A route or msg id with a body or parameter
//! this file cannot fill in fails too, asking for a plausible value.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Config, Redis, Shutdown};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use protocol::codec::{Origin, splice_client_frame};
use protocol::msg::{self, MsgId};
use protocol::{ClientHead, ErrorCode};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::Client;
use test_support::http::{Gm, Res};
use test_support::redis_server::RedisServer;
use test_support::{
    ADMIN, OPERATOR, PAYMENT_SECRET, TestDb, TestEnv, eventually, spawn_connect, spawn_gm, spawn_logic,
};

/// `redis.command_timeout_ms` of the services under test: a paused Redis shows within it.
const COMMAND_TIMEOUT_MS: u64 = 500;
const UNAVAILABLE: u16 = ErrorCode::Unavailable.code();

/// Msg ids that do not answer 6 while Redis is away: (id, code, why). None: connect queues every
/// frame on Redis, so every id, requests and the push ids a client has no reason to send alike,
/// answers 6 (code 3 for an unknown id comes from logic, which the frame never reaches).
const MSG_EXCEPTIONS: &[(MsgId, u16, &str)] = &[];

/// Handlers of logic's dispatch table that touch no Redis: (id, code, why).
const HANDLER_EXCEPTIONS: &[(MsgId, u16, &str)] = &[(msg::PING, 0, "answers the server clock and reads nothing")];

/// gm routes that answer without Redis: (method, path, status, why). Those in the OpenAPI document
/// are excused from its 503; the others are the routes gm serves outside it, called all the same
/// so this list stays true.
const ROUTE_EXCEPTIONS: &[(&str, &str, u16, &str)] = &[
    ("get", "/api/whoami", 200, "the caller's name and role come from the token, in gm's config"),
    ("get", "/api/reports/{by}", 200, "reads the MySQL record, not Redis"),
    ("get", "/api/audit", 200, "reads the MySQL record, not Redis"),
    ("get", "/api/users/search", 200, "reads the MySQL record, not Redis"),
    ("get", "/api/bets", 200, "reads the MySQL record, not Redis"),
    ("get", "/api/users/{id}/history", 200, "reads the MySQL record, not Redis"),
    ("get", "/healthz", 200, "liveness: gm itself is up, whatever Redis does"),
    ("get", "/readyz", 503, "readiness reports Redis itself (a probe: no Retry-After)"),
    ("get", "/openapi.json", 200, "the document is built from the code"),
    ("get", "/metrics", 200, "Prometheus figures from memory"),
    ("get", "/", 200, "the console's page is embedded in gm"),
    ("get", "/console/app.js", 200, "the console's script is embedded in gm"),
    ("get", "/console/app.css", 200, "the console's style sheet is embedded in gm"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outage {
    /// SIGSTOP: Redis holds its connections and answers nothing.
    Paused,
    /// SIGKILL: nothing listens on its port.
    Stopped,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_redis_is_paused_every_msg_id_answers_6_and_every_gm_route_503() {
    outage(Outage::Paused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_redis_is_stopped_every_msg_id_answers_6_and_every_gm_route_503() {
    outage(Outage::Stopped).await;
}

/// A world with a player and a match, the outage, the driver, and the recovery.
async fn outage(outage: Outage) {
    let mut redis = RedisServer::start().await;
    let mut env = TestEnv::on(&redis.url()).await;
    env.cfg.redis.command_timeout_ms = COMMAND_TIMEOUT_MS;
    let shutdown = Shutdown::new();
    let cfg = env.node(1);
    let (ws, _) = spawn_connect(cfg.clone(), &shutdown).await;
    spawn_logic(cfg.clone(), &shutdown);
    // gm reads reports and lists from a MySQL of its own: they answer through a Redis outage.
    let db = TestDb::new().await;
    let mut gm_cfg = env.node(1);
    gm_cfg.mysql.url = db.url.clone();
    let gm = Gm::new(spawn_gm(gm_cfg, &shutdown).await);
    let web = Gm::new(test_support::spawn_web(cfg.clone(), &shutdown).await);
    let mut world = World::build(ws, gm, web).await;
    let ctx = logic_ctx(&cfg).await;

    let failures = match outage {
        Outage::Paused => {
            redis.pause();
            // Resumed however the driver ends: a paused Redis would hang the cleanup of the test.
            let _resume = ResumeOnDrop(&redis);
            drive(&mut world, &ctx).await
        }
        Outage::Stopped => {
            redis.kill().await;
            let failures = drive(&mut world, &ctx).await;
            redis.restart().await;
            failures
        }
    };
    assert!(failures.is_empty(), "while Redis is {outage:?}:\n{}", failures.join("\n"));
    world.recovered().await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await, "services did not stop in time");
}

struct ResumeOnDrop<'a>(&'a RedisServer);

impl Drop for ResumeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.resume();
    }
}

/// Everything the driver asks while Redis is away; returns what answered otherwise than it must.
async fn drive(world: &mut World, ctx: &logic::Ctx) -> Vec<String> {
    let mut failures = world.frames().await;
    failures.extend(handlers(world, ctx).await);
    failures.extend(routes(world).await);
    failures.extend(public_routes(world).await);
    failures
}

/// Every route of the public API's document answers 503 `unavailable` with Retry-After.
async fn public_routes(world: &World) -> Vec<String> {
    let doc = serde_json::to_value(web::openapi()).expect("the document serializes");
    let mut failures = Vec::new();
    for path in doc["paths"].as_object().expect("paths").keys() {
        let url = path.replace("{id}", &world.mid.to_string()).replace("{board}", "net").replace("{period}", "all");
        let res = world.web.call("GET", &url, None, None::<&()>).await;
        if (res.status, res.error_code(), res.header("retry-after")) != (503, "unavailable", "1") {
            failures.push(format!("web GET {path} answered {} {}", res.status, res.body));
        }
    }
    failures
}

/// A player (registered, logged in, connected throughout) and an open match.
struct World {
    ws: SocketAddr,
    gm: Gm,
    /// The public read API.
    web: Gm,
    player: Client,
    username: String,
    password: String,
    token: String,
    uid: u64,
    mid: u64,
}

impl World {
    async fn build(ws: SocketAddr, gm: Gm, web: Gm) -> World {
        let username = format!("outage_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let password = "outage-password".to_owned();
        let mut player = Client::connect(ws).await;
        let uid = player.register(&username, &password).await;
        let session = player.login(&username, &password).await;
        let token = session["token"].as_str().expect("token").to_owned();
        let created = gm.post("/api/matches", OPERATOR, &match_spec()).await;
        assert_eq!(created.status, 201, "{created:?}");
        let mid = created.body["match_id"].as_u64().expect("match_id");
        for action in ["approve", "open"] {
            let r = gm.post(&format!("/api/matches/{mid}/{action}"), OPERATOR, &json!({})).await;
            assert_eq!(r.status, 200, "{action}: {r:?}");
        }
        World { ws, gm, web, player, username, password, token, uid, mid }
    }

    /// A plausible body for msg id `id` (`{}` for one that takes none, or that this file does not
    /// know: connect forwards a body without reading it).
    fn body(&self, id: MsgId) -> Value {
        match id {
            msg::REGISTER => json!({ "username": format!("{}_new", self.username), "password": self.password }),
            msg::LOGIN => json!({ "username": self.username, "password": self.password }),
            msg::RESUME => json!({ "token": self.token }),
            msg::LEDGER | msg::MY_BETS => json!({ "offset": 0, "limit": 20 }),
            msg::LIST_MATCHES => json!({ "limit": 20 }),
            msg::MATCH_DETAIL | msg::WATCH_MATCH => json!({ "match_id": self.mid }),
            msg::PLACE_BET => {
                json!({ "match_id": self.mid, "option": "a", "stake": 10, "odds_ver": 1, "req_id": "outage-bet" })
            }
            msg::BET_DETAIL => json!({ "bet_id": 1 }),
            msg::CREATE_ORDER => json!({ "amount": 100, "channel": "card" }),
            msg::CHANGE_PASSWORD => json!({ "old_password": "whatever", "new_password": "long-enough" }),
            msg::REVOKE_SESSION => json!({ "others": true }),
            msg::SET_PROFILE => json!({ "nickname": "Nick" }),
            // A PNG's signature and a byte: the upload is read from Redis before anything is stored.
            msg::UPLOAD_AVATAR => json!({ "content_type": "image/png", "data": [137, 80, 78, 71, 13, 10, 26, 10, 0] }),
            msg::GUEST_LOGIN => json!({ "device_id": "outage-device-0123456789" }),
            msg::LINK_ACCOUNT => json!({ "username": format!("{}_link", self.username), "password": self.password }),
            // A wrong password: should the frame run after Redis is back, nothing is closed.
            msg::DELETE_ACCOUNT => json!({ "password": "not-the-password" }),
            msg::MARK_NOTICES_READ => json!({ "all": true }),
            msg::SUBSCRIBE_MATCH => json!({ "match_id": self.mid }),
            msg::REGISTER_DEVICE => json!({ "platform": "fcm", "token": "outage-token" }),
            msg::RESET_PASSWORD => {
                json!({ "username": self.username, "code": "AAAA-BBBB-CCCC", "new_password": "long-enough" })
            }
            _ => json!({}),
        }
    }

    /// Every msg id of the catalogue from the logged-in player; every session msg id from a client
    /// that connects now (not logged in: a reconnecting app).
    async fn frames(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for m in msg::CATALOGUE {
            let body = self.body(m.id);
            let r = self.player.call(m.id, &body).await;
            failures.extend(expect_code(MSG_EXCEPTIONS, m.id, m.name, r.code(), "logged in", &r.body));
        }
        let mut fresh = Client::connect(self.ws).await;
        for m in msg::CATALOGUE.iter().filter(|m| msg::is_session(m.id)) {
            let r = fresh.call(m.id, &self.body(m.id)).await;
            failures.extend(expect_code(
                MSG_EXCEPTIONS,
                m.id,
                m.name,
                r.code(),
                "connected during the outage",
                &r.body,
            ));
        }
        failures
    }

    /// Redis is back: gm answers, a client logs in again, the player's connection answers.
    async fn recovered(&mut self) {
        let (gm, ws) = (&self.gm, self.ws);
        let path = &format!("/api/matches/{}", self.mid);
        eventually(
            "gm reads the match again",
            || async move { (gm.get(path, ADMIN).await.status == 200).then_some(()) },
        )
        .await;
        let login = &self.body(msg::LOGIN);
        eventually("a client logs in again", || async move {
            let mut c = Client::connect(ws).await;
            (c.call(msg::LOGIN, login).await.code() == 0).then_some(())
        })
        .await;
        let detail = self.body(msg::MATCH_DETAIL);
        let mut c = Client::connect(self.ws).await;
        c.login(&self.username, &self.password).await;
        let r = c.call(msg::MATCH_DETAIL, &detail).await;
        assert_eq!(r.code(), 0, "{r:?}");
        // The player's connection lived through the outage (a late reply to a frame answered 6
        // may come first: replies are matched by seq).
        let r = self.player.call(msg::PING, json!({})).await;
        assert_eq!(r.code(), 0, "{r:?}");
    }
}

/// `code` is 6, or what `exceptions` says `id` answers; Some(failure) otherwise.
fn expect_code(
    exceptions: &[(MsgId, u16, &str)],
    id: MsgId,
    name: &str,
    code: u16,
    context: &str,
    body: &Value,
) -> Option<String> {
    let want = exceptions.iter().find(|(e, ..)| *e == id).map_or(UNAVAILABLE, |(_, code, _)| *code);
    (code != want).then(|| format!("msg {id} {name} ({context}) answered {code}, not {want}: {body}"))
}

/// A logic context of its own on the Redis under test (connected before the outage), for calling
/// the handlers directly.
async fn logic_ctx(cfg: &Config) -> logic::Ctx {
    let redis = Redis::new(&cfg.redis).expect("redis");
    redis.ready().await.expect("Redis is up before the outage");
    logic::Ctx::new(redis, cfg, Arc::new(logic::Stats::default()), logic::Dispatch::default()).expect("ctx")
}

/// Every handler of logic's dispatch table, with the player's frame as connect would queue it.
async fn handlers(world: &World, ctx: &logic::Ctx) -> Vec<String> {
    let calls = logic::HANDLERS.iter().map(|(id, handler)| async move {
        let head = ClientHead { id: *id, seq: 1, ver: None };
        let origin = Origin {
            node: "outage".into(),
            conn: 1,
            uid: Some(world.uid),
            sid: Some("0".repeat(64)),
            group: 1,
            addr: "127.0.0.1".into(),
            ts: common::time::now_ms(),
            trace: uuid::Uuid::new_v4().simple().to_string(),
        };
        let body = rmp_serde::to_vec_named(&world.body(*id)).expect("body");
        let frame = Bytes::from(splice_client_frame(head, origin, &body).expect("frame"));
        let req = logic::Request::decode(&frame).expect("decodes");
        match handler(ctx, &req).await {
            Ok(_) => (*id, 0, Value::Null),
            Err(e) => (*id, e.wire_code(), e.body()),
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    answers
        .into_iter()
        .filter_map(|(id, code, body)| {
            let name = msg::info(id).map_or("?", |m| m.name);
            expect_code(HANDLER_EXCEPTIONS, id, name, code, "logic handler", &body)
        })
        .collect()
}

/// One route × method of the OpenAPI document.
#[derive(Debug)]
struct Route {
    method: String,
    path: String,
    op: String,
    /// (name, in, required) of each parameter.
    params: Vec<(String, String, bool)>,
    body: bool,
}

/// Every route × method of gm's OpenAPI document.
fn documented() -> Vec<Route> {
    let doc = serde_json::to_value(gm::openapi()).expect("the document serializes");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let params = op["parameters"].as_array().map_or(&[][..], Vec::as_slice);
            routes.push(Route {
                method: method.clone(),
                path: path.clone(),
                op: op["operationId"].as_str().unwrap_or_default().to_owned(),
                params: params
                    .iter()
                    .map(|p| {
                        let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                        (s("name"), s("in"), p["required"].as_bool().unwrap_or(false))
                    })
                    .collect(),
                body: op.get("requestBody").is_some(),
            });
        }
    }
    routes
}

/// Every documented route answers 503 `unavailable` with Retry-After, or what its exception says;
/// every exception outside the document answers what it says.
async fn routes(world: &World) -> Vec<String> {
    let documented = documented();
    assert!(documented.len() > ROUTE_EXCEPTIONS.len(), "the OpenAPI document lists no routes: {documented:?}");
    let mut failures = Vec::new();
    for (method, path, _, _) in ROUTE_EXCEPTIONS {
        if path.starts_with("/api/") && !documented.iter().any(|r| r.method == *method && r.path == *path) {
            failures.push(format!("{method} {path} is excused but not in the OpenAPI document: drop it"));
        }
    }
    let answers: Vec<Option<String>> =
        futures_util::stream::iter(&documented).map(|r| check(world, r)).buffer_unordered(8).collect().await;
    failures.extend(answers.into_iter().flatten());
    for (method, path, status, why) in ROUTE_EXCEPTIONS {
        if documented.iter().any(|r| r.method == *method && r.path == *path) {
            continue;
        }
        let res = world.gm.call(&method.to_uppercase(), path, None, None::<&()>).await;
        if res.status != *status {
            failures.push(format!("{method} {path} answered {} where {status} ({why}) was expected", res.status));
        }
    }
    failures
}

/// Calls one documented route; Some(failure) unless it answers 503 `unavailable` with
/// Retry-After, or what its exception says.
async fn check(world: &World, r: &Route) -> Option<String> {
    let route = format!("{} {} ({})", r.method.to_uppercase(), r.path, r.op);
    let res = match call(world, r).await {
        Ok(res) => res,
        Err(why) => return Some(format!("{route}: {why}")),
    };
    match ROUTE_EXCEPTIONS.iter().find(|(m, p, ..)| *m == r.method && *p == r.path) {
        Some((.., status, why)) => (res.status != *status)
            .then(|| format!("{route} answered {} where {status} ({why}) was expected", res.status)),
        None => unavailable(&res).err().map(|why| format!("{route}: {why}")),
    }
}

/// 503 `unavailable` with a Retry-After of whole seconds.
fn unavailable(res: &Res) -> Result<(), String> {
    let retry_after = res.header("retry-after");
    if res.status == 503 && res.error_code() == "unavailable" && retry_after.parse::<u64>().is_ok() {
        return Ok(());
    }
    Err(format!(
        "answered {} {:?} (Retry-After {retry_after:?}), not 503 unavailable with Retry-After: {}",
        res.status,
        res.error_code(),
        res.body
    ))
}

/// Calls `route` with plausible parameters and body, as an admin.
async fn call(world: &World, route: &Route) -> Result<Res, String> {
    let mut path = route.path.clone();
    let mut query = Vec::new();
    let mut signed = false;
    for (name, place, required) in &route.params {
        match place.as_str() {
            "path" => {
                let value = path_value(world, &route.path, name)
                    .ok_or_else(|| format!("no plausible value for path parameter {name}: add one to path_value"))?;
                path = path.replace(&format!("{{{name}}}"), &value);
            }
            "query" if *required => {
                let value = query_value(world, name)
                    .ok_or_else(|| format!("no plausible value for query parameter {name}: add one to query_value"))?;
                query.push(format!("{name}={value}"));
            }
            "query" => {}
            "header" if name.eq_ignore_ascii_case("x-signature") => signed = true,
            other => return Err(format!("no plausible value for {other} parameter {name}: teach call() about it")),
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let body = match route.body {
        true => Some(body_of(world, &route.op).ok_or("no plausible body: add one to body_of")?),
        false => None,
    };
    let method = route.method.to_uppercase();
    if signed {
        if method != "POST" {
            return Err("a signed route other than POST: teach call() about it".into());
        }
        let bytes = serde_json::to_vec(&body.unwrap_or(Value::Null)).expect("json");
        let mut mac = Hmac::<Sha256>::new_from_slice(PAYMENT_SECRET.as_bytes()).expect("key");
        mac.update(&bytes);
        let signature = hex::encode(mac.finalize().into_bytes());
        return Ok(world.gm.raw(&path, bytes, &[("x-signature", signature)]).await);
    }
    Ok(world.gm.call(&method, &path, Some(ADMIN), body.as_ref()).await)
}

/// The id a path parameter names: the resource is the path segment before it.
fn path_value(world: &World, path: &str, name: &str) -> Option<String> {
    let placeholder = format!("{{{name}}}");
    let resource = path.split('/').take_while(|s| *s != placeholder).last()?;
    match (resource, name) {
        ("matches", "id") => Some(world.mid.to_string()),
        // A match's own id names its default market.
        ("markets", "market_id") => Some(world.mid.to_string()),
        ("{market_id}", "action") => Some("suspend".into()),
        ("reports", "by") => Some("day".into()),
        ("users", "id") => Some(world.uid.to_string()),
        // Any id: Redis answers nothing anyway.
        ("notices" | "approvals", "id") => Some("0190f0c4a1b27c3d9e8f7a6b5c4d3e2f".into()),
        ("staff", "name") => Some("eve".into()),
        ("tokens", "id") => Some("0190f0c4a1b27c3d9e8f7a6b5c4d3e2f".into()),
        _ => None,
    }
}

fn query_value(world: &World, name: &str) -> Option<String> {
    match name {
        "name" => Some(world.username.clone()),
        "list" => Some("q:dead:q:outbox:%7Bg%7D".into()),
        _ => None,
    }
}

/// A plausible body for the operation (what it would accept with Redis up).
fn body_of(world: &World, op: &str) -> Option<Value> {
    Some(match op {
        "create_match" => match_spec(),
        "import_matches" => {
            let mut item = match_spec();
            item["external_id"] = json!("outage-feed-1");
            json!({ "matches": [item] })
        }
        "set_result" | "set_market_result" => json!({ "winner": "a" }),
        "set_odds" | "set_market_odds" => json!({ "options": [{ "key": "a", "odds": 1900 }] }),
        "add_market" => json!({ "name": "First blood", "options": match_spec()["options"] }),
        "edit_match" => json!({ "title": "T1 vs GEN (final)" }),
        "requeue_dead" => json!({ "list": "q:dead:q:outbox:{g}", "count": 1 }),
        "edit_market" => json!({ "name": "Match winner (map 1)" }),
        "grant_coins" => json!({ "amount": 100, "reason": "outage drill", "request_id": "outage-grant" }),
        "ban_user" | "unban_user" => json!({ "reason": "outage drill" }),
        "create_announcement" => json!({ "text": "outage drill" }),
        "create_notice" => json!({ "text": "outage drill", "target": "user", "target_id": world.uid }),
        "drain_node" => json!({ "node": "n-outage" }),
        "payment_callback" => {
            json!({ "order_id": "outage-order", "user_id": world.uid, "amount": 100, "currency": "USD" })
        }
        "create_staff" => json!({ "name": "eve", "role": "viewer", "password": "outage-drill-password" }),
        "staff_login" => json!({ "name": "eve", "password": "outage-drill-password", "code": "123456" }),
        "edit_staff" => json!({ "disabled": true }),
        "create_api_token" => json!({ "owner": "eve", "role": "viewer" }),
        "create_order" => json!({ "user_id": world.uid, "amount": 100, "channel": "bank", "reason": "outage drill" }),
        _ => return None,
    })
}

fn match_spec() -> Value {
    json!({
        "type": "lol", "title": "T1 vs GEN", "teams": ["T1", "GEN"], "start_at": 1_900_000_000_000u64,
        "options": [{ "key": "a", "label": "T1", "odds": 1850 }, { "key": "b", "label": "GEN", "odds": 2100 }],
        "min_stake": 10, "max_stake": 5000
    })
}
