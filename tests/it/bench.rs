//! The benches as smoke tests. `bench bets`: a short in-process run must be correct — every reply
//! matched to its request, no error code, every coin accounted for, Redis holding exactly the
//! accepted bets, and (`--verify`) the run written to MySQL by dbsvr verifying clean, restored and
//! verified again. `bench lua`: both handlers answer every request with the caller's true balance
//! (a module that failed to load would answer 3). `bench idle`: every connection opened, held and counted by connect. Speed and
//! memory are not checked here (docs/benchmarks.md has the figures).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_bets_is_correct() {
    let mut cfg = test_support::test_config();
    cfg.logic.workers = 2;
    let mut opts = bench::BetsOptions::closed(10, 2, 60, Some(200));
    opts.ceiling = true;
    opts.verify = true;
    let report = bench::bets(cfg, opts).await.expect("bench bets");
    println!("{report}");
    // --verify: the run flushed to MySQL by dbsvr verifies clean, and so does its restore. At least
    // the match and its transitions, 10 sign-ups (user, wallet, ledger) and grants, and 200 bets.
    let durable = report.durable.as_ref().expect("the durable check ran");
    assert!(durable.is_clean(), "{report}");
    assert!(durable.records >= 200 + 10 * 3, "{report}");
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
    let minimal = report.minimal_ceiling.as_ref().expect("the minimal ceiling ran");
    assert_eq!(minimal.bets, 200, "{report}");
    assert!(report.result_line().starts_with("RESULT bets_per_sec="), "{report}");
    assert!(report.result_line().contains(" redis_us_per_bet="), "{report}");

    // Each series' cost, in the JSON as in the report. Redis's counters are server-wide and other
    // tests share this Redis, so the counts are bounded below by what each bet itself sends.
    let json: serde_json::Value = serde_json::from_str(&report.to_json().expect("json")).expect("the JSON parses");
    // Scripts at least: place_bet.lua per bet (end to end, the queue's claims and acks are shared
    // by the frames of a batch), and ack.lua too in the ceiling's mix. Commands at least:
    // place_bet.lua's EVALSHA and the 10 commands it runs for a placed bet; min_bet.lua's EVALSHA
    // and its HMGET, HSET, RPUSH.
    let series = [
        ("end to end", &json["cost"], 200, 1.0, 11.0, 3, Some("services (connect, logic, gm)")),
        ("ceiling", &json["ceiling"]["cost"], 200, 2.0, 11.0, 2, None),
        ("minimal", &json["minimal_ceiling"]["cost"], 200, 1.0, 4.0, 2, None),
    ];
    for (name, cost, requests, min_scripts, min_commands, processes, services) in series {
        let redis = &cost["redis"];
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("{name}: {v} is not a number: {cost}"));
        assert_eq!(redis["requests"].as_u64(), Some(requests), "{name}: {cost}");
        let us = num(&redis["us_per_request"]);
        let share = num(&redis["cpu_share"]);
        let secs = num(&cost["secs"]);
        assert!(us > 0.0, "{name}: Redis spent no CPU on the bets: {cost}");
        assert!(num(&redis["scripts_per_request"]) >= min_scripts, "{name}: {cost}");
        assert!(num(&redis["commands_per_request"]) >= min_commands, "{name}: {cost}");
        assert!(num(&redis["script_us_per_request"]) > 0.0, "{name}: {cost}");
        // The per-request figure and the share are the same CPU, divided differently.
        let from_share = share * secs * 1e6 / requests as f64;
        assert!((from_share - us).abs() <= 1e-6 * us.max(1.0), "{name}: {us} µs/request vs share {share}: {cost}");
        let procs = cost["processes"].as_array().expect("processes");
        assert_eq!(procs.len(), processes, "{name}: {cost}");
        assert_eq!(procs[0]["process"], "redis-server", "{name}: {cost}");
        assert_eq!(num(&procs[0]["cpu_share"]), share, "{name}: {cost}");
        let cores = cost["cores"].as_u64().expect("cores") as f64;
        let busy = num(&cost["machine_busy_cores"]);
        assert!((0.0..=cores).contains(&busy), "{name}: {cost}");
        for p in procs {
            let s = num(&p["cpu_share"]);
            assert!((0.0..=cores * 1.1).contains(&s), "{name}: a share outside 0..cores: {cost}");
        }
        if let Some(services) = services {
            assert_eq!(procs[1]["process"], services, "{name}: {cost}");
            assert!(num(&procs[1]["cpu_share"]) > 0.0, "{name}: the services' threads did the work: {cost}");
        }
        assert!(!cost["wall"].as_str().unwrap_or("").is_empty(), "{name}: {cost}");
    }
}

/// `--groups`: a connect and a logic per group, the clients spread over them; every group's pair
/// places its clients' bets (a group whose logic did not serve its queue would leave its clients
/// unanswered and fail the run), and the money and the match agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_bets_spread_over_several_groups_is_correct() {
    let mut opts = bench::BetsOptions::closed(6, 2, 60, Some(120));
    opts.groups = vec![3, 4];
    let report = bench::bets(test_support::test_config(), opts).await.expect("bench bets --groups 3,4");
    println!("{report}");
    assert_eq!(report.bets_per_endpoint.len(), 2, "{report}");
    assert!(report.bets_per_endpoint.iter().all(|&n| n > 0), "{report}");
    assert_eq!(report.bets_per_endpoint.iter().sum::<u64>(), 120, "{report}");
    assert!(report.is_correct(), "{report}");
    assert!(report.to_string().contains("endpoints"), "{report}");
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
    // The bench grants each client 10^9 coins (docs/benchmarks.md: lift the daily grant limit and
    // the second admin's approval).
    (cfg.gm.grant_daily_limit, cfg.gm.grant_approval_above) = (0, 0);
    let shutdown = common::Shutdown::new();
    let (ws, _) = test_support::spawn_connect(cfg.clone(), &shutdown).await;
    test_support::spawn_logic(cfg.clone(), &shutdown);
    let gm = test_support::spawn_gm(cfg.clone(), &shutdown).await;
    let target = bench::Target {
        ws: vec![format!("ws://{ws}/ws")],
        gm: format!("http://{gm}"),
        token: test_support::ADMIN.into(),
    };
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
