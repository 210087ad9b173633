//! The benches as smoke tests. `bench bets`: a short in-process run must be correct — every reply
//! matched to its request, no error code, every coin accounted for, Redis holding exactly the
//! accepted bets. `bench lua`: both handlers answer every request with the caller's true balance
//! (a module that failed to load would answer 3). `bench idle`: every connection opened, held and counted by connect. Speed and
//! memory are not checked here (docs/benchmarks.md has the figures).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_bets_is_correct() {
    let mut cfg = test_support::test_config();
    cfg.logic.workers = 2;
    let mut opts = bench::BetsOptions::closed(10, 2, 60, Some(200));
    opts.ceiling = true;
    let report = bench::bets(cfg, opts).await.expect("bench bets");
    println!("{report}");
    assert_eq!(report.unmatched, 0, "{report}");
    assert!(report.errors.is_empty(), "{report}");
    assert!(report.conserved, "{report}");
    assert_eq!(report.bets_ok, 200, "{report}");
    assert_eq!(report.bets_in_match, 200, "{report}");
    assert_eq!(report.pool_total, 200 * 10, "{report}");
    assert_eq!(report.balances_before, report.balances_after + report.stakes_accepted, "{report}");
    assert_eq!(report.stakes_accepted, 200 * 10, "{report}");
    assert!(report.is_correct(), "{report}");
    let ceiling = report.ceiling.as_ref().expect("the ceiling ran");
    assert_eq!(ceiling.bets, 200, "{report}");
    assert!(report.result_line().starts_with("RESULT bets_per_sec="), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_lua_answers_every_request_through_both_handlers() {
    let report = bench::lua(test_support::test_config(), 4, 2, 2).await.expect("bench lua");
    println!("{report}");
    assert_eq!((report.rust.msg_id, report.lua.msg_id), (202, bench::LUA_MSG), "{report}");
    for phase in [&report.rust, &report.lua] {
        assert!(phase.requests > 0, "{report}");
        assert!(phase.errors.is_empty(), "{report}");
        assert_eq!(phase.wrong, 0, "{report}");
    }
    assert!(report.is_correct(), "{report}");
    assert!(report.to_string().contains("RESULT rust_per_sec="), "{report}");
}

/// The fixed-arrival-rate mode against a deployment given by address (here one started by the test,
/// as `matchday up` would be): every due bet is sent or counted as skipped, every reply matched,
/// the money and the match agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_bets_at_a_fixed_rate_against_a_running_deployment() {
    let env = test_support::TestEnv::new().await;
    let mut cfg = env.cfg.clone();
    cfg.connect.rate_per_sec = 1_000;
    cfg.connect.rate_burst = 1_000;
    let shutdown = common::Shutdown::new();
    let (ws, _) = test_support::spawn_connect(cfg.clone(), &shutdown).await;
    test_support::spawn_logic(cfg.clone(), &shutdown);
    let gm = test_support::spawn_gm(cfg.clone(), &shutdown).await;
    let target =
        bench::Target { ws: format!("ws://{ws}/ws"), gm: format!("http://{gm}"), token: test_support::ADMIN.into() };
    let mut opts = bench::BetsOptions::closed(5, 8, 60, Some(100));
    opts.rate = Some(200);
    opts.target = Some(target);
    let report = bench::bets(env.cfg.clone(), opts).await.expect("bench bets --rate");
    println!("{report}");
    assert_eq!(report.rate, Some(200));
    assert_eq!(report.bets_ok + report.skipped, 100, "{report}");
    assert!(report.bets_ok > 0, "{report}");
    assert!(report.is_correct(), "{report}");
    assert!(report.result_line().contains(" rate=200 "), "{report}");
    shutdown.shutdown(std::time::Duration::from_secs(10)).await;
}

/// `matchday bench idle` as a smoke test: connect runs as a child process (this package's binary),
/// 200 clients connect from two source addresses, stay open, and connect counts every one; its RSS
/// is read. Memory per connection is not checked here (docs/benchmarks.md has the figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_idle_holds_every_connection() {
    let mut cfg = test_support::test_config();
    // One ping round (answered by the clients) happens before the measurement: keep it short.
    cfg.connect.ping_interval_ms = 500;
    cfg.connect.idle_timeout_ms = 30_000;
    let opts = bench::IdleOptions {
        connections: 200,
        seconds: 60,
        program: Some(env!("CARGO_BIN_EXE_matchday").into()),
        progress: false,
    };
    let report = bench::idle(cfg, opts).await.expect("bench idle");
    println!("{report}");
    assert!(report.capped.is_none(), "{report}");
    assert!(report.source_addrs >= 2, "{report}");
    assert_eq!((report.attempted, report.handshakes_ok, report.failed), (200, 200, 0), "{report}");
    assert_eq!(report.dropped, 0, "{report}");
    assert_eq!(report.connect_reported, 200, "{report}");
    assert_eq!(report.connections, 200, "{report}");
    assert!(report.rss_base_kib > 0 && report.rss_kib > 0, "{report}");
    assert!(report.is_correct(), "{report}");
    assert!(!report.target_count_reached && !report.target_reached, "{report}");
    assert!(report.result_line().starts_with("RESULT connections=200 "), "{report}");
}
