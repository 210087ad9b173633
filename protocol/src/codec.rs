//! Framing. A frame is the MessagePack array `[head, body]`; connect splices the client's body bytes
//! through unchanged (it decodes the head only and checks the body is one well-formed value).
//! Elements on the reply and push lists are `[route, frame]`, with the frame as a MessagePack bin
//! that connect writes to the WebSocket as is. JSON text frames carry the same `[head, body]`.

use std::io::Cursor;

use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::{ClientHead, InternalHead, Route};

/// Deepest nesting accepted in a body (a guard against stack exhaustion by hostile frames).
pub const MAX_DEPTH: usize = 32;

/// Why a frame could not be decoded. Decoding a client frame never panics.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("a frame must be the array [head, body]")]
    NotAPair,
    #[error("bad head: {0}")]
    Head(String),
    #[error("bad body: {0}")]
    Body(String),
    #[error("{0} bytes after the end of the frame")]
    Trailing(usize),
    #[error("bad JSON frame: {0}")]
    Json(String),
    #[error("cannot encode: {0}")]
    Encode(String),
}

/// Splits a MessagePack `[head, body]` into the decoded head and the raw body bytes.
/// The body is checked to be exactly one well-formed value, but not decoded.
pub fn split_frame<H: DeserializeOwned>(bytes: &[u8]) -> Result<(H, &[u8]), FrameError> {
    let mut rest = bytes;
    match rmp::decode::read_array_len(&mut rest) {
        Ok(2) => {}
        _ => return Err(FrameError::NotAPair),
    }
    let (head, used) = decode_prefix::<H>(rest).map_err(FrameError::Head)?;
    let body = &rest[used..];
    check_value(body)?;
    Ok((head, body))
}

/// Decodes a client frame: the head, and the body bytes to splice.
pub fn decode_client_frame(bytes: &[u8]) -> Result<(ClientHead, &[u8]), FrameError> {
    split_frame(bytes)
}

/// Decodes a body into its typed request; errors here are answered with code 7.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(body).map_err(|e| e.to_string())
}

/// Encodes `[head, body]` (both as maps with named fields).
pub fn encode_frame<H: Serialize, B: Serialize + ?Sized>(head: &H, body: &B) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(64);
    out.push(0x92);
    write_named(&mut out, head)?;
    write_named(&mut out, body)?;
    Ok(out)
}

/// Encodes `[head, body]` where the body is already MessagePack (spliced, not re-encoded).
pub fn encode_frame_raw<H: Serialize>(head: &H, body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(body.len() + 128);
    out.push(0x92);
    write_named(&mut out, head)?;
    out.extend_from_slice(body);
    Ok(out)
}

/// What connect knows about a connection and the moment one of its frames arrived: everything in an
/// [`InternalHead`] that is not the client's to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub node: String,
    pub conn: u64,
    pub uid: Option<u64>,
    pub sid: Option<String>,
    pub group: u32,
    pub addr: String,
    pub ts: u64,
    pub trace: String,
}

impl Origin {
    /// The enriched head: `id`, `seq` and `ver` from the client, every other field from connect.
    pub fn enrich(self, client: ClientHead) -> InternalHead {
        let Origin { node, conn, uid, sid, group, addr, ts, trace } = self;
        InternalHead { id: client.id, seq: client.seq, ver: client.ver, node, conn, uid, sid, group, addr, ts, trace }
    }
}

/// The element connect queues for logic: the enriched head, then the client's body bytes spliced
/// unchanged. Whatever else the client put in its head (a `uid`, a `node`) is not carried.
pub fn splice_client_frame(client: ClientHead, origin: Origin, body: &[u8]) -> Result<Vec<u8>, FrameError> {
    encode_frame_raw(&origin.enrich(client), body)
}

/// Encodes a reply or push element `[route, frame]`.
pub fn encode_routed(route: &Route, frame: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(frame.len() + 32);
    out.push(0x92);
    write_named(&mut out, route)?;
    let len = u32::try_from(frame.len()).map_err(|_| FrameError::Encode("frame too large".into()))?;
    rmp::encode::write_bin_len(&mut out, len).map_err(|e| FrameError::Encode(e.to_string()))?;
    out.extend_from_slice(frame);
    Ok(out)
}

