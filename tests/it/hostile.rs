//! Hostile input against connect and logic on the real Redis: oversized and lying frames, frames
//! split at every byte, MessagePack and JSON bombs, invalid UTF-8, clients that never read, floods
//! of connections and requests, smuggled ids, absurd stakes and forged odds. Each test checks the
//! exact answer (reply code, close code, refusal), that nothing changed that must not (queues,
//! balances, bets), and that a well-behaved client is still served afterwards. docs/protocol.md
//! ("Limits and closing") is the contract these tests hold the server to.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use connect::Stats;
use fred::prelude::*;
use futures_util::future::join_all;

use protocol::codec::{MAX_DEPTH, decode_client_frame, encode_frame, encode_routed};
use protocol::{ClientHead, ReplyHead, Route, msg};
use serde::Serialize;
use serde_json::{Value, json};
use test_support::client::Frame;
use test_support::raw::{self, RawWs};
use test_support::{Client, Stack, TestEnv, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PW: &str = "secret-pw";

/// A MessagePack request frame.
fn request(id: u16, seq: u32, body: &(impl Serialize + ?Sized)) -> Vec<u8> {
    encode_frame(&ClientHead { id, seq, ver: None }, body).expect("encode")
}

fn forwarded(stack: &Stack) -> u64 {
    Stats::get(&stack.connect.frames_forwarded)
}

/// A new, well-behaved connection is served.
async fn still_served(stack: &Stack) {
    let mut c = stack.client().await;
    let r = c.call(msg::PING, json!({})).await;
    assert_eq!(r.code(), 0, "a well-behaved client is still served: {r:?}");
}

/// The answer to a frame connect could not read: `id 0, seq 0, code 2`.
fn assert_bad_frame(r: &Frame, what: &str) {
    assert_eq!((r.head.id, r.head.seq, r.code()), (0, 0, 2), "{what}: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. Size

#[tokio::test]
async fn an_oversized_message_is_closed_1009_before_it_is_buffered_and_one_at_the_limit_is_served() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.max_frame_bytes = 1024;
    let stack = Stack::spawn(cfg).await;

    // A ping padded to exactly the limit is served.
    let padded = |len: usize| {
        (0..len).map(|n| request(msg::PING, 1, &json!({ "pad": "x".repeat(n) }))).find(|f| f.len() == len).unwrap()
    };
    let mut c = stack.client().await;
    c.send_binary(padded(1024)).await;
    let r = c.recv().await;
    assert_eq!((r.head.id, r.code()), (msg::PING, 0), "a message of exactly connect.max_frame_bytes: {r:?}");
    let before = forwarded(&stack);

    // One byte more: closed with 1009, nothing queued.
    c.send_binary(padded(1025)).await;
    assert_eq!(c.closed().await, Some(1009), "one byte over the limit");

    // A frame header declaring 4 GiB, and one declaring 2^63 - 1 bytes, with a few bytes behind:
    // refused from the header alone (nothing is reserved for the declared length, nothing waited for).
    for declared in [4u64 << 30, i64::MAX as u64] {
        let mut w = RawWs::connect(stack.addr).await;
        let mut bytes = raw::frame_header(true, raw::BINARY, declared);
        bytes.extend_from_slice(&[0x92; 16]);
        w.write(&bytes).await;
        assert_eq!(w.closed().await, Some(1009), "a header declaring {declared} bytes");
    }

    // The limit is on the message, not on each frame: 8 fragments of 200 bytes are refused.
    let mut w = RawWs::connect(stack.addr).await;
    let big = padded(1600);
    let chunks: Vec<&[u8]> = big.chunks(200).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { raw::BINARY } else { raw::CONTINUATION };
        w.send(i == chunks.len() - 1, opcode, chunk).await;
    }
    assert_eq!(w.closed().await, Some(1009), "a message over the limit in fragments under it");

    assert_eq!(forwarded(&stack), before, "nothing over the limit was queued");
    still_served(&stack).await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

// ---------------------------------------------------------------------------------------------
// 2. Segmentation and fragmentation

#[tokio::test]
async fn a_frame_written_one_byte_per_tcp_write_and_a_message_in_many_fragments_are_answered() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;

    // The upgrade request and then a ping, each byte its own write.
    let mut w = RawWs::connect_with(stack.addr, None, true).await;
    w.write_dribbled(&raw::frame(true, raw::BINARY, &request(msg::PING, 7, &json!({})))).await;
    let r = w.recv().await;
    assert_eq!((r.head.id, r.head.seq, r.code()), (msg::PING, 7, 0), "{r:?}");

    // A ping in one-byte fragments, with a WebSocket ping between two of them (allowed: control
    // frames may come between fragments); the server answers the ping with a pong, then the request.
    let frame = request(msg::PING, 8, &json!({ "pad": "fragmented" }));
    for (i, byte) in frame.iter().enumerate() {
        let opcode = if i == 0 { raw::BINARY } else { raw::CONTINUATION };
        w.send(i == frame.len() - 1, opcode, std::slice::from_ref(byte)).await;
        if i == 3 {
            w.send(true, raw::PING, b"between").await;
        }
    }
    match w.read().await {
        raw::Read::Frame { opcode: raw::PONG, payload, .. } => assert_eq!(payload, b"between"),
        other => panic!("expected the pong first, got {other:?}"),
    }
    let r = w.recv().await;
    assert_eq!((r.head.id, r.head.seq, r.code()), (msg::PING, 8, 0), "{r:?}");

    // A JSON text message in fragments split inside a two-byte UTF-8 character (é = c3 a9).
    let text = r#"[{"id":100,"seq":9},{"pad":"café"}]"#.as_bytes();
    let cut = text.iter().position(|b| *b == 0xc3).unwrap() + 1;
    w.send(false, raw::TEXT, &text[..cut]).await;
    w.send(true, raw::CONTINUATION, &text[cut..]).await;
    let r = w.recv().await;
    assert_eq!((r.head.id, r.head.seq, r.code()), (msg::PING, 9, 0), "{r:?}");

    assert_eq!(forwarded(&stack), 3);
    assert_eq!(Stats::get(&stack.connect.frames_refused), 0, "no part of a frame was taken for a frame");
    still_served(&stack).await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

// ---------------------------------------------------------------------------------------------
// 3. MessagePack and JSON bombs

/// `[{"id": 100, "seq": 1}, ` … `]` in MessagePack, with `body` as the body's bytes.
fn ping_with_raw_body(body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x92, 0x82, 0xa2, b'i', b'd', 0x64, 0xa3, b's', b'e', b'q', 0x01];
    f.extend_from_slice(body);
    f
}

/// `{"x": [[…[1]…]]}` with `levels` arrays.
fn nested_body(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..levels {
        v = json!([v]);
    }
    json!({ "x": v })
}

const BOMB_LEVELS: usize = 100_000;
const FOUR_GIB: [u8; 4] = [0xff; 4];

#[tokio::test]
async fn messagepack_and_json_bombs_are_answered_code_2_without_decoding_or_allocating_them() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    // Room for 100,000 levels, so that the depth check refuses them, not the size limit.
    cfg.connect.max_frame_bytes = 1 << 20;
    cfg.connect.max_bad_frames = 1000;
    let stack = Stack::spawn(cfg).await;
    let mut c = stack.client().await;

    let deep_arrays = [vec![0x91; BOMB_LEVELS], vec![0xc0]].concat();
    let deep_maps = [[0x81, 0xa1, b'k'].repeat(BOMB_LEVELS), vec![0xc0]].concat();
    // Headers declaring 4 GiB (or 4 Gi entries) with 3 bytes present.
    let declared = |marker: u8| [vec![0x81, 0xa1, b'k', marker], FOUR_GIB.to_vec(), vec![1, 2, 3]].concat();
    let bombs: Vec<(&str, Vec<u8>)> = vec![
        ("body: 100k nested arrays", ping_with_raw_body(&deep_arrays)),
        ("body: 100k nested maps", ping_with_raw_body(&deep_maps)),
        ("body: str32 of 4 GiB", ping_with_raw_body(&declared(0xdb))),
        ("body: bin32 of 4 GiB", ping_with_raw_body(&declared(0xc6))),
        ("body: array32 of 4 Gi items", ping_with_raw_body(&declared(0xdd))),
        ("body: map32 of 4 Gi entries", ping_with_raw_body(&declared(0xdf))),
        ("body: ext32 of 4 GiB", ping_with_raw_body(&declared(0xc9))),
        ("head: an unknown field nested 100k deep", {
            let mut f = vec![0x92, 0x83, 0xa2, b'i', b'd', 0x64, 0xa3, b's', b'e', b'q', 0x01, 0xa1, b'x'];
            f.extend_from_slice(&deep_arrays);
            f.push(0x80);
            f
        }),
        ("head: itself 100k nested arrays", [vec![0x92], deep_arrays.clone(), vec![0x80]].concat()),
        ("head: ver as a str32 of 4 GiB", {
            let mut f = vec![0x92, 0x83, 0xa2, b'i', b'd', 0x64, 0xa3, b's', b'e', b'q', 0x01];
            f.extend_from_slice(&[0xa3, b'v', b'e', b'r', 0xdb]);
            f.extend_from_slice(&FOUR_GIB);
            f.extend_from_slice(b"1.0");
            f
        }),
        ("frame: array32 of 4 Gi items", [vec![0xdd], FOUR_GIB.to_vec(), vec![0x80, 0x80]].concat()),
    ];
    for (what, bomb) in &bombs {
        c.send_binary(bomb.clone()).await;
        assert_bad_frame(&c.recv().await, what);
    }
    let (open, close) = ("[".repeat(BOMB_LEVELS), "]".repeat(BOMB_LEVELS));
    let json_bombs = [
        ("JSON body: 100k nested arrays", format!(r#"[{{"id":100,"seq":1}},{open}1{close}]"#)),
        (
            "JSON body: 100k nested objects",
            format!(r#"[{{"id":100,"seq":1}},{}1{}]"#, r#"{"k":"#.repeat(BOMB_LEVELS), "}".repeat(BOMB_LEVELS)),
        ),
        ("JSON frame: 100k nested arrays", format!("{open}1{close}")),
    ];
    for (what, bomb) in json_bombs {
        c.send_text(bomb).await;
        assert_bad_frame(&c.recv().await, what);
    }
    // An unknown head field nested 100k deep in JSON is skipped without recursion (serde_json
    // ignores values iteratively) and never leaves connect: the ping is answered.
    c.send_text(format!(r#"[{{"id":100,"seq":5,"x":{open}1{close}}},{{}}]"#)).await;
    let r = c.recv().await;
    assert_eq!((r.head.seq, r.code()), (5, 0), "JSON head with a deep unknown field: {r:?}");

    // The nesting limit is the same for MessagePack and JSON: the deepest body connect passes on is
    // served in both forms, and one level more is code 2 in both (not queued for logic to choke on).
    let deepest = (1..2 * MAX_DEPTH)
        .take_while(|&n| decode_client_frame(&request(msg::PING, 1, &nested_body(n))).is_ok())
        .last()
        .unwrap();
    assert!(deepest + 2 >= MAX_DEPTH, "the limit is about MAX_DEPTH levels, found {deepest}");
    let ok = c.call(msg::PING, nested_body(deepest)).await;
    assert_eq!(ok.code(), 0, "MessagePack body of {deepest} levels: {ok:?}");
    let ok = c.call_json(msg::PING, nested_body(deepest)).await;
    assert_eq!(ok.code(), 0, "JSON body of {deepest} levels: {ok:?}");
    c.send_binary(request(msg::PING, 99, &nested_body(deepest + 1))).await;
    assert_bad_frame(&c.recv().await, "MessagePack body one level deeper than the limit");
    c.send_text(json!([{ "id": msg::PING, "seq": 99 }, nested_body(deepest + 1)]).to_string()).await;
    assert_bad_frame(&c.recv().await, "JSON body one level deeper than the limit");

    // The connection survives (bad frames are answered, up to connect.max_bad_frames).
    assert_eq!(c.call(msg::PING, json!({})).await.code(), 0);
    assert_eq!(forwarded(&stack), 4, "only the four good pings were queued");
    assert_eq!(Stats::get(&stack.connect.frames_refused), bombs.len() as u64 + 5);
    still_served(&stack).await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Invalid text, broken WebSocket framing

#[tokio::test]
async fn invalid_utf8_in_a_text_message_is_closed_1007_and_bad_json_escapes_are_code_2() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;

    let mut w = RawWs::connect(stack.addr).await;
    w.send(true, raw::TEXT, b"[{\"id\":100,\"seq\":1},{\"pad\":\"\xff\xfe\"}]").await;
    assert_eq!(w.closed().await, Some(1007), "invalid UTF-8 in one frame");

    // Split across fragments: the first ends in the lead byte of a two-byte character, the next does
    // not continue it.
    let mut w = RawWs::connect(stack.addr).await;
    w.send(false, raw::TEXT, b"[{\"id\":100,\"seq\":1},{\"pad\":\"\xc3").await;
    w.send(true, raw::CONTINUATION, b"(\"}]").await;
    assert_eq!(w.closed().await, Some(1007), "invalid UTF-8 across fragments");

    // Valid UTF-8 that JSON does not allow (a lone surrogate escape) is a bad frame like any other.
    let mut c = stack.client().await;
    c.send_text(r#"[{"id":100,"seq":1},{"pad":"\ud800"}]"#.into()).await;
    assert_bad_frame(&c.recv().await, "a lone surrogate escape");
    assert_eq!(c.call_json(msg::PING, json!({})).await.code(), 0, "the connection survives a code 2");

    assert_eq!(forwarded(&stack), 1, "only the last ping was queued");
    still_served(&stack).await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

#[tokio::test]
async fn frames_that_break_the_websocket_protocol_are_closed_1002() {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;
    let ping = request(msg::PING, 1, &json!({}));
    let unmasked = [vec![0x82, ping.len() as u8], ping.clone()].concat();
    let mut reserved_bits = raw::frame(true, raw::BINARY, &ping);
    reserved_bits[0] |= 0x40;
    let cases = [
        ("an unmasked client frame", unmasked),
        ("reserved bits set", reserved_bits),
        ("an unknown opcode", raw::frame(true, 0x3, &ping)),
        ("a continuation with nothing to continue", raw::frame(true, raw::CONTINUATION, &ping)),
        ("a fragmented ping", raw::frame(false, raw::PING, b"x")),
    ];
    for (what, bytes) in cases {
        let mut w = RawWs::connect(stack.addr).await;
        w.write(&bytes).await;
        assert_eq!(w.closed().await, Some(1002), "{what}");
    }
    assert_eq!(forwarded(&stack), 0);
    still_served(&stack).await;
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 5. A client that never reads

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_when_its_queue_fills_and_others_get_every_push() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.outbound_queue = 16;
    let stack = Stack::spawn(cfg).await;
    let stats = stack.connect.clone();

    // The slow client: a small receive window, and it never reads.
    let mut slow = RawWs::connect_with(stack.addr, Some(4096), false).await;
    let mut good = stack.client().await;
    assert_eq!(good.call(msg::PING, json!({})).await.code(), 0);
    assert_eq!(Stats::get(&stats.connections), 2);

    // Broadcast announcements of 16 KiB, as pushsvr writes them, until the slow client is cut off
    // (its kernel buffers, then connect's write buffer, then its outbound queue fill up): at most
    // 64 MiB. The good client reads them all meanwhile; each round is half a queue, and the next
    // waits for the good client (a burst of more than a queue at once would cut off any client).
    let announcement = |text: String| {
        let frame = encode_frame(&ReplyHead { id: msg::PUSH_ANNOUNCEMENT, seq: 0, code: 0 }, &json!({ "text": text }));
        encode_routed(&Route { conn: 0, all: true, ..Route::default() }, &frame.unwrap()).unwrap()
    };
    let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = tokio::spawn({
        let received = received.clone();
        async move {
            loop {
                let f = good.push().await;
                if f.body["text"] == "end" {
                    return (good, received.load(Ordering::SeqCst));
                }
                received.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let push_list = env.keys().push(&stack.cfg.node.id);
    let big = announcement("x".repeat(16 * 1024));
    let mut pushed = 0u64;
    while Stats::get(&stats.slow_consumers) == 0 && pushed < 4096 {
        let _: i64 = env.redis.pool.lpush(&push_list, vec![big.clone(); 8]).await.unwrap();
        pushed += 8;
        eventually("the good client reads the round", || async {
            (received.load(Ordering::SeqCst) == pushed).then_some(())
        })
        .await;
    }
    assert_eq!(Stats::get(&stats.slow_consumers), 1, "the slow client was cut off after {pushed} pushes");
    let _: i64 = env.redis.pool.lpush(&push_list, announcement("end".into())).await.unwrap();
    let (mut good, received) = tokio::time::timeout(Duration::from_secs(30), reader).await.unwrap().unwrap();
    assert_eq!(received, pushed, "the reading client got every push");
    assert_eq!(good.call(msg::PING, json!({})).await.code(), 0);

    eventually("the slow client's connection is gone", || async {
        (Stats::get(&stats.connections) == 1).then_some(())
    })
    .await;
    // What it finally reads ends: a close (1008) if the close frame got through, else the socket's end.
    assert!(matches!(slow.closed().await, None | Some(1008)));
    still_served(&stack).await;
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 6. A flood of connections

/// Writes an upgrade request on a fresh TCP connection and reads the whole answer (to the close).
async fn upgrade_answer(addr: std::net::SocketAddr) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&raw::handshake_request(addr)).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await.expect("closed in time").unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn connections_beyond_max_connections_are_refused_503_until_one_closes() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.max_connections = 5;
    let stack = Stack::spawn(cfg).await;
    let stats = stack.connect.clone();

    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(stack.client().await);
    }
    // The sixth, and a flood of 30 more at once: each refused with 503 and why.
    let answers = join_all((0..31).map(|_| upgrade_answer(stack.addr))).await;
    for answer in &answers {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("connect.max_connections"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    }
    assert_eq!(Stats::get(&stats.refused_limit), 31);
    assert_eq!(Stats::get(&stats.connections), 5);
    for c in &mut held {
        assert_eq!(c.call(msg::PING, json!({})).await.code(), 0, "the five held connections are served");
    }

    // One closes: a new one gets in, and the next is refused again.
    drop(held.pop());
    let mut newcomer = eventually("a connection is let in once one has closed", || async {
        test_support::matchday_client::Client::connect(&format!("ws://{}/ws", stack.addr)).await.ok()
    })
    .await;
    let reply = newcomer.call(msg::PING, &json!({})).await.expect("the newcomer's ping is answered");
    assert_eq!(reply.code(), 0, "the newcomer is served: {reply:?}");
    assert!(upgrade_answer(stack.addr).await.starts_with("HTTP/1.1 503"), "and the next is refused");
    drop(newcomer);
    stack.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 7. A flood of requests

#[tokio::test]
async fn a_request_flood_is_answered_code_5_beyond_the_burst_while_another_connection_is_served() {
    let env = TestEnv::new().await;
    let mut cfg = env.node(1);
    cfg.connect.rate_burst = 20;
    cfg.connect.rate_per_sec = 1;
    let stack = Stack::spawn(cfg).await;
    let started = Instant::now();
    let mut flooder = stack.client().await;
    let mut other = stack.client().await;

    let flood = async {
        for seq in 1..=200u32 {
            flooder.send_binary(request(msg::PING, seq, &json!({}))).await;
        }
        let mut codes = Vec::new();
        for _ in 0..200 {
            codes.push(flooder.recv().await.code());
        }
        codes
    };
    let meanwhile = async {
        let mut codes = Vec::new();
        for _ in 0..15 {
            codes.push(other.call(msg::PING, json!({})).await.code());
        }
        codes
    };
    let (flood, meanwhile) = tokio::join!(flood, meanwhile);
    let served = flood.iter().filter(|c| **c == 0).count();
    let limited = flood.iter().filter(|c| **c == 5).count();
    assert_eq!(served + limited, 200, "{flood:?}");
    // The burst of 20, and whatever the refill (1/s) allowed while the test ran.
    let refilled = started.elapsed().as_secs() as usize + 1;
    assert!((20..=20 + refilled).contains(&served), "served {served} of the flood: {flood:?}");
    assert_eq!(meanwhile, vec![0; 15], "the other connection's requests were all served");
    assert_eq!(forwarded(&stack), (served + 15) as u64, "rate-limited frames were not queued");
    // Limited, not closed.
    assert!([0, 5].contains(&flooder.call(msg::PING, json!({})).await.code()));
    still_served(&stack).await;
    stack.stop().await;
    env.assert_queues_drained().await;
}

// ---------------------------------------------------------------------------------------------
// 8–10. Ids, stakes and odds a client must not control

struct Bettors {
    env: TestEnv,
    stack: Stack,
    alice: Client,
    alice_id: u64,
    bob_id: u64,
    mid: u64,
}

/// alice (logged in) and bob (registered) with the sign-up grant, and an open match whose options
/// are a (1850) and b (2133), stakes 1 to 100,000.
async fn bettors() -> Bettors {
    let env = TestEnv::new().await;
    let stack = Stack::spawn(env.node(1)).await;
    let mut bob = stack.client().await;
    let bob_id = bob.register("bob", PW).await;
    let mut alice = stack.client().await;
    let alice_id = alice.register("alice", PW).await;
    alice.login("alice", PW).await;
    let mid = seed::open_match(&env.redis, "lol").await.unwrap();
    Bettors { env, stack, alice, alice_id, bob_id, mid }
}

impl Bettors {
    async fn balance_of(&self, uid: u64) -> i64 {
        let b: Option<i64> = self.env.redis.pool.hget(self.env.keys().wallet(uid), "balance").await.unwrap();
        b.unwrap()
    }

    /// The user's bet ids, oldest first.
    async fn bets_of(&self, uid: u64) -> Vec<u64> {
        let bets = common::bets::all_of_user(&self.env.redis, uid).await.unwrap();
        bets.iter().rev().map(|b| b.key).collect()
    }

    async fn odds_ver(&self) -> u64 {
        let v: Option<u64> = self.env.redis.pool.hget(self.env.keys().match_(self.mid), "odds_ver").await.unwrap();
        v.unwrap()
    }

    async fn stop(self) {
        self.stack.stop().await;
        self.env.assert_queues_drained().await;
    }
}

#[tokio::test]
async fn user_node_conn_and_group_ids_smuggled_in_a_head_or_body_are_ignored() {
    let mut w = bettors().await;
    let (alice, bob) = (w.alice_id, w.bob_id);
    let grant = w.stack.cfg.logic.signup_grant;
    let smuggled_head = |id: u16, seq: u32| {
        json!({ "id": id, "seq": seq, "uid": bob, "user_id": bob, "sid": "forged", "node": "elsewhere",
                "conn": 1, "group": 9, "addr": "10.0.0.1:1", "ts": 1, "trace": "forged" })
    };
    let smuggled_body = json!({ "uid": bob, "user_id": bob, "node": "elsewhere", "conn": 1, "group": 9 });

    // A bet in alice's name with bob's id everywhere: it is alice's bet, paid from alice's wallet.
    let mut bet =
        json!({ "match_id": w.mid, "option": "a", "stake": 100, "odds_ver": w.odds_ver().await, "req_id": "s1" });
    bet.as_object_mut().unwrap().extend(smuggled_body.as_object().unwrap().clone());
    w.alice.send_binary(encode_frame(&smuggled_head(msg::PLACE_BET, 1), &bet).unwrap()).await;
    let r = w.alice.recv().await;
    assert_eq!((r.head.id, r.head.seq, r.code()), (msg::PLACE_BET, 1, 0), "answered on this connection: {r:?}");
    assert_eq!(r.body["balance"].as_i64(), Some(grant - 100));
    let bid = r.body["bet_id"].as_u64().unwrap();
    let owner = common::bets::of_user(&w.env.redis, alice, bid).await.unwrap().map(|b| b.uid);
    assert_eq!(owner, Some(alice), "the bet is alice's");

    // Balance, MessagePack and JSON, with bob's id in head and body: alice's balance.
    w.alice.send_binary(encode_frame(&smuggled_head(msg::BALANCE, 2), &smuggled_body).unwrap()).await;
    let r = w.alice.recv().await;
    assert_eq!((r.head.seq, r.code(), r.body["balance"].as_i64()), (2, 0, Some(grant - 100)), "{r:?}");
    w.alice.send_text(json!([smuggled_head(msg::BALANCE, 3), smuggled_body]).to_string()).await;
    let r = w.alice.recv().await;
    assert_eq!((r.head.seq, r.code(), r.body["balance"].as_i64()), (3, 0, Some(grant - 100)), "{r:?}");

    // A connection that has not logged in does not become bob by naming him.
    let mut anon = w.stack.client().await;
    anon.send_binary(encode_frame(&smuggled_head(msg::BALANCE, 1), &smuggled_body).unwrap()).await;
    assert_eq!(anon.recv().await.code(), 4);
    anon.send_binary(encode_frame(&smuggled_head(msg::PLACE_BET, 2), &bet).unwrap()).await;
    assert_eq!(anon.recv().await.code(), 4);

    assert_eq!(w.balance_of(alice).await, grant - 100);
    assert_eq!(w.balance_of(bob).await, grant, "bob's wallet is untouched");
    assert_eq!(w.bets_of(bob).await, Vec::<u64>::new(), "bob has no bet");
    assert_eq!(w.bets_of(alice).await, vec![bid]);
    assert!(w.env.scan("q:c2l:{9}*").await.is_empty(), "nothing was queued for the smuggled group");
    assert!(w.env.scan("q:l2c:*elsewhere*").await.is_empty(), "nothing was answered to the smuggled node");
    still_served(&w.stack).await;
    w.stop().await;
}

#[tokio::test]
async fn stakes_of_zero_negative_huge_or_not_an_i64_are_refused_and_change_nothing() {
    let mut w = bettors().await;
    let grant = w.stack.cfg.logic.signup_grant;
    let ver = w.odds_ver().await;
    let bet = |stake: Value, req: &str| json!({ "match_id": w.mid, "option": "a", "stake": stake, "odds_ver": ver, "req_id": req });
    let cases: Vec<(&str, Value, u16)> = vec![
        ("zero", json!(0), 1006),
        ("negative", json!(-100), 1006),
        ("i64::MIN", json!(i64::MIN), 1006),
        ("i64::MAX", json!(i64::MAX), 1006),
        ("above the match's max_stake", json!(100_001), 1006),
        ("above the balance", json!(grant + 1), 1003),
        ("u64::MAX (beyond i64)", json!(u64::MAX), 7),
        ("a float", json!(10.5), 7),
        ("a whole float", json!(100.0), 7),
        ("a string", json!("100"), 7),
        ("nil", Value::Null, 7),
    ];
    for (i, (what, stake, code)) in cases.into_iter().enumerate() {
        let r = w.alice.call(msg::PLACE_BET, bet(stake, &format!("st{i}"))).await;
        assert_eq!(r.code(), code, "stake {what}: {r:?}");
    }
    // JSON numbers no i64 can hold.
    for (i, number) in ["99999999999999999999", "1e30", "-1e30", "1.5"].into_iter().enumerate() {
        let text = format!(
            r#"[{{"id":401,"seq":{}}},{{"match_id":{},"option":"a","stake":{number},"odds_ver":{ver},"req_id":"js{i}"}}]"#,
            100 + i,
            w.mid
        );
        w.alice.send_text(text).await;
        let r = w.alice.recv().await;
        assert_eq!(r.code(), 7, "JSON stake {number}: {r:?}");
    }

    assert_eq!(w.balance_of(w.alice_id).await, grant, "no balance change");
    assert_eq!(w.bets_of(w.alice_id).await, Vec::<u64>::new(), "no bet stored");
    let open = common::matches::shard_totals(&w.env.redis, &[w.mid]).await.unwrap().remove(0).open;
    assert_eq!(open, 0);
    let ledger: i64 = w.env.redis.pool.llen(w.env.keys().ledger(w.alice_id)).await.unwrap();
    assert_eq!(ledger, 1, "only the sign-up grant in the ledger");
    // And a sane stake still goes through.
    let r = w.alice.call(msg::PLACE_BET, bet(json!(10), "sane")).await;
    assert_eq!((r.code(), r.body["balance"].as_i64()), (0, Some(grant - 10)), "{r:?}");
    w.stop().await;
}

#[tokio::test]
async fn odds_forged_by_the_client_are_ignored_and_a_future_odds_ver_is_1005() {
    let mut w = bettors().await;
    let grant = w.stack.cfg.logic.signup_grant;
    let ver = w.odds_ver().await;

    // Odds named by the client, in every shape it might try: the bet is taken at the server's 1850.
    let forged = json!({ "match_id": w.mid, "option": "a", "stake": 100, "odds_ver": ver, "req_id": "f1",
                         "odds": 1_000_000, "options": [{ "key": "a", "label": "A", "odds": 1_000_000 }] });
    let r = w.alice.call(msg::PLACE_BET, forged).await;
    assert_eq!((r.code(), r.body["odds"].as_i64()), (0, Some(1850)), "{r:?}");
    let bid = r.body["bet_id"].as_u64().unwrap();
    let stored = common::bets::of_user(&w.env.redis, w.alice_id, bid).await.unwrap().map(|b| b.odds);
    assert_eq!(stored, Some(1850), "the stored bet carries the server's odds");

    // An odds version from the future (or the past, or absurd): 1005 with the current odds.
    for (i, odds_ver) in [ver + 1, ver + 1000, 0, u64::MAX].into_iter().enumerate() {
        let body = json!({ "match_id": w.mid, "option": "a", "stake": 100, "odds_ver": odds_ver,
                           "req_id": format!("v{i}"), "odds": 1_000_000 });
        let r = w.alice.call(msg::PLACE_BET, body).await;
        assert_eq!(r.code(), 1005, "odds_ver {odds_ver}: {r:?}");
        assert_eq!(r.body["odds_ver"].as_u64(), Some(ver), "{r:?}");
        let odds: Vec<i64> =
            r.body["options"].as_array().unwrap().iter().map(|o| o["odds"].as_i64().unwrap()).collect();
        assert_eq!(odds, vec![1850, 2133], "{r:?}");
    }
    assert_eq!(w.balance_of(w.alice_id).await, grant - 100, "only the one bet was debited");
    assert_eq!(w.bets_of(w.alice_id).await, vec![bid]);
    w.stop().await;
}
