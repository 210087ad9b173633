//! Graceful drain: every service, run as its own process, stops on SIGTERM — takes no more work,
//! finishes what it holds, closes WebSockets with 1001 "going away" — and exits 0 within the grace
//! period; a rolling restart of logic processes under a steady load loses and duplicates nothing.

use std::time::Duration;

use common::Shutdown;
use fred::prelude::*;
use nix::sys::signal::Signal;
use test_support::process::Process;
use test_support::{Client, TestDb, TestEnv, eventually};

use crate::{BIN, GRACE, SteadyLoad, load_front};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_exits_0_on_sigterm_and_connect_says_going_away() {
    let (env, db) = (TestEnv::new().await, TestDb::new().await);
    for role in ["connect", "logic", "gm", "resultcenter", "pushsvr", "dbsvr"] {
        let mut p = Process::spawn(BIN, &env, role, &[("MATCHDAY__MYSQL__URL", &db.url)]);
        let fields = p.ready(&env).await;
        let client = match role {
            "connect" => Some(Client::connect(fields["listen"].parse().expect("connect's address")).await),
            _ => None,
        };
        p.signal(Signal::SIGTERM);
        let status = p.exited(GRACE).await;
        assert!(status.success(), "{role} exited with {status} on SIGTERM; its output:\n{}", p.output());
        if let Some(mut client) = client {
            assert_eq!(client.closed().await, Some(1001), "connect closes with going away");
        }
        // It said goodbye: its heartbeat is gone and its queue consumers left.
        let beat: i64 = env.redis.pool.exists(env.keys().node(role, &p.node_id)).await.expect("EXISTS");
        assert_eq!(beat, 0, "{role} left its heartbeat behind; its output:\n{}", p.output());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_logic_under_load_answers_every_request_once() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let (ws, gm) = load_front(&env, &shutdown).await;
    let mut logic = Process::spawn(BIN, &env, "logic", &[]);
    logic.ready(&env).await;

    // A steady load for the whole restart: the bench's clients, each reply matched to its request,
    // balances and the match checked afterwards.
    let load = SteadyLoad::start(&env.cfg, ws, gm);

    // Every shard's bet counter, summed (bet ids are taken per shard).
    let bet_seqs: Vec<String> = (0..common::shards::SHARDS).map(|s| env.keys().bet_seq(s)).collect();
    let seq = || async {
        let each: Vec<Option<u64>> = env.redis.pool.mget(bet_seqs.clone()).await.expect("MGET");
        each.into_iter().flatten().sum::<u64>()
    };
    eventually("the load places bets", || async { (seq().await > 0).then_some(()) }).await;
    for round in 0..3 {
        let next = Process::spawn(BIN, &env, "logic", &[]);
        next.ready(&env).await;
        // Bet ids come in blocks per process: the sequence moves when the new one serves bets.
        let before = seq().await;
        eventually("the new logic process serves bets", || async { (seq().await > before).then_some(()) }).await;
        logic.signal(Signal::SIGTERM);
        let status = logic.exited(GRACE).await;
        assert!(status.success(), "round {round}: logic exited with {status}; its output:\n{}", logic.output());
        assert!(!load.is_finished(), "round {round}: the load ended before the restart did");
        logic = next;
    }

    load.finish().await;
    let queue = env.keys().c2l(env.cfg.node.group);
    env.queue_idle(&queue).await;
    logic.signal(Signal::SIGTERM);
    assert!(logic.exited(GRACE).await.success(), "{}", logic.output());
    shutdown.shutdown(Duration::from_secs(10)).await;
}
