//! The integration tests: one binary, one module per area (each test builds its own world with
//! test-support: its own Redis prefix and MySQL database). `cargo test --test it` runs them all;
//! `scripts/test.sh --fast` all but the chaos runs and the browser test (README, "Tests").
//! What several areas share is here: the binary and grace period of the tests that run services
//! as child processes, and a steady bet load.

mod accounts;
mod auth;
mod ban;
mod bench;
mod betting;
mod chaos;
mod cluster;
mod columns;
mod connect_guard;
mod console;
mod datacenter;
mod dbsvr;
mod dead_letters;
mod docs;
mod drain;
mod e2e;
mod gm;
mod gm_guard;
mod hostile;
mod leaderboard;
mod logs;
mod lua;
mod markets;
mod match_edit;
mod metrics;
mod notices;
mod openapi;
mod orders;
mod outage;
mod protocol_doc;
mod push;
mod python_client;
mod queue;
mod queue_batch;
mod real_addr;
mod recovery;
mod replication;
mod reports;
mod reservations;
mod scaling;
mod settle;
mod staff;
mod store;
mod tls;
mod ts_client;
mod up;
mod web;

use std::net::SocketAddr;
use std::time::Duration;

use common::Config;
use tokio::task::JoinHandle;

/// The `matchday` binary, for the tests that run services as child processes.
const BIN: &str = env!("CARGO_BIN_EXE_matchday");

/// The grace period an operator gives a service after SIGTERM (systemd's TimeoutStopSec,
/// Kubernetes' terminationGracePeriodSeconds): ours must be well within it.
const GRACE: Duration = Duration::from_secs(15);

/// connect and gm in this process for `env`'s prefix, with the per-connection rate limit and the
/// daily grant limit lifted (a steady load's clients bet as fast as they are answered, each funded
/// with 10^9 coins); returns their addresses.
async fn load_front(env: &test_support::TestEnv, shutdown: &common::Shutdown) -> (SocketAddr, SocketAddr) {
    let mut cfg = env.cfg.clone();
    cfg.connect.rate_burst = 100_000;
    cfg.connect.rate_per_sec = 100_000;
    // The bench grants each client 10^9 coins (docs/benchmarks.md: lift the daily grant limit and
    // the second admin's approval).
    (cfg.gm.grant_daily_limit, cfg.gm.grant_approval_above) = (0, 0);
    let (ws, _) = test_support::spawn_connect(cfg.clone(), shutdown).await;
    let gm = test_support::spawn_gm(cfg, shutdown).await;
    (ws, gm)
}

/// A steady load of bets for about 20 s through connect at `ws` (staff calls to gm at `gm`):
/// `matchday bench bets` with 10 clients, each reply matched to its request.
struct SteadyLoad(JoinHandle<anyhow::Result<::bench::BetsReport>>);

impl SteadyLoad {
    fn start(cfg: &Config, ws: SocketAddr, gm: SocketAddr) -> SteadyLoad {
        let target = ::bench::Target {
            ws: vec![format!("ws://{ws}/ws")],
            gm: format!("http://{gm}"),
            token: test_support::ADMIN.into(),
        };
        let mut opts = ::bench::BetsOptions::closed(10, 2, 20, None);
        opts.target = Some(target);
        SteadyLoad(tokio::spawn(::bench::bets(cfg.clone(), opts)))
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    /// Waits for the end and checks it: bets were placed, none lost or answered twice, no errors,
    /// coins conserved and the match's pool agreeing with the bets.
    async fn finish(self) -> ::bench::BetsReport {
        let report = self.0.await.expect("load task").expect("bench bets");
        println!("{report}");
        assert!(report.bets_ok > 0, "{report}");
        assert_eq!(report.unmatched, 0, "a request was lost or answered twice:\n{report}");
        assert!(report.errors.is_empty(), "{report}");
        assert!(report.conserved && report.match_agrees(), "{report}");
        report
    }
}
