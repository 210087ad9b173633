//! resultcenter against the real Redis: a 10,000-bet match settled exactly once (and again after a
//! resultcenter is killed mid-match), refunds for cancelled and no-result matches, duplicate jobs,
//! and a big match split across two processes.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use common::Shutdown;
use fred::prelude::*;
use seed::{Bet, Book};
use serde_json::{Value, json};
use test_support::http::Gm;
use test_support::{OPERATOR, TestEnv, VIEWER, eventually, spawn_gm, spawn_resultcenter};

/// An open match of type dota2 with `users` × `per_user` bets, through the production scripts.
pub(crate) async fn book(env: &TestEnv, _gm: &Gm, users: u64, per_user: u64) -> (u64, Book) {
    let book = seed::book(&env.redis, "dota2", 1, users, per_user).await.expect("book");
    (book.match_id, book)
}

fn payout(stake: i64, odds: i64) -> i64 {
    stake * odds / 1000
}

async fn balances(env: &TestEnv, users: impl Iterator<Item = u64>) -> HashMap<u64, i64> {
    let mut out = HashMap::new();
    for uid in users {
        let b: i64 = env.redis.pool.hget(env.keys().wallet(uid), "balance").await.unwrap();
        out.insert(uid, b);
    }
    out
}

async fn ledger_sum(env: &TestEnv, uid: u64) -> i64 {
    let raw: Vec<Bytes> = env.redis.pool.lrange(env.keys().ledger(uid), 0, -1).await.unwrap();
    raw.iter().map(|r| rmp_serde::from_slice::<Value>(r).unwrap()["delta"].as_i64().unwrap()).sum()
}

/// Checks every invariant of a settled (or refunded) book.
pub(crate) async fn check_settled(env: &TestEnv, gm: &Gm, mid: u64, book: &Book, winner: Option<&str>) {
    let mut expected = book.funded.clone();
    let (mut stakes, mut payouts) = (0i64, 0i64);
    for Bet { bet_id: bid, uid, option, stake, odds } in &book.bets {
        stakes += stake;
        let pay = match winner {
            Some(w) if w == option => payout(*stake, *odds),
            Some(_) => 0,
            None => *stake,
        };
        payouts += pay;
        *expected.get_mut(uid).unwrap() += pay - stake;
        let b = common::bets::of_user(&env.redis, *uid, *bid).await.unwrap().expect("the bet");
        let want = match winner {
            Some(w) if w == option => "won",
            Some(_) => "lost",
            None => "refunded",
        };
        assert_eq!((b.state(), b.payout), (want, Some(pay)), "bet {bid}");
    }
    let got = balances(env, book.funded.keys().copied()).await;
    assert_eq!(got, expected, "every balance moved by exactly its payouts minus its stakes");
    for uid in book.funded.keys() {
        assert_eq!(ledger_sum(env, *uid).await, got[uid], "user {uid}: the ledger sums to the balance");
    }
    let funded: i64 = book.funded.values().sum();
    let now: i64 = got.values().sum();
    assert_eq!(funded - now, stakes - payouts, "the house result is stakes minus payouts");
    if winner.is_none() {
        assert_eq!(stakes, payouts, "a refund returns every stake");
    }
    let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
    let final_state = if winner.is_some() { 9 } else { 8 };
    assert_eq!(
        (m["state"].as_i64(), m["settled"].as_u64(), m["bet_count"].as_u64()),
        (Some(final_state), Some(book.bets.len() as u64), Some(book.bets.len() as u64))
    );
    let totals = common::matches::shard_totals(&env.redis, &[mid]).await.unwrap().remove(0);
    assert_eq!(totals.open, 0, "no shard holds an open bet");
    assert_eq!(totals.settled, book.bets.len() as u64, "the shards settled every bet once");
    let finished: Option<f64> =
        env.redis.pool.zscore(env.keys().matches_index("finished", "dota2"), mid).await.unwrap();
    assert!(finished.is_some(), "the match moved to the finished index");
    let doing: Option<f64> = env.redis.pool.zscore(env.keys().matches_index("doing", "all"), mid).await.unwrap();
    assert!(doing.is_none());
}

