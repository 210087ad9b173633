//! connect's guards against one host holding its resources (issue 17): a cap on the connections
//! of one address group, a deadline for logging in, and a cap on the group queue's backlog. Against
//! the real Redis; docs/protocol.md ("Limits and closing") is the contract.

use std::net::{IpAddr, SocketAddr};

use connect::Stats;
use protocol::codec::encode_frame;
use protocol::{ClientHead, msg};
use serde_json::json;
use test_support::client::REPLY_TIMEOUT;
use test_support::matchday_client::{Client as Sdk, ClientError, Frame, Options, Refusal};
use test_support::{Client, Stack, TestEnv, eventually};

const PW: &str = "secret-pw";

/// A ping request with `seq`, encoded, for frames sent without waiting for their reply.
fn ping_frame(seq: u32) -> Vec<u8> {
    encode_frame(&ClientHead { id: msg::PING, seq, ver: None }, &json!({})).expect("encode")
}

/// Upgrades from the local address `source`: the SDK's client, or the refusal's HTTP answer.
async fn upgrade_from(source: IpAddr, server: SocketAddr) -> Result<Sdk, Refusal> {
    let opts = Options { bind: Some(source), reply_timeout: REPLY_TIMEOUT, ..Options::default() };
    match Sdk::connect_with(&format!("ws://{server}/ws"), opts).await {
        Ok(c) => Ok(c),
        Err(e) => Err(e.refusal().unwrap_or_else(|| panic!("the upgrade failed without an HTTP answer: {e}"))),
    }
}

/// Sends a ping request on `c` and returns its reply.
async fn ping(c: &mut Sdk) -> Frame {
    c.call(msg::PING, &json!({})).await.expect("a ping is answered")
}

/// A refusal of the upgrade as this address's limit answers it: 503, naming the setting, with
/// Retry-After.
fn assert_refused_per_addr(answer: &Refusal) {
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.body.contains("connect.max_connections_per_addr"), "{answer:?}");
    assert_eq!(answer.header("retry-after"), "1", "{answer:?}");
}

#[tokio::test]
async fn one_address_holds_at_most_max_connections_per_addr_and_gets_a_slot_back_when_one_closes() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.max_connections_per_addr = 3;
    let stack = Stack::spawn(cfg).await;
    let stats = stack.connect.clone();
    let (home, other): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());

    let mut held = Vec::new();
    for seq in 1..=3 {
        let mut ws = upgrade_from(home, stack.addr).await.expect("one of the first three is let in");
        assert_eq!(ping(&mut ws).await.code(), 0, "and served {seq}");
        held.push(ws);
    }
    // The fourth from the same address: 503, naming the setting, with Retry-After.
    let answer = upgrade_from(home, stack.addr).await.err().expect("the fourth is refused");
    assert_refused_per_addr(&answer);
    assert_eq!(Stats::get(&stats.refused_per_addr), 1);
    assert_eq!(Stats::get(&stats.refused_limit), 0, "not the node's limit");

    // Another address is not affected.
    let mut elsewhere = upgrade_from(other, stack.addr).await.expect("another address is let in");
    assert_eq!(ping(&mut elsewhere).await.code(), 0);

    // One closes: its slot comes back, and the next one after is refused again.
    held.pop().unwrap().close().await.expect("close");
    let mut newcomer = eventually("a connection from the address is let in once one has closed", || async {
        upgrade_from(home, stack.addr).await.ok()
    })
    .await;
    assert_eq!(ping(&mut newcomer).await.code(), 0, "the newcomer is served");
    let answer = upgrade_from(home, stack.addr).await.err().expect("and the next is refused");
    assert_refused_per_addr(&answer);
    for ws in held.iter_mut() {
        assert_eq!(ping(ws).await.code(), 0, "the held connections are still served");
    }
    drop((held, newcomer, elsewhere));
    stack.stop().await;
    env.assert_queues_drained().await;
}