/// Decodes a reply or push element into its route and the client frame bytes.
pub fn decode_routed(bytes: &[u8]) -> Result<(Route, &[u8]), FrameError> {
    let mut rest = bytes;
    match rmp::decode::read_array_len(&mut rest) {
        Ok(2) => {}
        _ => return Err(FrameError::NotAPair),
    }
    let (route, used) = decode_prefix::<Route>(rest).map_err(FrameError::Head)?;
    let mut rest = &rest[used..];
    let len = rmp::decode::read_bin_len(&mut rest).map_err(|e| FrameError::Body(e.to_string()))?;
    let len = len as usize;
    if rest.len() < len {
        return Err(FrameError::Body("bin shorter than its length".into()));
    }
    if rest.len() > len {
        return Err(FrameError::Trailing(rest.len() - len));
    }
    Ok((route, rest))
}

/// Parses a JSON text frame `[head, body]` and converts the body to MessagePack. The body is held
/// to the checks a MessagePack body gets (nesting at most [`MAX_DEPTH`]; serde_json alone allows
/// 128), so that logic can decode every frame connect forwards.
pub fn parse_json_frame(text: &str) -> Result<(ClientHead, Vec<u8>), FrameError> {
    let (head, body): (ClientHead, serde_json::Value) =
        serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))?;
    let body = rmp_serde::to_vec_named(&body).map_err(|e| FrameError::Encode(e.to_string()))?;
    check_value(&body)?;
    Ok((head, body))
}

/// Converts a MessagePack frame (or any value) to its JSON text, for clients that speak JSON.
pub fn frame_to_json(frame: &[u8]) -> Result<String, FrameError> {
    let mut de = rmp_serde::Deserializer::new(Cursor::new(frame));
    de.set_max_depth(MAX_DEPTH);
    let mut out = Vec::with_capacity(frame.len() * 2);
    let mut ser = serde_json::Serializer::new(&mut out);
    serde_transcode::transcode(&mut de, &mut ser).map_err(|e| FrameError::Body(e.to_string()))?;
    String::from_utf8(out).map_err(|e| FrameError::Body(e.to_string()))
}

fn write_named<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), FrameError> {
    let mut ser = rmp_serde::Serializer::new(out).with_struct_map();
    value.serialize(&mut ser).map_err(|e| FrameError::Encode(e.to_string()))
}

/// Decodes one value at the start of `bytes`; returns it and how many bytes it used.
fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    let mut de = rmp_serde::Deserializer::new(Cursor::new(bytes));
    de.set_max_depth(MAX_DEPTH);
    let value = T::deserialize(&mut de).map_err(|e| e.to_string())?;
    Ok((value, de.position() as usize))
}