pub(crate) async fn wait_finished(gm: &Gm, mid: u64, state: i64) {
    eventually("the match is finished", || async {
        (gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["state"].as_i64() == Some(state)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn ten_thousand_bets_are_settled_exactly_once() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let (mid, book) = book(&env, &gm, 1000, 10).await;
    assert_eq!(book.bets.len(), 10_000);
    let winners = book.bets.iter().filter(|b| b.option == "a").count();
    assert!(winners > 3000 && winners < 9000, "mixed winners and losers: {winners}");
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    assert_eq!(gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await.status, 200);
    let stats = spawn_resultcenter(env.node(1), &shutdown);
    wait_finished(&gm, mid, 9).await;
    check_settled(&env, &gm, mid, &book, Some("a")).await;
    assert_eq!(stats.bets(), 10_000);
    // The job again (a duplicate delivery): nothing moves.
    let before = balances(&env, book.funded.keys().copied()).await;
    let job = rmp_serde::to_vec_named(&common::events::SettleJob {
        kind: "settle".into(),
        match_id: mid,
        winner: "a".into(),
        ts: 0,
        helper: false,
        part: 0,
        parts: 0,
    })
    .unwrap();
    let _: i64 = env.redis.pool.rpush(env.keys().settle(), Bytes::from(job)).await.unwrap();
    eventually("the duplicate job is consumed", || async { (stats.handled() >= 2).then_some(()) }).await;
    assert_eq!(balances(&env, book.funded.keys().copied()).await, before, "a job run twice pays nothing twice");
    let events: Vec<Bytes> = env.lanes_lrange(&env.keys().notifies()).await;
    let settled_events =
        events.iter().filter(|e| rmp_serde::from_slice::<Value>(e).unwrap()["kind"] == "bet_settled").count();
    assert_eq!(settled_events, 10_000, "one bet_settled event per bet");
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn a_resultcenter_killed_mid_match_is_finished_by_another_without_paying_twice() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    let gm = Gm::new(spawn_gm(cfg.clone(), &shutdown).await);
    let (mid, book) = book(&env, &gm, 200, 10).await;
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    assert_eq!(gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "b"})).await.status, 200);
    // A real resultcenter process, settling in small batches, killed with SIGKILL mid-match.
    let mut victim = Command::new(env!("CARGO_BIN_EXE_matchday"))
        .arg("resultcenter")
        .env("MATCHDAY__REDIS__URL", &env.cfg.redis.url)
        .env("MATCHDAY__REDIS__PREFIX", env.keys().prefix())
        .env("MATCHDAY__NODE__ID", "victim")
        .env("MATCHDAY__METRICS__LISTEN", "127.0.0.1:0")
        .env("MATCHDAY__RESULTCENTER__WORKERS", "1")
        .env("MATCHDAY__RESULTCENTER__BATCH", "3")
        .env("MATCHDAY__QUEUE__HEARTBEAT_INTERVAL_MS", "100")
        .env("MATCHDAY__QUEUE__HEARTBEAT_TTL_MS", "600")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start resultcenter");
    eventually("the victim has settled some bets", || async {
        let m = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body;
        (m["settled"].as_u64().unwrap_or(0) >= 30).then_some(())
    })
    .await;
    victim.kill().expect("kill -9");
    victim.wait().unwrap();
    let at_kill = gm.get(&format!("/api/matches/{mid}"), VIEWER).await.body["settled"].as_u64().unwrap();
    assert!(at_kill < 2000, "killed mid-match ({at_kill} of 2000 settled)");
    // Another resultcenter reaps the dead one's job and finishes the match.
    cfg.node.id = "rescuer".into();
    let stats = spawn_resultcenter(cfg, &shutdown);
    wait_finished(&gm, mid, 9).await;
    check_settled(&env, &gm, mid, &book, Some("b")).await;
    assert!(
        stats.bets() >= 2000 - at_kill - 3 && stats.bets() <= 2000 - at_kill,
        "the rescuer settled the rest: {}",
        stats.bets()
    );
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn cancel_and_no_result_refund_every_stake_exactly_once() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let (cancelled, book_c) = book(&env, &gm, 20, 5).await;
    assert_eq!(gm.post(&format!("/api/matches/{cancelled}/cancel"), OPERATOR, &json!({})).await.status, 200);
    let stats = spawn_resultcenter(env.node(1), &shutdown);
    wait_finished(&gm, cancelled, 8).await;
    check_settled(&env, &gm, cancelled, &book_c, None).await;
    // The refund job delivered twice: nothing refunded twice.
    let job = rmp_serde::to_vec_named(&common::events::SettleJob {
        kind: "refund".into(),
        match_id: cancelled,
        winner: String::new(),
        ts: 0,
        helper: false,
        part: 0,
        parts: 0,
    })
    .unwrap();
    let _: i64 = env.redis.pool.rpush(env.keys().settle(), Bytes::from(job)).await.unwrap();
    eventually("the duplicate job is consumed", || async { (stats.handled() >= 2).then_some(()) }).await;
    check_settled(&env, &gm, cancelled, &book_c, None).await;

    // A second book on other users: no result.
    let env2 = TestEnv::new().await;
    let gm2 = Gm::new(spawn_gm(env2.node(1), &shutdown).await);
    spawn_resultcenter(env2.node(1), &shutdown);
    let (void, book_v) = book(&env2, &gm2, 20, 5).await;
    assert_eq!(gm2.post(&format!("/api/matches/{void}/start"), OPERATOR, &json!({})).await.status, 200);
    assert_eq!(gm2.post(&format!("/api/matches/{void}/result"), OPERATOR, &json!({"winner": null})).await.status, 200);
    wait_finished(&gm2, void, 8).await;
    check_settled(&env2, &gm2, void, &book_v, None).await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
    env2.assert_queues_drained().await;
}

