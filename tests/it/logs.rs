//! What the logs say, as an operator reads them: a real `matchday logic` process at the default
//! level (info), whose lines are read from its output.

use std::time::Duration;

use common::Shutdown;
use nix::sys::signal::Signal;
use serde_json::json;
use test_support::process::Process;
use test_support::{Client, TestEnv, eventually};

/// A line logged at WARN while a frame is handled names the message, the user, the trace and the
/// node, with no setting changed: the frame's span is at info.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_raised_while_handling_a_frame_names_its_message_user_trace_and_node() {
    let env = TestEnv::new().await;
    let dir = std::env::temp_dir().join(format!("md-logs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("warns.lua"),
        "return { msg_ids = { 600 }, handle = function(ctx, head, body) \
           ctx.log('warn', 'the odds feed is late') return {} end }",
    )
    .unwrap();
    let shutdown = Shutdown::new();
    let (addr, _) = test_support::spawn_connect(env.cfg.clone(), &shutdown).await;
    let lua_dir = dir.display().to_string();
    let mut logic = Process::spawn(
        env!("CARGO_BIN_EXE_matchday"),
        &env,
        "logic",
        &[("MATCHDAY__LOGIC__LUA_DIR", lua_dir.as_str())],
    );
    logic.ready(&env).await;

    let mut c = Client::connect(addr).await;
    let uid = c.register("lena", "secret-pw").await;
    c.login("lena", "secret-pw").await;
    let r = c.call(600, json!({})).await;
    assert_eq!(r.code(), 0, "{r:?}");
    // The line is written before the reply leaves; it may still be on its way through the pipe.
    let line = eventually("the warning is in logic's output", || async {
        logic.output().lines().find(|l| l.contains("the odds feed is late")).map(str::to_owned)
    })
    .await;
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("msg.id=600"), "{line}");
    assert!(line.contains(&format!("user.id={uid}")), "{line}");
    assert!(line.contains(&format!("node={}", logic.node_id)), "{line}");
    let trace = line.split("trace=").nth(1).and_then(|rest| rest.split([' ', '}']).next()).unwrap_or("");
    assert!(!trace.is_empty(), "a trace id: {line}");
    assert!(!line.contains("secret-pw"), "{line}");

    logic.signal(Signal::SIGTERM);
    assert!(logic.exited(Duration::from_secs(20)).await.success(), "{}", logic.output());
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// gm says at start that the tokens of its config file are shared credentials, naming them (never
/// showing them): the audit log can name only the token.
#[tokio::test]
async fn gm_says_at_start_that_config_tokens_are_shared_credentials() {
    let env = TestEnv::new().await;
    let gm = Process::spawn(env!("CARGO_BIN_EXE_matchday"), &env, "gm", &[("MATCHDAY__GM__LISTEN", "127.0.0.1:0")]);
    gm.ready(&env).await;
    let out = eventually("gm's start-up lines", || async {
        let out = gm.output();
        out.contains("shared credentials").then_some(out)
    })
    .await;
    let line = out.lines().find(|l| l.contains("shared credentials")).unwrap();
    assert!(line.contains("WARN") && line.contains("ada") && line.contains("vera"), "{line}");
    for secret in [test_support::ADMIN, test_support::OPERATOR, test_support::VIEWER] {
        assert!(!out.contains(secret), "a token in the log: {out}");
    }
}
