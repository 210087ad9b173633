//! The machine-readable description of the client protocol (feature `schema`): every message with
//! its direction, request and reply bodies and the error codes it may answer, the heads, the error
//! bodies and the error catalogue, as one JSON Schema (2020-12) document. Its `$defs` hold every
//! head and body type (generated from the types themselves by `schemars`); its `x-matchday` member
//! holds the catalogue, naming those types. Checked in as `docs/schema/protocol.json`
//! (`matchday schema` prints it; `tests/it/protocol_doc.rs` fails when the file and the code
//! disagree); the TypeScript client's types are generated from that file.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::body::*;
use crate::head::{ClientHead, ReplyHead};
use crate::msg::{self, Direction, MsgId};
use crate::{ErrorCode, error_code};

/// One message of the contract: its bodies (names of `$defs`) and its own error codes.
struct Spec {
    id: MsgId,
    /// The request body (requests) or the push body (pushes).
    body: fn(&mut SchemaGenerator) -> String,
    /// The reply body of a request (None for a push).
    reply: Option<fn(&mut SchemaGenerator) -> String>,
    /// The codes this message answers besides the framework codes every request may get.
    errors: &'static [ErrorCode],
}

/// The `$defs` name of `T`, adding its schema (and those it uses) to the generator.
fn def<T: JsonSchema>(g: &mut SchemaGenerator) -> String {
    let reference = g.subschema_for::<T>();
    let pointer = reference.get("$ref").and_then(Value::as_str).expect("a body type is referenceable");
    pointer.rsplit('/').next().expect("a $ref has a name").to_owned()
}

const fn request(
    id: MsgId,
    body: fn(&mut SchemaGenerator) -> String,
    reply: fn(&mut SchemaGenerator) -> String,
    errors: &'static [ErrorCode],
) -> Spec {
    Spec { id, body, reply: Some(reply), errors }
}

const fn push(id: MsgId, body: fn(&mut SchemaGenerator) -> String) -> Spec {
    Spec { id, body, reply: None, errors: &[] }
}

use ErrorCode as E;

/// Every message of [`msg::CATALOGUE`], in its order (a test holds them equal).
const SPECS: &[Spec] = &[
    request(msg::PING, def::<Empty>, def::<PingReply>, &[]),
    request(msg::REGISTER, def::<Credentials>, def::<RegisterReply>, &[E::UsernameTaken]),
    request(msg::LOGIN, def::<Credentials>, def::<SessionReply>, &[E::BadCredentials, E::AccountBanned]),
    request(msg::RESUME, def::<ResumeRequest>, def::<SessionReply>, &[E::SessionExpired, E::AccountBanned]),
    request(msg::LOGOUT, def::<Empty>, def::<Empty>, &[]),
    request(msg::GUEST_LOGIN, def::<GuestLogin>, def::<SessionReply>, &[E::AccountBanned]),
    request(msg::RESET_PASSWORD, def::<ResetPassword>, def::<PasswordReset>, &[E::BadCredentials]),
    request(msg::PROFILE, def::<Empty>, def::<ProfileReply>, &[]),
    request(msg::BALANCE, def::<Empty>, def::<BalanceReply>, &[]),
    request(msg::LEDGER, def::<Page>, def::<Items<LedgerItem>>, &[]),
    request(msg::CHANGE_PASSWORD, def::<ChangePassword>, def::<SessionsRevoked>, &[E::BadCredentials]),
    request(msg::SET_PROFILE, def::<SetProfile>, def::<ProfileReply>, &[]),
    request(msg::UPLOAD_AVATAR, def::<UploadAvatar>, def::<ProfileReply>, &[]),
    request(msg::LIST_SESSIONS, def::<Empty>, def::<Items<SessionView>>, &[]),
    request(msg::REVOKE_SESSION, def::<RevokeSession>, def::<SessionsRevoked>, &[E::NotFound]),
    request(msg::LINK_ACCOUNT, def::<Credentials>, def::<Linked>, &[E::UsernameTaken, E::AlreadyLinked]),
    request(msg::DELETE_ACCOUNT, def::<DeleteAccount>, def::<AccountDeleted>, &[E::BadCredentials]),
    request(msg::REGISTER_DEVICE, def::<RegisterDevice>, def::<Devices>, &[]),
    request(msg::CREATE_ORDER, def::<CreateOrder>, def::<OrderView>, &[E::AccountBanned]),
    request(msg::LIST_ORDERS, def::<Page>, def::<Items<OrderView>>, &[]),
    request(msg::LIST_NOTICES, def::<Page>, def::<Notices>, &[]),
    request(msg::MARK_NOTICES_READ, def::<MarkNoticesRead>, def::<Unread>, &[]),
    request(msg::LIST_MATCHES, def::<ListMatches>, def::<Items<MatchView>>, &[]),
    request(msg::MATCH_DETAIL, def::<MatchRef>, def::<MatchView>, &[E::NotFound]),
    request(msg::WATCH_MATCH, def::<WatchMatch>, def::<Empty>, &[E::NotFound]),
    request(msg::SUBSCRIBE_MATCH, def::<SubscribeMatch>, def::<Subscribed>, &[E::NotFound]),
    request(
        msg::PLACE_BET,
        def::<PlaceBet>,
        def::<BetPlaced>,
        &[E::InsufficientBalance, E::MatchNotOpen, E::OddsChanged, E::StakeOutOfRange, E::NotFound, E::AccountBanned],
    ),
    request(msg::MY_BETS, def::<Page>, def::<Items<BetView>>, &[]),
    request(msg::BET_DETAIL, def::<BetRef>, def::<BetView>, &[E::NotFound]),
    request(msg::LEADERBOARD, def::<LeaderboardQuery>, def::<LeaderboardReply>, &[]),
    push(msg::PUSH_BET_SETTLED, def::<BetSettledPush>),
    push(msg::PUSH_MATCH_STATE, def::<MatchStatePush>),
    push(msg::PUSH_ANNOUNCEMENT, def::<AnnouncementPush>),
    push(msg::PUSH_BALANCE, def::<BalancePush>),
    push(msg::PUSH_MATCH_UPDATED, def::<MatchView>),
    push(msg::PUSH_MATCH_EVENT, def::<MatchEventPush>),
];