/// Keeps `c` busy (WebSocket pings and ping requests) until the server closes it; returns the
/// close code and reason.
async fn busy_until_closed(c: &mut Sdk) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + test_support::DEADLINE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the connection was not closed in time");
        // A send may fail once the server has closed: the close is read then.
        let sent = c.send_ping(b"still here".to_vec()).await;
        let answered = match sent {
            Ok(()) => c.call(msg::PING, &json!({})).await.map(drop),
            Err(e) => Err(e),
        };
        match answered {
            Ok(()) => {}
            Err(ClientError::Closed { code: Some(code), reason }) => return (code, reason),
            Err(e) => match c.wait_closed().await {
                Ok(Some(close)) => return close,
                other => panic!("the connection ended without a close frame: {e} / {other:?}"),
            },
        }
        // Pace the loop (not a wait for anything: the deadline above ends it).
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_connection_that_never_logs_in_is_closed_1008_at_the_login_deadline_and_a_logged_in_one_stays() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.login_timeout_ms = 1000;
    let stack = Stack::spawn(cfg).await;
    let stats = stack.connect.clone();
    let home: IpAddr = "127.0.0.1".parse().unwrap();

    // Registered beforehand (register does not log in), so the login below is all that must fit in
    // the deadline.
    let mut registrar = stack.client().await;
    registrar.register("alice", PW).await;
    let mut alice = stack.client().await;
    alice.login("alice", PW).await;

    // A connection opened after alice logged in (so its deadline is after hers) that keeps sending
    // pings and requests but never logs in: closed with 1008 "login timeout".
    let mut lurker = upgrade_from(home, stack.addr).await.expect("upgrade");
    assert_eq!(busy_until_closed(&mut lurker).await, (1008, "login timeout".to_owned()));
    assert_eq!(alice.call(msg::PING, json!({})).await.code(), 0, "alice, past her deadline, is served");
    assert_eq!(alice.call(msg::BALANCE, json!({})).await.code(), 0, "and still logged in");

    // Once more, opened after the first lurker was closed: by then alice's deadline is long past
    // (and her connection's timer has run), and she is still served.
    let mut second = upgrade_from(home, stack.addr).await.expect("upgrade");
    assert_eq!(busy_until_closed(&mut second).await, (1008, "login timeout".to_owned()));
    assert_eq!(alice.call(msg::PING, json!({})).await.code(), 0, "alice is still served");
    // The registrar never logged in either: closed too (not kept busy: idle is no different).
    assert_eq!(registrar.closed_with_reason().await, Some((1008, "login timeout".to_owned())));
    assert_eq!(Stats::get(&stats.login_timeouts), 3);
    eventually("only alice's connection is left open", || async {
        (Stats::get(&stats.connections) == 1).then_some(())
    })
    .await;
    drop(alice);
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn frames_beyond_max_queue_depth_are_answered_6_without_growing_the_queue_until_logic_drains_it() {
    const CAP: u32 = 5;
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.max_queue_depth = CAP as u64;
    // connect alone first: nothing takes from the group queue.
    let shutdown = common::Shutdown::new();
    let (addr, stats) = test_support::spawn_connect(cfg.clone(), &shutdown).await;
    let c2l = env.keys().c2l(1);

    // Two connections, so frames are in flight at once; each has at most one frame in flight.
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    for seq in 1..=CAP {
        let client = if seq % 2 == 0 { &mut b } else { &mut a };
        client.send_binary(ping_frame(seq)).await;
    }
    eventually("the first frames are queued", || async { (env.llen(&c2l).await == CAP as i64).then_some(()) }).await;

    // The queue is at its cap: every further frame is answered 6 at once, and nothing is queued.
    for seq in 100..120 {
        for client in [&mut a, &mut b] {
            client.send_binary(ping_frame(seq)).await;
            let r = client.recv().await;
            assert_eq!((r.head.seq, r.code()), (seq, 6), "{r:?}");
            assert!(r.body["msg"].as_str().unwrap_or("").contains("busy"), "{r:?}");
        }
    }
    assert_eq!(env.llen(&c2l).await, CAP as i64, "the queue did not grow past its cap");
    assert_eq!(Stats::get(&stats.queue_full), 40);
    assert_eq!(Stats::get(&stats.frames_forwarded), CAP as u64);

    // A logic worker drains it: the queued frames are answered, and new frames are taken again.
    let _logic = test_support::spawn_logic(cfg, &shutdown);
    let mut answered = Vec::new();
    for _ in 0..CAP.div_ceil(2) {
        answered.push(a.recv().await); // seq 1, 3, 5
    }
    for _ in 0..CAP / 2 {
        answered.push(b.recv().await); // seq 2, 4
    }
    let mut seqs: Vec<u32> = answered.iter().map(|r| r.head.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=CAP).collect::<Vec<_>>(), "{answered:?}");
    assert!(answered.iter().all(|r| r.code() == 0), "the queued frames are served: {answered:?}");
    // The mark is cleared by a frame that finds the queue below the cap (a length read at most every
    // 100 ms): until then frames are answered 6; then they are served.
    let deadline = tokio::time::Instant::now() + test_support::DEADLINE;
    loop {
        let r = a.call(msg::PING, json!({})).await;
        if r.code() == 0 {
            break;
        }
        assert_eq!(r.code(), 6, "{r:?}");
        assert!(tokio::time::Instant::now() < deadline, "frames were not taken again in time");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(b.call(msg::PING, json!({})).await.code(), 0, "every connection is served again");
    env.queue_idle(&c2l).await;
    drop((a, b));
    assert!(shutdown.shutdown(std::time::Duration::from_secs(10)).await, "services did not stop in time");
    env.assert_queues_drained().await;
}
