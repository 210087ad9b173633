//! Arbitrary bytes through every decoder that reads what a client or the queues hand to connect:
//!
//! - as a binary WebSocket message: `decode_client_frame`, as connect's reader calls it, then the
//!   typed bodies logic's handlers decode;
//! - as a text message: `parse_json_frame` when the bytes are UTF-8 (tungstenite refuses a text
//!   message that is not UTF-8 and connect drops the connection, so nothing else reads those);
//! - as what connect reads from `q:l2c:{node}` / `q:push:{node}`: `decode_routed`, `split_frame`
//!   for reply heads, and `frame_to_json` for JSON clients.
//!
//! Nothing may panic, and a frame that decodes must re-encode to a frame that decodes to the same
//! head and body. Run with `-rss_limit_mb` / `-malloc_limit_mb` (scripts/fuzz.sh) so that a
//! declared-but-absent length that is allocated up front fails the run.

#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::body::{BetRef, Credentials, Empty, ListMatches, MatchRef, Page, PlaceBet, ResumeRequest};
use protocol::codec::{
    decode_body, decode_client_frame, decode_routed, encode_frame_raw, encode_routed, frame_to_json, parse_json_frame,
    split_frame,
};
use protocol::{ClientHead, InternalHead, ReplyHead};
use serde::de::IgnoredAny;

fuzz_target!(|data: &[u8]| {
    binary_message(data);
    if let Ok(text) = std::str::from_utf8(data) {
        text_message(text);
    }
    queue_elements(data);
});

/// A binary message, decoded as connect decodes it.
fn binary_message(data: &[u8]) {
    let Ok((head, body)) = decode_client_frame(data) else { return };
    // The body connect splices is the tail of the message, not a copy.
    let tail = &data[data.len() - body.len()..];
    assert!(std::ptr::eq(body, tail), "the body is not the tail of the frame");
    assert_same_frame(&head, body);
    logic_bodies(body);
}

/// A text message: the JSON frame, whose body connect converts to MessagePack and forwards.
fn text_message(text: &str) {
    let Ok((head, body)) = parse_json_frame(text) else { return };
    // What connect forwards must be what a binary client could have sent: one well-formed value.
    assert_same_frame(&head, &body);
    logic_bodies(&body);
}

/// Re-encodes `[head, body]` and checks it decodes to the same head and the same body bytes.
fn assert_same_frame(head: &ClientHead, body: &[u8]) {
    let again = encode_frame_raw(head, body).expect("a decoded head encodes");
    let (head2, body2) = match decode_client_frame(&again) {
        Ok(f) => f,
        Err(e) => panic!("a decoded frame, re-encoded, does not decode: {e}"),
    };
    assert_eq!(&head2, head);
    assert_eq!(body2, body);
}

/// What logic's handlers do with a body: decode it into their request type, or answer code 7.
fn logic_bodies(body: &[u8]) {
    let _ = decode_body::<IgnoredAny>(body);
    let _ = decode_body::<Empty>(body);
    let _ = decode_body::<Credentials>(body);
    let _ = decode_body::<ResumeRequest>(body);
    let _ = decode_body::<Page>(body);
    let _ = decode_body::<ListMatches>(body);
    let _ = decode_body::<MatchRef>(body);
    let _ = decode_body::<PlaceBet>(body);
    let _ = decode_body::<BetRef>(body);
}

/// Elements connect and logic read from the queues (written by our own services, but a decoder that
/// panics on a bad one would take the reader down with it).
fn queue_elements(data: &[u8]) {
    if let Ok((route, frame)) = decode_routed(data) {
        let again = encode_routed(&route, frame).expect("a decoded route encodes");
        let (route2, frame2) = decode_routed(&again).expect("a re-encoded element decodes");
        assert_eq!(route2, route);
        assert_eq!(frame2, frame);
    }
    if let Ok((head, body)) = split_frame::<ReplyHead>(data) {
        let again = encode_frame_raw(&head, body).expect("a decoded reply head encodes");
        let (head2, body2) = split_frame::<ReplyHead>(&again).expect("a re-encoded reply decodes");
        assert_eq!(head2, head);
        assert_eq!(body2, body);
    }
    let _ = split_frame::<InternalHead>(data);
    let _ = frame_to_json(data);
}