#[tokio::test]
async fn a_big_match_is_split_across_two_resultcenters() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let mut cfg = env.node(1);
    cfg.resultcenter.split_above = 500;
    cfg.resultcenter.split_into = 4;
    cfg.resultcenter.batch = 20;
    cfg.resultcenter.workers = 2;
    let gm = Gm::new(spawn_gm(cfg.clone(), &shutdown).await);
    let (mid, book) = book(&env, &gm, 300, 10).await;
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    let (mut a, mut b) = (env.node(1), env.node(1));
    a.resultcenter = cfg.resultcenter.clone();
    b.resultcenter = cfg.resultcenter.clone();
    let (sa, sb) = (spawn_resultcenter(a, &shutdown), spawn_resultcenter(b, &shutdown));
    // Both processes' consumers (2 each) wait for jobs before the split jobs are queued: a job goes to
    // a consumer that is waiting, so neither process can take them all just by starting first.
    let consumers = env.keys().consumers(&env.keys().settle());
    eventually("both resultcenters' consumers are registered", || async {
        (env.redis.pool.hlen::<i64, _>(&consumers).await.ok()? == 4).then_some(())
    })
    .await;
    assert_eq!(gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await.status, 200);
    wait_finished(&gm, mid, 9).await;
    check_settled(&env, &gm, mid, &book, Some("a")).await;
    assert_eq!(sa.bets() + sb.bets(), 3000, "each bet settled by exactly one of them");
    assert!(sa.bets() > 0 && sb.bets() > 0, "both took a share: {} and {}", sa.bets(), sb.bets());
    eventually("every copy of the job is consumed", || async {
        (env.llen(&env.keys().settle()).await == 0).then_some(())
    })
    .await;
    assert!(shutdown.shutdown(Duration::from_secs(10)).await);
    env.assert_queues_drained().await;
}

/// A shard whose copy of the match lags the catalogue (the fan-out after "result" failed there) is
/// not settled while it says "stopped": resultcenter copies the match again, then settles it.
#[tokio::test]
async fn a_shard_whose_copy_lags_is_copied_before_it_is_settled() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let (mid, book) = book(&env, &gm, 50, 2).await;
    assert_eq!(gm.post(&format!("/api/matches/{mid}/start"), OPERATOR, &json!({})).await.status, 200);
    assert_eq!(gm.post(&format!("/api/matches/{mid}/result"), OPERATOR, &json!({"winner": "a"})).await.status, 200);
    let shard = common::shards::of_uid(book.bets[0].uid);
    let copy = env.keys().match_copy(shard, mid);
    let _: () = env.redis.pool.hset(&copy, [("state", "1"), ("ver", "1"), ("result", "")]).await.unwrap();
    spawn_resultcenter(env.node(1), &shutdown);
    wait_finished(&gm, mid, 9).await;
    check_settled(&env, &gm, mid, &book, Some("a")).await;
    let state: i64 = env.redis.pool.hget(&copy, "state").await.unwrap();
    assert_eq!(state, 9, "the copy followed the catalogue to the end");
    shutdown.shutdown(Duration::from_secs(5)).await;
}
