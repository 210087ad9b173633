//! `matchday bench bets` as a smoke test: a short in-process run must be correct — every reply
//! matched to its request, no error code, every coin accounted for, Redis holding exactly the
//! accepted bets. Speed is not checked here (docs/benchmarks.md has the figures).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_bets_is_correct() {
    let mut cfg = test_support::test_config();
    cfg.logic.workers = 2;
    let opts =
        bench::BetsOptions { clients: 10, window: 2, seconds: 60, bets: Some(200), ceiling: true, progress: false };
    let report = bench::bets(cfg, opts).await.expect("bench bets");
    println!("{report}");
    assert_eq!(report.unmatched, 0, "{report}");
    assert!(report.errors.is_empty(), "{report}");
    assert!(report.conserved, "{report}");
    assert_eq!(report.bets_ok, 200, "{report}");
    assert_eq!(report.bets_in_redis, 200, "{report}");
    assert_eq!(report.grants, report.balances + report.stakes_accepted, "{report}");
    assert_eq!(report.stakes_accepted, 200 * 10, "{report}");
    assert!(report.is_correct(), "{report}");
    let ceiling = report.ceiling.as_ref().expect("the ceiling ran");
    assert_eq!(ceiling.bets, 200, "{report}");
    assert!(report.result_line().starts_with("RESULT bets_per_sec="), "{report}");
}
