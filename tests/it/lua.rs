//! Lua handler modules (docs/lua.md), end to end: connect and logic in-process against the real
//! Redis, modules in a folder of the test's own, reloads through the real control commands (and
//! gm's POST /api/ops/reload), and the example modules of logic/scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::control::{self, Answer};
use common::{Config, Shutdown};
use fred::prelude::*;
use futures_util::future::join_all;
use protocol::msg;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{ADMIN, Client, OPERATOR, Stack, TestEnv, eventually};

const PW: &str = "secret-pw";

/// A folder of the test's own, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let dir = std::env::temp_dir().join(format!("md-lua-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    fn write(&self, file: &str, source: &str) {
        let path = self.0.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }

    fn remove(&self, file: &str) {
        std::fs::remove_file(self.0.join(file)).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(env: &TestEnv, dir: &Path) -> Config {
    let mut cfg = env.node(1);
    cfg.logic.lua_dir = dir.display().to_string();
    cfg.connect.rate_burst = 100_000;
    cfg.connect.rate_per_sec = 100_000;
    cfg
}

/// A module serving `id` that answers `{ v = version, echo = body.x }`.
fn versioned(id: u16, version: u32) -> String {
    format!(
        "return {{ msg_ids = {{ {id} }}, handle = function(ctx, head, body) return {{ v = {version}, echo = body.x }} end }}"
    )
}

/// Waits for the logic process of the stack to be up (its heartbeat is written after its control
/// listener starts).
async fn logic_nodes(env: &TestEnv, n: usize) -> Vec<control::Node> {
    eventually("the logic processes are up", || async {
        let nodes: Vec<_> =
            control::nodes(&env.redis).await.unwrap().into_iter().filter(|n| n.role == "logic").collect();
        (nodes.len() == n).then_some(nodes)
    })
    .await
}

/// Sends `reload` to every logic process and returns their answers.
async fn reload(env: &TestEnv) -> Vec<Answer> {
    reload_n(env, 1).await
}

/// [`reload`] with `n` logic processes.
async fn reload_n(env: &TestEnv, n: usize) -> Vec<Answer> {
    let nodes = logic_nodes(env, n).await;
    control::send(&env.redis, &nodes, "reload", "test", Duration::from_secs(10)).await.unwrap()
}

async fn user(stack: &Stack, name: &str) -> (Client, u64) {
    let mut c = stack.client().await;
    let uid = c.register(name, PW).await;
    c.login(name, PW).await;
    (c, uid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lua_handler_answers_a_new_msg_id_with_the_ctx_api() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write(
        "hello.lua",
        r#"
local util = require('lib.util')
return {
  msg_ids = { 600, 601 },
  handle = function(ctx, head, body)
    if head.id == 601 then ctx.fail(5001, 'not today') end
    local p = ctx.profile()
    return { greeting = util.greet(p.username), uid = ctx.uid, balance = ctx.balance(), seq = head.seq,
             day = ctx.today(), list = { 1, 2, 3 }, x = body.x }
  end,
}"#,
    );
    dir.write("lib/util.lua", "return { greet = function(name) return 'hello ' .. name end }");
    let stack = Stack::spawn(config(&env, dir.path())).await;
    let mut anon = stack.client().await;
    let (mut c, uid) = user(&stack, "ada").await;

    let r = c.call(600, json!({ "x": "y" })).await;
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.body["greeting"], "hello ada");
    assert_eq!(r.body["uid"].as_u64(), Some(uid));
    assert_eq!(r.body["balance"].as_i64(), Some(stack.cfg.logic.signup_grant));
    assert_eq!(r.body["list"], json!([1, 2, 3]));
    assert_eq!(r.body["x"], "y");
    assert_eq!(r.body["day"].as_u64(), Some(common::time::day_of(common::time::now_ms())));

    let r = c.call(601, json!({})).await;
    assert_eq!((r.code(), r.body["msg"].as_str()), (5001, Some("not today")), "ctx.fail answers its code");
    assert_eq!(c.call(602, json!({})).await.code(), 3, "an id no module serves is unknown");
    assert_eq!(c.call(msg::BALANCE, json!({})).await.code(), 0, "built-in handlers still answer");
    assert_eq!(anon.call(600, json!({})).await.code(), 3, "before login connect lets only session ids through");
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_an_edited_module_under_load_changes_the_answers_and_loses_or_repeats_no_reply() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write("versioned.lua", &versioned(600, 1));
    let stack = Stack::spawn(config(&env, dir.path())).await;
    // A second logic process of the group: the reload reaches both.
    let second = test_support::spawn_logic(config(&env, dir.path()), &stack.shutdown);
    logic_nodes(&env, 2).await;
    let handled = || stack.logic.handled() + second.handled();
    let mut clients = Vec::new();
    for i in 0..6 {
        clients.push(user(&stack, &format!("load{i}")).await.0);
    }
    // The frames of the set-up: a register and a login per client. (Counted, not read from
    // `handled()` here: the login's reply can reach its client before logic counts its ack.)
    let before = 2 * clients.len() as u64;

    // Each client asks in a loop, one request at a time, and checks every answer is its own
    // (Client::call matches id and seq: a lost reply hangs, a repeated one breaks the next call).
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let seen_v2 = Arc::new(AtomicU64::new(0));
    // Set once every process has answered the reload: a request sent after that gets version 2.
    // (Before it, the two processes swap at their own moments, so answers may alternate.)
    let reloaded = Arc::new(AtomicBool::new(false));
    let loads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let (stop, sent, seen_v2, reloaded) = (stop.clone(), sent.clone(), seen_v2.clone(), reloaded.clone());
            tokio::spawn(async move {
                let (mut answers, mut version) = (0u64, 1);
                while !stop.load(Ordering::Relaxed) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    let after_reload = reloaded.load(Ordering::SeqCst);
                    let r = c.call(600, json!({ "x": i })).await;
                    assert_eq!(r.code(), 0, "{r:?}");
                    assert_eq!(r.body["echo"].as_u64(), Some(i as u64));
                    let v = r.body["v"].as_u64().unwrap();
                    assert!(v == 2 || !after_reload, "client {i}: answered by the old version after the reload");
                    if v == 2 && after_reload && version == 1 {
                        seen_v2.fetch_add(1, Ordering::Relaxed);
                    }
                    if after_reload {
                        version = v;
                    }
                    answers += 1;
                }
                // Nothing stray is left for this connection: the next call gets its own answer.
                assert_eq!(c.call(msg::PING, json!({})).await.code(), 0);
                (answers, version)
            })
        })
        .collect();

    eventually("the load runs", || async { (sent.load(Ordering::Relaxed) > 200).then_some(()) }).await;
    dir.write("versioned.lua", &versioned(600, 2));
    let answers = reload_n(&env, 2).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers.iter().all(|a| a.ok && a.detail.contains("600")), "{answers:?}");
    reloaded.store(true, Ordering::SeqCst);
    // Every request made after the reload answered is served by the new version.
    let after_reload = sent.load(Ordering::Relaxed);
    eventually("every client sees the new version", || async { (seen_v2.load(Ordering::Relaxed) == 6).then_some(()) })
        .await;
    eventually("the load goes on after the swap", || async {
        (sent.load(Ordering::Relaxed) > after_reload + 200).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for r in join_all(loads).await {
        let (answers, version) = r.expect("a client failed");
        assert_eq!(version, 2);
        total += answers;
    }
    assert_eq!(total, sent.load(Ordering::Relaxed), "every request was answered once");
    // The pings too: logic answered exactly the frames sent. (A reply can reach its client before
    // logic has counted the ack that sent it: wait for the count to catch up, then hold it equal.)
    eventually("logic has counted every frame it answered", || async {
        (handled() - before >= total + 6).then_some(())
    })
    .await;
    assert_eq!(handled() - before, total + 6, "frames handled = requests sent");
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_or_a_memory_bomb_is_stopped_with_code_1_and_the_worker_keeps_serving() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write("ok.lua", &versioned(600, 1));
    dir.write(
        "bad.lua",
        r#"
return {
  msg_ids = { 610, 611, 612, 613 },
  handle = function(ctx, head, body)
    if head.id == 610 then while true do end end
    -- waiting for Redis costs no CPU time, but a call makes a bounded number of Redis calls
    if head.id == 613 then while true do ctx.balance() end end
    if head.id == 611 then
      -- pcall cannot catch the stop
      while true do pcall(function() while true do end end) end
    end
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end
  end,
}"#,
    );
    let mut cfg = config(&env, dir.path());
    cfg.logic.lua_memory_kib = 4096;
    let stack = Stack::spawn(cfg).await;
    let (mut c, _) = user(&stack, "eve").await;
    let mut other = user(&stack, "bob").await.0;
    for id in [610, 611, 612, 613, 610] {
        let (r, ok) = tokio::join!(c.call(id, json!({})), other.call(600, json!({ "x": 1 })));
        assert_eq!(r.code(), 1, "{id}: {r:?}");
        assert_eq!((ok.code(), ok.body["v"].as_u64()), (0, Some(1)), "a good handler answers meanwhile");
    }
    for _ in 0..20 {
        assert_eq!(c.call(600, json!({})).await.code(), 0, "the worker keeps serving");
    }
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_fails_keeps_the_old_handlers_and_reports_file_and_line() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write("ok.lua", &versioned(600, 1));
    let stack = Stack::spawn(config(&env, dir.path())).await;
    let (mut c, _) = user(&stack, "ann").await;
    assert_eq!(c.call(600, json!({})).await.body["v"], 1);

    let broken = "return {\n  msg_ids = { 601 },\n  handle = function(ctx end,\n}\n";
    let cases: &[(&str, &str, &str)] = &[
        ("broken.lua", broken, "broken.lua:3:"),
        ("dup.lua", &versioned(600, 9), "msg id 600 is already served by"),
        ("push.lua", &versioned(950, 1), "outside the extension range"),
        ("shape.lua", "return 42", "must return a table"),
        ("ids.lua", "return { msg_ids = { 'x' }, handle = function() end }", "not a msg id"),
        ("boom.lua", "\n\nerror('at load')", "boom.lua:3: at load"),
        ("spin.lua", "while true do end", "CPU time limit"),
    ];
    for (file, source, expect) in cases {
        dir.write(file, source);
        dir.write("ok.lua", &versioned(600, 2));
        let answers = reload(&env).await;
        assert!(!answers[0].ok, "{file}: {answers:?}");
        assert!(answers[0].detail.contains(expect), "{file}: {:?} lacks {expect:?}", answers[0].detail);
        let r = c.call(600, json!({})).await;
        assert_eq!((r.code(), r.body["v"].as_u64()), (0, Some(1)), "{file}: the old set answers");
        dir.remove(file);
    }
    let answers = reload(&env).await;
    assert!(answers[0].ok, "{answers:?}");
    assert_eq!(c.call(600, json!({})).await.body["v"], 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overriding_a_built_in_handler_is_refused_unless_the_config_allows_it() {
    let env = TestEnv::new().await;
    let dir = Folder::new();
    let fake = "return { msg_ids = { 202 }, handle = function(ctx) return { balance = 42 } end }";
    dir.write("balance.lua", fake);

    // Refused at start: logic does not start with a folder it cannot load.
    let cfg = config(&env, dir.path());
    let err = logic::run(cfg.clone(), Shutdown::new()).await.unwrap_err().to_string();
    assert!(err.contains("balance.lua") && err.contains("lua_override"), "{err}");

    // Refused on reload: the running set stays.
    dir.remove("balance.lua");
    dir.write("ok.lua", &versioned(600, 1));
    let stack = Stack::spawn(cfg).await;
    let (mut c, _) = user(&stack, "ove").await;
    dir.write("balance.lua", fake);
    let answers = reload(&env).await;
    assert!(!answers[0].ok && answers[0].detail.contains("built-in"), "{answers:?}");
    assert_eq!(c.call(msg::BALANCE, json!({})).await.body["balance"], stack.cfg.logic.signup_grant);
    stack.stop().await;

    // Allowed: the module answers instead of the built-in handler.
    let mut cfg = config(&env, dir.path());
    cfg.logic.lua_override = true;
    let stack = Stack::spawn(cfg).await;
    let mut c = stack.client().await;
    c.login("ove", PW).await;
    assert_eq!(c.call(msg::BALANCE, json!({})).await.body["balance"], 42);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_escapes_fail_with_code_1() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write(
        "escape.lua",
        r#"
local tries = {
  os = function() return os.execute('touch /tmp/md-lua-escaped') end,
  io = function() return io.open('/etc/passwd'):read('a') end,
  load = function() return load('return 1')() end,
  dofile = function() return dofile('/etc/passwd') end,
  loadfile = function() return loadfile('/etc/passwd') end,
  debug = function() return debug.getinfo(1) end,
  package = function() return package.loadlib('libc.so.6', 'system') end,
  up = function() return require('..') end,
  abs = function() return require('/etc/passwd') end,
  redis = function() return require('redis.secret') end,
  missing = function() return require('nope') end,
  gc = function() return setmetatable({}, { __gc = function() end }) end,
  getmeta = function() return getmetatable('').__index.dump(print) end,
  script = function(ctx) return ctx.script('nope', {}, {}) end,
  key = function(ctx) return ctx.script('touch', { '../user:1' }, {}) end,
  credit = function(ctx) return ctx.credit(-5, 'x', 'y') end,
  push = function(ctx) return ctx.push(904, { balance = 1 }) end,
  tostring = function() error(setmetatable({}, { __tostring = function() while true do end end })) end,
}
return {
  msg_ids = { 620 },
  handle = function(ctx, head, body)
    if body.what == 'fine' then return { ok = true, lib = require('lib.fine').ok } end
    return { got = tries[body.what](ctx) }
  end,
}"#,
    );
    dir.write("lib/fine.lua", "return { ok = 1 }");
    dir.write("redis/secret.lua", "return 1");
    dir.write("redis/touch.lua", "return redis.call('SET', KEYS[1], 1)");
    let stack = Stack::spawn(config(&env, dir.path())).await;
    let (mut c, uid) = user(&stack, "mallory").await;
    let r = c.call(620, json!({ "what": "fine" })).await;
    assert_eq!((r.code(), &r.body), (0, &json!({ "ok": true, "lib": 1 })));
    for what in [
        "os", "io", "load", "dofile", "loadfile", "debug", "package", "up", "abs", "redis", "missing", "gc", "getmeta",
        "script", "key", "credit", "push", "tostring",
    ] {
        let r = c.call(620, json!({ "what": what })).await;
        assert_eq!(r.code(), 1, "{what} escaped: {r:?}");
    }
    assert!(!Path::new("/tmp/md-lua-escaped").exists());
    let user: std::collections::HashMap<String, String> = env.redis.pool.hgetall(env.keys().user(uid)).await.unwrap();
    assert_eq!(user.get("username").map(String::as_str), Some("mallory"), "the user is untouched");
    let stray: Vec<String> = env.scan("*:user:1").await.into_iter().filter(|k| *k != env.keys().user(1)).collect();
    assert!(stray.is_empty(), "no key outside ext: was written: {stray:?}");
    stack.stop().await;
}

/// The example modules of logic/scripts.
fn examples() -> String {
    format!("{}/logic/scripts", env!("CARGO_MANIFEST_DIR"))
}

/// Sum of the deltas of a user's ledger.
async fn ledger_sum(env: &TestEnv, uid: u64) -> i64 {
    let entries: Vec<bytes::Bytes> = env.redis.pool.lrange(env.keys().ledger(uid), 0, -1).await.unwrap();
    entries.iter().map(|e| rmp_serde::from_slice::<Value>(e).unwrap()["delta"].as_i64().unwrap()).sum()
}

async fn balance(env: &TestEnv, uid: u64) -> i64 {
    let b: Option<i64> = env.redis.pool.hget(env.keys().wallet(uid), "balance").await.unwrap();
    b.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_bonus_is_credited_once_per_day_even_with_concurrent_requests_and_money_is_conserved() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.logic.lua_dir = examples();
    let stack = Stack::spawn(cfg).await;
    let grant = stack.cfg.logic.signup_grant;
    let today = common::time::day_of(common::time::now_ms());

    let mut uids = Vec::new();
    for (i, name) in ["ann", "ben", "cid"].into_iter().enumerate() {
        let mut c = stack.client().await;
        let uid = c.register(name, PW).await;
        uids.push(uid);
        if i == 2 {
            // cid signed in on each of the 4 days before today: today is day 5 of the run.
            let days = env.keys().ext("signin:days");
            let _: i64 = env.redis.pool.hset(days, (uid.to_string(), format!("{}:4", today - 1))).await.unwrap();
        }
        // Five devices claim at once, then one retries.
        let claims = (0..5).map(|_| async {
            let mut c = stack.client().await;
            c.login(name, PW).await;
            c.call(501, json!({})).await
        });
        let mut replies = join_all(claims).await;
        let mut c = stack.client().await;
        c.login(name, PW).await;
        replies.push(c.call(501, json!({})).await);
        let expect = if i == 2 { 140 } else { 100 };
        assert!(replies.iter().all(|r| r.code() == 0), "{replies:?}");
        let claimed = replies.iter().filter(|r| r.body["claimed"] == json!(true)).count();
        assert_eq!(claimed, 1, "{name}: exactly one claim credits: {replies:?}");
        for r in &replies {
            assert_eq!(r.body["bonus"].as_i64(), Some(expect), "{r:?}");
            assert_eq!(r.body["balance"].as_i64(), Some(grant + expect), "{r:?}");
            assert_eq!(r.body["streak"].as_i64(), Some(if i == 2 { 5 } else { 1 }));
            assert_eq!(r.body["next_at"].as_u64(), Some((today + 1) * 86_400_000));
        }
        assert_eq!(balance(&env, uid).await, grant + expect);
        assert_eq!(ledger_sum(&env, uid).await, grant + expect, "{name}: ledger sum = balance");
    }
    // One "bonus ready" push scheduled per claim, for tomorrow 00:00 UTC.
    let due: Vec<(Value, f64)> = {
        let raw: Vec<(bytes::Bytes, f64)> =
            env.redis.pool.zrange(env.keys().sched(), 0, -1, None, false, None, true).await.unwrap();
        raw.iter().map(|(m, s)| (rmp_serde::from_slice(m).unwrap(), *s)).collect()
    };
    let pushes: Vec<_> = due.iter().filter(|(e, _)| e["kind"] == "user_push").collect();
    assert_eq!(pushes.len(), 3, "{due:?}");
    let midnight = (today + 1) * 86_400_000;
    // (due = now + delay, read a moment after the module computed the delay from midnight)
    assert!(
        pushes.iter().all(|(e, at)| e["id"] == 951 && (midnight..midnight + 5_000).contains(&(*at as u64))),
        "{pushes:?}"
    );

    // The leaderboard: cid first (5 days), then ann and ben (1 day); the caller's place.
    let mut c = stack.client().await;
    c.login("ben", PW).await;
    let board = c.call(502, json!({ "limit": 2 })).await;
    assert_eq!(board.code(), 0, "{board:?}");
    let items = board.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{board:?}");
    assert_eq!((items[0]["username"].as_str(), items[0]["streak"].as_i64()), (Some("cid"), Some(5)));
    assert_eq!(items[0]["rank"], 1);
    assert_eq!(board.body["me"]["streak"], 1);
    assert!(matches!(board.body["me"]["rank"].as_i64(), Some(2 | 3)), "{board:?}");
    assert_eq!(c.call(502, json!({ "limit": 50 })).await.code(), 7, "limit is checked");
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gm_reload_answers_200_422_or_504_with_every_node_s_answer() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write("ok.lua", &versioned(600, 1));
    let stack = Stack::spawn(config(&env, dir.path())).await;
    let gm = Gm::new(test_support::spawn_gm(stack.cfg.clone(), &stack.shutdown).await);
    logic_nodes(&env, 1).await;

    let r = gm.post("/api/ops/reload", OPERATOR, &json!({})).await;
    assert_eq!(r.status, 403, "admins only");
    let r = gm.post("/api/ops/reload", ADMIN, &json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["nodes"][0]["ok"], true);
    assert_eq!(r.body["nodes"][0]["node"], stack.cfg.node.id.as_str());
    assert!(r.body["nodes"][0]["detail"].as_str().unwrap().contains("ok.lua"));

    dir.write("bad.lua", "return {");
    let r = gm.post("/api/ops/reload", ADMIN, &json!({})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.body["nodes"][0]["detail"].as_str().unwrap().contains("bad.lua:1:"), "{:?}", r.body);
    dir.remove("bad.lua");

    // A logic process that does not answer (a heartbeat with no process behind it).
    let ghost = env.keys().node("logic", "ghost");
    let _: () = env.redis.pool.hset(&ghost, vec![("role", "logic"), ("id", "ghost")]).await.unwrap();
    let r = gm.post("/api/ops/reload?timeout_ms=500", ADMIN, &json!({})).await;
    assert_eq!(r.status, 504, "{:?}", r.body);
    assert_eq!(r.body["missing"], json!(["ghost"]));
    assert_eq!(r.body["nodes"][0]["ok"], true);
    stack.stop().await;
}

/// `matchday reload` with the test's Redis and prefix: (exit status success, stdout).
async fn cli_reload(env: &TestEnv) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_matchday"))
        .args(["reload", "--timeout-ms", "10000"])
        .env("MATCHDAY__REDIS__URL", &env.cfg.redis.url)
        .env("MATCHDAY__REDIS__PREFIX", &env.cfg.redis.prefix)
        .output()
        .await
        .expect("run matchday reload");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matchday_reload_prints_each_answer_and_exits_1_on_a_failure() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write("ok.lua", &versioned(600, 1));
    let stack = Stack::spawn(config(&env, dir.path())).await;
    logic_nodes(&env, 1).await;
    let (mut c, _) = user(&stack, "cli").await;

    dir.write("ok.lua", &versioned(600, 2));
    let (ok, out) = cli_reload(&env).await;
    assert!(ok, "{out}");
    assert!(out.contains(&stack.cfg.node.id) && out.contains("\tok\t") && out.contains("600"), "{out}");
    assert_eq!(c.call(600, json!({})).await.body["v"], 2);

    dir.write("ok.lua", "return { msg_ids = { 600 }, handle = function(ctx) return { v = 3 } end\n");
    let (ok, out) = cli_reload(&env).await;
    assert!(!ok, "a failed reload exits non-zero: {out}");
    assert!(out.contains("FAILED") && out.contains("ok.lua:"), "{out}");
    assert_eq!(c.call(600, json!({})).await.body["v"], 2, "the old handlers stay");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_push_and_schedule_reach_the_user_through_pushsvr() {
    let (env, dir) = (TestEnv::new().await, Folder::new());
    dir.write(
        "notify.lua",
        r#"
return {
  msg_ids = { 630 },
  handle = function(ctx, head, body)
    ctx.push(960, { n = 1 })
    ctx.schedule(0, 960, { n = 2 })
    return {}
  end,
}"#,
    );
    let mut cfg = config(&env, dir.path());
    cfg.pushsvr.poll_interval_ms = 50;
    let stack = Stack::spawn(cfg.clone()).await;
    test_support::spawn_pushsvr(cfg, &stack.shutdown);
    let (mut c, _) = user(&stack, "pia").await;
    assert_eq!(c.call(630, json!({})).await.code(), 0);
    let mut got = Vec::new();
    for _ in 0..2 {
        let p = c.push().await;
        assert_eq!(p.head.id, 960, "{p:?}");
        got.push(p.body["n"].as_i64().unwrap());
    }
    got.sort();
    assert_eq!(got, vec![1, 2]);
    stack.stop().await;
}

#[tokio::test]
async fn the_example_modules_serve_exactly_the_extension_ids_docs_protocol_md_lists() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.logic.lua_dir = examples();
    let handlers = logic::lua::LuaHandlers::new(logic::lua::Limits::from_config(&cfg.logic));
    handlers.reload(&env.redis, &logic::Dispatch::default()).await.expect("the examples load");
    let served = handlers.snapshot().ids();
    let doc = include_str!("../../docs/protocol.md");
    let section = &doc[doc.find("## Extensions").expect("an Extensions section")..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let documented: Vec<u16> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .filter(|id| logic::lua::EXTENSION_IDS.contains(id))
        .collect();
    assert_eq!(served, documented);
}