/// The codes any request may be answered with, whatever its id.
pub const FRAMEWORK_CODES: &[ErrorCode] =
    &[E::Internal, E::BadFrame, E::UnknownMsg, E::NotLoggedIn, E::RateLimited, E::Unavailable, E::InvalidBody];

/// The body of an error reply with `code`: `{ msg }`, with more fields for some codes.
fn error_body(code: ErrorCode, g: &mut SchemaGenerator) -> String {
    match code {
        E::OddsChanged => def::<OddsChanged>(g),
        E::RateLimited => def::<RateLimited>(g),
        _ => def::<ErrorBody>(g),
    }
}

/// The whole document, as `docs/schema/protocol.json` holds it.
pub fn document() -> Value {
    let mut g = SchemaSettings::draft2020_12().into_generator();
    let client_head = def::<ClientHead>(&mut g);
    let reply_head = def::<ReplyHead>(&mut g);
    let messages: Vec<Value> = SPECS
        .iter()
        .map(|s| {
            let info = msg::info(s.id).expect("every spec is in the catalogue");
            let body = (s.body)(&mut g);
            match (info.direction, s.reply) {
                (Direction::Request, Some(reply)) => json!({
                    "id": s.id,
                    "name": info.name,
                    "direction": "request",
                    "session": msg::is_session(s.id),
                    "request": body,
                    "reply": reply(&mut g),
                    "errors": s.errors.iter().map(|c| c.code()).collect::<Vec<_>>(),
                }),
                (Direction::Push, None) => json!({
                    "id": s.id,
                    "name": info.name,
                    "direction": "push",
                    "body": body,
                }),
                _ => panic!("msg {}: a request needs a reply body and a push has none", s.id),
            }
        })
        .collect();
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|&c| {
            let mut entry = json!({ "code": c.code(), "name": c.name(), "message": c.message() });
            if c != E::Ok {
                entry["body"] = error_body(c, &mut g).into();
                entry["any_request"] = FRAMEWORK_CODES.contains(&c).into();
            }
            entry
        })
        .collect();
    let defs: serde_json::Map<String, Value> = g.take_definitions(true).into_iter().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "matchday client protocol",
        "description": "Every frame is the array [head, body], MessagePack (binary WebSocket message) or JSON \
            (text). A client sends a request with a ClientHead; it gets exactly one reply with a ReplyHead of \
            the same id and seq, whose body is the message's reply when code is 0 and the code's error body \
            otherwise. Pushes come with seq 0. Generated from the matchday-protocol crate: docs/protocol.md \
            explains it.",
        "x-matchday": {
            "protocol_version": env!("CARGO_PKG_VERSION"),
            "max_balance": error_code::MAX_BALANCE,
            "heads": { "request": client_head, "reply": reply_head },
            "messages": messages,
            "error_codes": codes,
        },
        "$defs": defs,
    })
}

/// The document as the checked-in file holds it: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::CATALOGUE;

    #[test]
    fn every_message_of_the_catalogue_has_its_spec_in_the_same_order() {
        let specs: Vec<MsgId> = SPECS.iter().map(|s| s.id).collect();
        let catalogue: Vec<MsgId> = CATALOGUE.iter().map(|m| m.id).collect();
        assert_eq!(specs, catalogue);
    }

    #[test]
    fn every_name_a_message_or_code_gives_is_defined() {
        let doc = document();
        let defs = doc["$defs"].as_object().unwrap();
        let x = &doc["x-matchday"];
        let mut named: Vec<&str> = vec![x["heads"]["request"].as_str().unwrap(), x["heads"]["reply"].as_str().unwrap()];
        for m in x["messages"].as_array().unwrap() {
            for field in ["request", "reply", "body"] {
                if let Some(name) = m[field].as_str() {
                    named.push(name);
                }
            }
            for code in m["errors"].as_array().into_iter().flatten() {
                let code = code.as_u64().unwrap() as u16;
                assert!(ErrorCode::from_code(code).is_some() && !FRAMEWORK_CODES.iter().any(|c| c.code() == code));
            }
        }
        for c in x["error_codes"].as_array().unwrap() {
            if let Some(name) = c["body"].as_str() {
                named.push(name);
            }
        }
        for name in named {
            assert!(defs.contains_key(name), "{name} is named but not in $defs");
        }
        // Generic pages get readable names.
        assert!(defs.contains_key("ItemsOfBetView"), "{:?}", defs.keys().collect::<Vec<_>>());
    }

    #[test]
    fn a_place_bet_request_and_its_odds_changed_body_are_described_field_by_field() {
        let doc = document();
        let bet = &doc["$defs"]["PlaceBet"];
        let required: Vec<&str> = bet["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(required, ["match_id", "option", "stake", "odds_ver", "req_id"]);
        assert_eq!(bet["properties"]["stake"]["type"], "integer");
        let odds = &doc["$defs"]["OddsChanged"]["properties"];
        assert!(odds.get("odds_ver").is_some() && odds.get("options").is_some() && odds.get("msg").is_some());
    }
}
