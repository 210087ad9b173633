//! The staff console in a real browser: gm (with the console embedded), connect, logic,
//! resultcenter and pushsvr run in this process; tests/console/console.test.mjs drives headless
//! Debian chromium through playwright-core (installed by scripts/deps.sh). The script signs in,
//! creates, approves and opens a match; this test then places bets with WebSocket clients; the
//! script sees them in the pool, sets the result, sees settlement finish, visits every page and
//! checks that a viewer gets no mutating control. Screenshots go to target/console-screenshots/.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use protocol::msg;
use serde_json::json;
use test_support::http::Gm;
use test_support::{ADMIN, Stack, TestEnv, VIEWER};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BETS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_run_a_match_from_the_console_in_a_browser_and_a_viewer_cannot_change_anything() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/console/console.test.mjs");
    assert!(
        root.join("tests/console/node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/deps.sh (npm ci --prefix tests/console)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(PathBuf::from(&chromium).exists(), "{chromium} is missing: run scripts/deps.sh (apt-get install chromium)");

    let mut env = TestEnv::new().await;
    // dbsvr writes the MySQL record the reports, audit log and user and bet lists read.
    let db = test_support::TestDb::new().await;
    env.cfg.mysql.url = db.url.clone();
    let stack = Stack::spawn(env.cfg.clone()).await;
    let gm_addr = test_support::spawn_gm(env.cfg.clone(), &stack.shutdown).await;
    test_support::spawn_resultcenter(env.cfg.clone(), &stack.shutdown);
    test_support::spawn_pushsvr(env.cfg.clone(), &stack.shutdown);
    test_support::spawn_dbsvr(env.cfg.clone(), &stack.shutdown);

    // The API refuses a viewer's changes whatever the page draws.
    let gm = Gm::new(gm_addr);
    let r = gm.post("/api/matches", VIEWER, &json!({})).await;
    assert_eq!(r.status, 403, "{r:?}");
    // A record dbsvr buried (its shape: dbsvr/src/flush.rs), for the operations page to show and
    // requeue; it holds a password hash the page must not show.
    #[derive(serde::Serialize)]
    struct DeadRecord<'a> {
        reason: &'a str,
        #[serde(with = "serde_bytes")]
        record: &'a [u8],
        ts: u64,
    }
    let record = rmp_serde::to_vec_named(&json!({"ts": 1, "table": "user", "key": "424242", "ver": 1,
        "fields": {"username": "buried", "pw": "$argon2id$hidden-hash", "created_at": 1}}))
    .unwrap();
    let dead =
        rmp_serde::to_vec_named(&DeadRecord { reason: "console test: refused", record: &record, ts: 1 }).unwrap();
    let k = &env.redis.keys;
    let _: () =
        fred::prelude::ListInterface::lpush(&env.redis.pool, k.dead(&k.outbox(common::shards::Home::Global)), dead)
            .await
            .unwrap();

    // More matches than a page holds, for the list's paging and search.
    for i in 0..25 {
        let mut spec = test_support::app::match_spec("dota2");
        spec["title"] = json!(format!("Filler {i:02}"));
        assert_eq!(gm.post("/api/matches", test_support::OPERATOR, &spec).await.status, 201);
    }

    // A logic process of its own, for the operations page to drain.
    let mut spare = test_support::process::Process::spawn(crate::BIN, &env, "logic", &[]);
    spare.ready(&env).await;

    // A personal admin account the console signs in with (password and a TOTP code).
    let eve = gm.staff("eve", "admin").await;
    let code = eve.fresh_code().await;

    let shots = root.join("target/console-screenshots");
    let mut node = Command::new("node")
        .arg(&script)
        .env("GM_URL", format!("http://{gm_addr}"))
        .env("ADMIN_TOKEN", ADMIN)
        .env("VIEWER_TOKEN", VIEWER)
        .env("STAFF_NAME", &eve.name)
        .env("STAFF_PASSWORD", &eve.password)
        .env("STAFF_CODE", &code)
        .env("SHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .env("BETS", BETS.to_string())
        .env("DRAIN_NODE", &spare.node_id)
        .current_dir(root.join("tests/console"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed (scripts/deps.sh)");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let mut settled = false;
    let run = async {
        while let Some(line) = lines.next_line().await.expect("read the script's output") {
            println!("console test: {line}");
            if let Some(mid) = line.strip_prefix("OPEN ") {
                let mid: u64 = mid.trim().parse().expect("a match id");
                for i in 0..BETS {
                    let mut c = stack.client().await;
                    let name = format!("fan{i}");
                    c.register(&name, "fan-password-1").await;
                    c.login(&name, "fan-password-1").await;
                    let option = if i % 2 == 0 { "a" } else { "b" };
                    let body = json!({"match_id": mid, "option": option, "stake": 100, "odds_ver": 1, "req_id": format!("c{i}")});
                    let r = c.call(msg::PLACE_BET, body).await;
                    assert_eq!(r.code(), 0, "{r:?}");
                }
            }
            settled |= line.starts_with("SETTLED ");
        }
        node.wait().await.expect("wait for node")
    };
    let status = tokio::time::timeout(Duration::from_secs(180), run).await.expect("the browser test finished in time");
    assert!(status.success(), "the browser test failed ({status}); see its output above");
    assert!(settled, "the script did not reach the end");
    let drained = spare.exited(crate::GRACE).await;
    assert!(drained.success(), "the logic process drained from the console exited with {drained}");
    for shot in ["02-matches-empty", "04-match-open-with-bets", "05-match-settled", "08-operations", "10-viewer-match"]
    {
        assert!(shots.join(format!("{shot}.png")).exists(), "screenshot {shot} missing");
    }
    println!("screenshots in {}", shots.display());
    stack.stop().await;
}
