//! Live operations (issue 9): the load every process reports in its heartbeat, `GET /api/nodes` and
//! `matchday status`, scaling a loaded group out with a second logic process and back in with
//! `POST /api/ops/drain`, and the control commands every service answers.

use std::collections::HashMap;
use std::time::Duration;

use common::Shutdown;
use common::control::{self, Handlers};
use fred::prelude::*;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::process::Process;
use test_support::{ADMIN, OPERATOR, TestDb, TestEnv, VIEWER, eventually};

use crate::{BIN, GRACE, SteadyLoad, load_front};

/// A heartbeat field of a running process, as a number (0 while absent).
async fn beat(env: &TestEnv, p: &Process, field: &str) -> u64 {
    let v: Option<String> = env.redis.pool.hget(env.keys().node(&p.role, &p.node_id), field).await.expect("HGET");
    v.and_then(|v| v.parse::<f64>().ok()).map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_logic_process_shares_a_loaded_group_and_drains_without_losing_a_frame() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (ws, gm_addr) = load_front(&env, &shutdown).await;
    let gm = Gm::new(gm_addr);
    let mut first = Process::spawn(BIN, &env, "logic", &[]);
    first.ready(&env).await;

    // A steady load through the whole scale-out and drain: every reply matched to its request,
    // balances and the match checked afterwards.
    let load = SteadyLoad::start(&env.cfg, ws, gm_addr);
    eventually("the first logic process reports handled frames", || async {
        (beat(&env, &first, "handled").await > 50 && beat(&env, &first, "frames_per_s").await > 0).then_some(())
    })
    .await;

    // Scale out: the second process takes a share of the group's frames at once, and the first
    // keeps handling too (on 2 cores throughput need not rise: the work is shared).
    let mut second = Process::spawn(BIN, &env, "logic", &[]);
    second.ready(&env).await;
    let first_before = beat(&env, &first, "handled").await;
    let (a, b) = eventually("both logic processes handle frames", || async {
        let (a, b) = (beat(&env, &first, "handled").await, beat(&env, &second, "handled").await);
        (a > first_before + 50 && b > 50).then_some((a - first_before, b))
    })
    .await;
    println!("since the second logic process started: first handled {a} frames, second {b}");
    let group = env.cfg.node.group;
    let nodes = gm.get("/api/nodes", VIEWER).await;
    let g = nodes.body["groups"].as_array().unwrap().iter().find(|g| g["group"] == group).cloned().unwrap();
    assert_eq!(g["consumers"], 2, "{}", nodes.body);

    // Scale in: drain the second through gm; it answers, then exits 0 as on SIGTERM.
    let drained = gm.post("/api/ops/drain", ADMIN, &json!({ "node": second.node_id })).await;
    assert_eq!(drained.status, 200, "{:?}", drained.body);
    assert_eq!(
        drained.body["answers"],
        json!([{ "node": second.node_id, "role": "logic", "ok": true, "detail": "draining" }]),
        "{:?}",
        drained.body
    );
    let status = second.exited(GRACE).await;
    assert!(status.success(), "the drained logic exited with {status}; its output:\n{}", second.output());
    assert!(!load.is_finished(), "the load ended before the drain did: the drain was not under load");
    let beat_left: i64 = env.redis.pool.exists(env.keys().node("logic", &second.node_id)).await.expect("EXISTS");
    assert_eq!(beat_left, 0, "the drained process left its heartbeat");

    load.finish().await;
    // The drain was audited (the outbox holds it until a dbsvr copies it).
    let records: Vec<bytes::Bytes> = env.lanes_lrange(&env.keys().outboxes()).await;
    let drains = records
        .iter()
        .filter_map(|r| rmp_serde::from_slice::<Value>(r).ok())
        .filter(|r| r["table"] == "audit" && r["fields"]["action"] == "node.drain")
        .count();
    assert_eq!(drains, 1, "the drain is audited once");
    env.queue_idle(&env.keys().c2l(group)).await;
    first.signal(Signal::SIGTERM);
    assert!(first.exited(GRACE).await.success(), "{}", first.output());
    shutdown.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_and_status_show_every_process_with_its_load_and_each_groups_backlog() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(test_support::spawn_gm(env.cfg.clone(), &shutdown).await);
    let mut logic = Process::spawn(BIN, &env, "logic", &[]);
    logic.ready(&env).await;
    // Group 7 has frames waiting (the oldest for 5 s) and nobody serving it.
    let now = common::time::now_ms();
    for ts in [now - 5_000, now - 1_000] {
        let frame = rmp_serde::to_vec_named(&json!([{ "id": 100, "seq": 1, "ts": ts }, {}])).unwrap();
        let _: i64 = env.redis.pool.lpush(env.keys().c2l(7), bytes::Bytes::from(frame)).await.expect("LPUSH");
    }

    let body = eventually("the logic process reports its load", || async {
        let body = gm.get("/api/nodes", VIEWER).await.body;
        let logic_item = body["items"].as_array()?.iter().find(|i| i["role"] == "logic")?.clone();
        logic_item["frames_per_s"].is_number().then_some(body)
    })
    .await;
    let items = body["items"].as_array().unwrap();
    let item = |role: &str| items.iter().find(|i| i["role"] == role).unwrap_or_else(|| panic!("no {role} in {body}"));
    let l = item("logic");
    assert_eq!(l["id"], logic.node_id.as_str());
    assert_eq!(l["pid"], logic.pid().to_string(), "heartbeat fields stay strings");
    assert_eq!(l["group"], env.cfg.node.group.to_string());
    assert_eq!(l["version"], env!("CARGO_PKG_VERSION"));
    assert!(l["host"].as_str().is_some_and(|h| !h.is_empty()), "{l}");
    assert!(l["uptime_s"].is_u64() && l["inflight"].is_u64() && l["handled"].is_u64(), "{l}");
    assert_eq!(l["frames_per_s"], 0.0, "an idle group: {l}");
    let g = item("gm");
    assert!(g["uptime_s"].is_u64() && g["frames_per_s"].is_null() && g["inflight"].is_null(), "{g}");

    let groups = body["groups"].as_array().unwrap();
    let group = |n: u32| groups.iter().find(|g| g["group"] == n).unwrap_or_else(|| panic!("no group {n} in {body}"));
    let served = group(env.cfg.node.group);
    let workers = l["workers"].as_str().and_then(|w| w.parse::<u64>().ok());
    assert_eq!((served["consumers"].as_u64(), served["workers"].as_u64()), (Some(1), workers), "{served}");
    assert_eq!((served["depth"].as_i64(), served["oldest_age_ms"].as_u64()), (Some(0), Some(0)), "{served}");
    let waiting = group(7);
    assert_eq!((waiting["depth"].as_i64(), waiting["consumers"].as_u64()), (Some(2), Some(0)), "{waiting}");
    let age = waiting["oldest_age_ms"].as_u64().unwrap();
    assert!((5_000..60_000).contains(&age), "the oldest frame's age is read from its head: {age} ms");

    // `matchday status` prints the same figures, as a table.
    let out = std::process::Command::new(BIN)
        .arg("status")
        .env("MATCHDAY__REDIS__URL", &env.cfg.redis.url)
        .env("MATCHDAY__REDIS__PREFIX", &env.cfg.redis.prefix)
        .output()
        .expect("run matchday status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let row = text.lines().find(|l| l.contains(&logic.node_id)).unwrap_or_else(|| panic!("no logic row:\n{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cells[0], cells[2], cells[4]), ("logic", &*env.cfg.node.group.to_string(), &*logic.pid().to_string()));
    assert!(text.lines().any(|l| l.split_whitespace().take(2).eq(["7", "2"])), "no group 7 with depth 2 in:\n{text}");

    logic.signal(Signal::SIGTERM);
    assert!(logic.exited(GRACE).await.success(), "{}", logic.output());
    shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logic_processes_with_one_metrics_address_both_start_and_status_shows_where_each_serves() {
    let env = TestEnv::new().await;
    // Their configured metrics address is taken, as the first matchday process on a host holds it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let configured = taken.local_addr().expect("addr").to_string();
    let setting = [("MATCHDAY__METRICS__LISTEN", configured.as_str())];
    let mut processes = [Process::spawn(BIN, &env, "logic", &setting), Process::spawn(BIN, &env, "logic", &setting)];
    let mut served = Vec::new();
    for p in &processes {
        let beat = p.ready(&env).await;
        let metrics = beat.get("metrics").cloned().unwrap_or_else(|| panic!("no metrics in {beat:?}"));
        assert_ne!(metrics, configured, "the taken address was not used:\n{}", p.output());
        assert!(p.output().contains("metrics.listen is taken"), "the move is logged:\n{}", p.output());
        // Each answers on the address it advertises.
        let mut conn = tokio::net::TcpStream::connect(&metrics).await.expect("connect to the admin server");
        tokio::io::AsyncWriteExt::write_all(&mut conn, b"GET /healthz HTTP/1.0\r\n\r\n").await.expect("send");
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut conn, &mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.0 200") && answer.ends_with("ok"), "{metrics}: {answer}");
        served.push(metrics);
    }
    assert_ne!(served[0], served[1], "each process has its own admin server");

    let out = std::process::Command::new(BIN)
        .arg("status")
        .env("MATCHDAY__REDIS__URL", &env.cfg.redis.url)
        .env("MATCHDAY__REDIS__PREFIX", &env.cfg.redis.prefix)
        .output()
        .expect("run matchday status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for (p, metrics) in processes.iter().zip(&served) {
        let row = text.lines().find(|l| l.contains(&p.node_id)).unwrap_or_else(|| panic!("no row:\n{text}"));
        assert_eq!(row.split_whitespace().nth(5), Some(metrics.as_str()), "the METRICS column:\n{text}");
    }
    for p in &mut processes {
        p.signal(Signal::SIGTERM);
        assert!(p.exited(GRACE).await.success(), "{}", p.output());
    }
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frames_a_killed_logic_process_held_go_back_by_its_closed_connection_not_its_heartbeat() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (ws, gm_addr) = load_front(&env, &shutdown).await;
    // A heartbeat outlives the test's every wait (DEADLINE, 20 s): frames back sooner came back
    // because the killed process's connection closed.
    let timings = [("MATCHDAY__QUEUE__HEARTBEAT_TTL_MS", "60000"), ("MATCHDAY__QUEUE__REAP_INTERVAL_MS", "1000")];
    let doomed = Process::spawn(BIN, &env, "logic", &timings);
    let mut survivor = Process::spawn(BIN, &env, "logic", &timings);
    doomed.ready(&env).await;
    survivor.ready(&env).await;
    let load = SteadyLoad::start(&env.cfg, ws, gm_addr);
    eventually("the doomed process handles frames", || async {
        (beat(&env, &doomed, "handled").await > 50).then_some(())
    })
    .await;

    // Freeze it (it can no longer ack) until it holds frames, then kill it.
    let queue = env.keys().c2l(env.cfg.node.group);
    let heartbeat = env.keys().node("logic", &doomed.node_id);
    let consumers: HashMap<String, String> = env.redis.pool.hgetall(env.keys().consumers(&queue)).await.unwrap();
    let lists: Vec<String> =
        consumers.into_iter().filter(|(_, v)| v.starts_with(&format!("{heartbeat} "))).map(|(k, _)| k).collect();
    assert!(!lists.is_empty(), "the doomed process registered its consumers with their connections");
    let held_now = || async {
        let mut n = 0;
        for l in &lists {
            n += env.llen(l).await;
        }
        n
    };
    let held = loop {
        doomed.signal(Signal::SIGSTOP);
        let n = held_now().await;
        if n > 0 {
            break n;
        }
        doomed.signal(Signal::SIGCONT);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    doomed.signal(Signal::SIGKILL);
    let killed = std::time::Instant::now();
    eventually("the killed process's frames are back in the queue or handled", || async {
        (held_now().await == 0).then_some(())
    })
    .await;
    let back = killed.elapsed();
    println!("the killed logic process held {held} frames; its inflight lists were empty {back:?} after SIGKILL");
    let beating: i64 = env.redis.pool.exists(&heartbeat).await.unwrap();
    assert_eq!(beating, 1, "its heartbeat still lives: the frames went back by the connection check");

    let report = load.finish().await;
    println!("every request answered once; the slowest took {} ms", report.max_us / 1000);
    survivor.signal(Signal::SIGTERM);
    assert!(survivor.exited(GRACE).await.success(), "{}", survivor.output());
    shutdown.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn drain_is_for_admins_and_live_nodes_only() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(test_support::spawn_gm(env.cfg.clone(), &shutdown).await);
    let body = json!({ "node": env.cfg.node.id });
    assert_eq!(gm.post("/api/ops/drain", VIEWER, &body).await.status, 403);
    assert_eq!(gm.post("/api/ops/drain", OPERATOR, &body).await.status, 403);
    assert_eq!(gm.call("POST", "/api/ops/drain", None, Some(&body)).await.status, 401);
    let unknown = gm.post("/api/ops/drain", ADMIN, &json!({ "node": "no-such-node" })).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "not_found"), "{:?}", unknown.body);
    let wrong_role = gm.post("/api/ops/drain", ADMIN, &json!({ "node": env.cfg.node.id, "role": "logic" })).await;
    assert_eq!(wrong_role.status, 404, "gm's node id has no live logic process");
    assert_eq!(gm.post("/api/ops/drain", ADMIN, &json!({ "node": "" })).await.status, 400);
    let audited = env.lanes_len(&env.keys().outboxes()).await;
    assert_eq!(audited, 0, "refused drains are not audited");
    assert!(!shutdown.is_cancelled(), "gm still runs");
    shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_service_answers_its_own_commands_drain_and_unknown_ones() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let handlers =
        Handlers::new().on("echo", |cmd: control::Command| async move { (true, format!("echo by {}", cmd.by)) });
    control::serve(&env.redis, "logic", "n-ctl", &shutdown, handlers).await.expect("serve");
    let node = control::Node { role: "logic".into(), id: "n-ctl".into(), fields: HashMap::new() };
    let ask = |cmd: &'static str| {
        let (redis, node) = (env.redis.clone(), node.clone());
        async move { control::send(&redis, &[node], cmd, "tester", Duration::from_secs(5)).await.expect("send") }
    };
    let answer = |ok: bool, detail: &str| control::Answer {
        node: "n-ctl".into(),
        role: "logic".into(),
        ok,
        detail: detail.into(),
    };
    assert_eq!(ask("echo").await, vec![answer(true, "echo by tester")]);
    assert_eq!(ask("bogus").await, vec![answer(false, "unknown command")]);
    // Another role under the same node id (`matchday up`) does not take this role's commands.
    let gm_node = control::Node { role: "gm".into(), ..node.clone() };
    let none = control::send(&env.redis, &[gm_node], "echo", "tester", Duration::from_millis(300)).await.unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert!(!shutdown.is_cancelled());
    assert_eq!(ask("drain").await, vec![answer(true, "draining")]);
    eventually("drain starts the shutdown", || async { shutdown.is_cancelled().then_some(()) }).await;
    assert!(shutdown.shutdown(Duration::from_secs(5)).await, "the listener stops on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_drains_on_command_and_exits_0() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    for role in ["connect", "logic", "gm", "resultcenter", "pushsvr", "dbsvr"] {
        let mut p = Process::spawn(BIN, &env, role, &[("MATCHDAY__MYSQL__URL", &db.url)]);
        p.ready(&env).await;
        let live = control::nodes(&env.redis).await.expect("nodes");
        let node: Vec<_> = live.into_iter().filter(|n| n.id == p.node_id).collect();
        let answers = control::send(&env.redis, &node, control::DRAIN, "tester", Duration::from_secs(5)).await.unwrap();
        assert_eq!(answers.len(), 1, "{role} answered {answers:?}; its output:\n{}", p.output());
        assert!(answers[0].ok && answers[0].detail == "draining", "{role}: {answers:?}");
        let status = p.exited(GRACE).await;
        assert!(status.success(), "{role} exited with {status} on drain; its output:\n{}", p.output());
        let beat: i64 = env.redis.pool.exists(env.keys().node(role, &p.node_id)).await.expect("EXISTS");
        assert_eq!(beat, 0, "{role} left its heartbeat behind");
    }
}