/// Checks that `bytes` is exactly one well-formed MessagePack value.
fn check_value(bytes: &[u8]) -> Result<(), FrameError> {
    let (_, used) = decode_prefix::<IgnoredAny>(bytes).map_err(FrameError::Body)?;
    match bytes.len() - used {
        0 => Ok(()),
        n => Err(FrameError::Trailing(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::*;
    use crate::{Bind, InternalHead, ReplyHead};
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    /// Round-trips a body through a MessagePack frame, the splice path, and a JSON frame.
    fn round_trip<B>(head: ClientHead, body: B)
    where
        B: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let frame = encode_frame(&head, &body).unwrap();
        let (h, raw) = decode_client_frame(&frame).unwrap();
        assert_eq!(h, head);
        assert_eq!(decode_body::<B>(raw).unwrap(), body);

        // connect splices the body into an enriched head; logic gets the same bytes back.
        let internal = InternalHead {
            id: head.id,
            seq: head.seq,
            ver: head.ver.clone(),
            node: "n1".into(),
            conn: 7,
            uid: Some(3),
            sid: None,
            group: 1,
            addr: "127.0.0.1:1".into(),
            ts: 1,
            trace: "t".into(),
        };
        let spliced = encode_frame_raw(&internal, raw).unwrap();
        let (ih, raw2) = split_frame::<InternalHead>(&spliced).unwrap();
        assert_eq!(ih, internal);
        assert_eq!(raw2, raw, "the body bytes pass through unchanged");

        // JSON text frames carry the same message.
        let json = frame_to_json(&frame).unwrap();
        let (jh, jbody) = parse_json_frame(&json).unwrap();
        assert_eq!(jh, head);
        assert_eq!(decode_body::<B>(&jbody).unwrap(), body);
    }

    fn head() -> impl Strategy<Value = ClientHead> {
        (any::<u16>(), any::<u32>(), proptest::option::of("[a-z0-9.]{0,8}")).prop_map(|(id, seq, ver)| ClientHead {
            id,
            seq,
            ver,
        })
    }

    proptest! {
        #[test] fn empty(h in head(), b in any::<Empty>()) { round_trip(h, b) }
        #[test] fn error_body(h in head(), b in any::<ErrorBody>()) { round_trip(h, b) }
        #[test] fn ping_reply(h in head(), b in any::<PingReply>()) { round_trip(h, b) }
        #[test] fn credentials(h in head(), b in any::<Credentials>()) { round_trip(h, b) }
        #[test] fn register_reply(h in head(), b in any::<RegisterReply>()) { round_trip(h, b) }
        #[test] fn resume_request(h in head(), b in any::<ResumeRequest>()) { round_trip(h, b) }
        #[test] fn session_reply(h in head(), b in any::<SessionReply>()) { round_trip(h, b) }
        #[test] fn profile_reply(h in head(), b in any::<ProfileReply>()) { round_trip(h, b) }
        #[test] fn balance_reply(h in head(), b in any::<BalanceReply>()) { round_trip(h, b) }
        #[test] fn page(h in head(), b in any::<Page>()) { round_trip(h, b) }
        #[test] fn ledger_items(h in head(), b in any::<Items<LedgerItem>>()) { round_trip(h, b) }
        #[test] fn list_matches(h in head(), b in any::<ListMatches>()) { round_trip(h, b) }
        #[test] fn match_ref(h in head(), b in any::<MatchRef>()) { round_trip(h, b) }
        #[test] fn match_view(h in head(), b in any::<MatchView>()) { round_trip(h, b) }
        // A short page is enough (100 matches of 100 options each made this one test take 40 s).
        #[test] fn match_items(h in head(), b in proptest::collection::vec(any::<MatchView>(), 0..8).prop_map(|items| Items { items })) { round_trip(h, b) }
        #[test] fn place_bet(h in head(), b in any::<PlaceBet>()) { round_trip(h, b) }
        #[test] fn bet_placed(h in head(), b in any::<BetPlaced>()) { round_trip(h, b) }
        #[test] fn odds_changed(h in head(), b in any::<OddsChanged>()) { round_trip(h, b) }
        #[test] fn bet_ref(h in head(), b in any::<BetRef>()) { round_trip(h, b) }
        #[test] fn bet_view(h in head(), b in any::<BetView>()) { round_trip(h, b) }
        #[test] fn bet_items(h in head(), b in any::<Items<BetView>>()) { round_trip(h, b) }
        #[test] fn bet_settled_push(h in head(), b in any::<BetSettledPush>()) { round_trip(h, b) }
        #[test] fn match_state_push(h in head(), b in any::<MatchStatePush>()) { round_trip(h, b) }
        #[test] fn announcement_push(h in head(), b in any::<AnnouncementPush>()) { round_trip(h, b) }
        #[test] fn balance_push(h in head(), b in any::<BalancePush>()) { round_trip(h, b) }

        #[test]
        fn routed_elements_round_trip(conn in any::<u64>(), uid in any::<u64>(), unbind in any::<bool>(),
                                      frame in proptest::collection::vec(any::<u8>(), 0..300)) {
            let route = Route { conn, all: false, bind: Some(Bind { uid, sid: "s".into() }), unbind, close: None };
            let el = encode_routed(&route, &frame).unwrap();
            let (r, f) = decode_routed(&el).unwrap();
            prop_assert_eq!(r, route);
            prop_assert_eq!(f, &frame[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_client_frame(&bytes);
            let _ = decode_routed(&bytes);
            let _ = frame_to_json(&bytes);
        }
    }

    #[test]
    fn the_splice_keeps_the_body_and_takes_the_head_from_connect() {
        // A client head that tries to say who it is and where it comes from.
        let sneaky = [
            ("id", mp_uint(401)),
            ("seq", mp_uint(9)),
            ("ver", mp_str("1.2")),
            ("uid", mp_uint(1)),
            ("sid", mp_str("stolen")),
            ("node", mp_str("evil")),
            ("group", mp_uint(99)),
            ("trace", mp_str("t0")),
        ];
        let mut frame = vec![0x92, 0x80 | sneaky.len() as u8];
        for (k, v) in sneaky {
            rmp::encode::write_str(&mut frame, k).unwrap();
            frame.extend(v);
        }
        let body = rmp_serde::to_vec_named(&BetRef { bet_id: 5 }).unwrap();
        frame.extend(&body);
        let (head, raw) = decode_client_frame(&frame).unwrap();
        assert_eq!(head, ClientHead { id: 401, seq: 9, ver: Some("1.2".into()) });

        let origin = Origin {
            node: "n1".into(),
            conn: 7,
            uid: None,
            sid: None,
            group: 1,
            addr: "10.0.0.1:5".into(),
            ts: 1000,
            trace: "abc".into(),
        };
        let element = splice_client_frame(head.clone(), origin.clone(), raw).unwrap();
        let (internal, spliced) = split_frame::<InternalHead>(&element).unwrap();
        assert_eq!(internal, origin.enrich(head));
        assert_eq!(
            (internal.uid, internal.sid.as_deref(), internal.node.as_str(), internal.group),
            (None, None, "n1", 1)
        );
        assert_eq!(spliced, &body[..], "the body bytes pass through unchanged");
    }

    fn mp_uint(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        rmp::encode::write_uint(&mut out, n).unwrap();
        out
    }

    fn mp_str(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        rmp::encode::write_str(&mut out, s).unwrap();
        out
    }

    /// Found by fuzz/head_splice: a JSON body nested deeper than MAX_DEPTH (serde_json allows 128)
    /// was forwarded, and logic refused it as undecodable (dead list, no answer to the client).
    #[test]
    fn json_bodies_have_the_msgpack_nesting_limit() {
        let json = |depth: usize| format!("[{{\"id\":100,\"seq\":1}},{}{}]", "[".repeat(depth), "]".repeat(depth));
        let mp = |depth: usize| {
            let mut f = encode_frame(&ClientHead { id: 100, seq: 1, ver: None }, &()).unwrap();
            f.pop();
            f.extend(std::iter::repeat_n(0x91, depth - 1));
            f.push(0x90);
            f
        };
        let deepest = MAX_DEPTH - 1;
        let (_, body) = parse_json_frame(&json(deepest)).unwrap();
        assert_eq!(body, decode_client_frame(&mp(deepest)).unwrap().1, "the same body either way");
        let element = encode_frame_raw(&internal_head(), &body).unwrap();
        assert!(split_frame::<InternalHead>(&element).is_ok(), "logic decodes what connect forwards");

        assert!(matches!(decode_client_frame(&mp(deepest + 1)), Err(FrameError::Body(_))));
        assert!(matches!(parse_json_frame(&json(deepest + 1)), Err(FrameError::Body(_))));
        assert!(matches!(parse_json_frame(&json(100)), Err(FrameError::Body(_))));
    }

    fn internal_head() -> InternalHead {
        Origin {
            node: "n1".into(),
            conn: 7,
            uid: Some(3),
            sid: None,
            group: 1,
            addr: "127.0.0.1:1".into(),
            ts: 1,
            trace: "t".into(),
        }
        .enrich(ClientHead { id: 100, seq: 1, ver: None })
    }

    #[test]
    fn reply_heads_are_maps_with_named_fields() {
        let frame = encode_frame(&ReplyHead { id: 100, seq: 9, code: 0 }, &PingReply { ts: 5 }).unwrap();
        assert_eq!(frame_to_json(&frame).unwrap(), r#"[{"id":100,"seq":9,"code":0},{"ts":5}]"#);
    }

    #[test]
    fn malformed_frames_are_named() {
        assert_eq!(decode_client_frame(b"garbage").unwrap_err(), FrameError::NotAPair);
        assert_eq!(decode_client_frame(&[0x91, 0x80]).unwrap_err(), FrameError::NotAPair);
        // [ {}, {} ] : head without id/seq
        assert!(matches!(decode_client_frame(&[0x92, 0x80, 0x80]), Err(FrameError::Head(_))));
        // a truncated body
        let mut f = encode_frame(
            &ClientHead { id: 1, seq: 1, ver: None },
            &Credentials { username: "a".into(), password: "b".into() },
        )
        .unwrap();
        f.truncate(f.len() - 1);
        assert!(matches!(decode_client_frame(&f), Err(FrameError::Body(_))));
        // trailing bytes after the body
        let mut f = encode_frame(&ClientHead { id: 1, seq: 1, ver: None }, &Empty {}).unwrap();
        f.push(0xc0);
        assert_eq!(decode_client_frame(&f).unwrap_err(), FrameError::Trailing(1));
        // nesting beyond the limit: 100 nested one-element arrays
        let mut deep = vec![0x92, 0x82, 0xa2, b'i', b'd', 0x01, 0xa3, b's', b'e', b'q', 0x01];
        deep.extend(std::iter::repeat_n(0x91, 100));
        deep.push(0xc0);
        assert!(matches!(decode_client_frame(&deep), Err(FrameError::Body(_))));
        assert!(matches!(parse_json_frame("[{\"id\":1}]"), Err(FrameError::Json(_))));
    }
}
