//! A client frame that connect accepts (binary, or JSON text when the bytes are UTF-8) goes through
//! the splice connect does (`splice_client_frame`, the function connect calls) and is decoded as
//! logic decodes a queue element (`Request::decode` is `split_frame::<InternalHead>`).
//!
//! Logic must decode every frame connect queues; the body it gets must be exactly the body bytes
//! connect accepted; and the head must carry the client's `id`, `seq` and `ver` with everything else
//! connect's: whatever the client writes in its head (a `uid`, `sid`, `node`, `group`, a trace) is
//! never what logic sees.

#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::codec::{Origin, decode_client_frame, parse_json_frame, splice_client_frame, split_frame};
use protocol::{ClientHead, InternalHead};

fuzz_target!(|data: &[u8]| {
    if let Ok((head, body)) = decode_client_frame(data) {
        check_splice(&head, body);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((head, body)) = parse_json_frame(text)
    {
        check_splice(&head, &body);
    }
});

/// Splices the frame as a connection that is not logged in and as one that is.
fn check_splice(head: &ClientHead, body: &[u8]) {
    let anonymous = Origin {
        node: "edge-1".into(),
        conn: 17,
        uid: None,
        sid: None,
        group: 3,
        addr: "192.0.2.1:50000".into(),
        ts: 1_795_306_006_677,
        trace: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
    };
    let logged_in = Origin { uid: Some(4242), sid: Some("9a8b7c6d".into()), ..anonymous.clone() };
    for origin in [anonymous, logged_in] {
        let element = splice_client_frame(head.clone(), origin.clone(), body).expect("a decoded frame splices");
        let (internal, spliced) = match split_frame::<InternalHead>(&element) {
            Ok(f) => f,
            Err(e) => panic!("logic cannot decode a frame connect queued: {e}"),
        };
        assert_eq!(spliced, body, "the body bytes must pass through unchanged");
        assert_eq!((internal.id, internal.seq, &internal.ver), (head.id, head.seq, &head.ver));
        let InternalHead { node, conn, uid, sid, group, addr, ts, trace, .. } = internal;
        let from_connect = Origin { node, conn, uid, sid, group, addr, ts, trace };
        assert_eq!(from_connect, origin, "a head field came from the client, not from connect");
    }
}
