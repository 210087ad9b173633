//! Message ids (u16) and their catalogue. Ranges: 1xx session, 2xx account, 3xx matches, 4xx bets and
//! leaderboards, 9xx server pushes (500–899 and 950–999: Lua extensions, docs/lua.md). docs/protocol.md is tested against [`CATALOGUE`].

/// A message id, the `id` field of every head.
pub type MsgId = u16;

pub const PING: MsgId = 100;
pub const REGISTER: MsgId = 101;
pub const LOGIN: MsgId = 102;
pub const RESUME: MsgId = 103;
pub const LOGOUT: MsgId = 104;
pub const GUEST_LOGIN: MsgId = 105;
pub const RESET_PASSWORD: MsgId = 106;
pub const PROFILE: MsgId = 201;
pub const BALANCE: MsgId = 202;
pub const LEDGER: MsgId = 203;
pub const CHANGE_PASSWORD: MsgId = 204;
pub const SET_PROFILE: MsgId = 205;
pub const UPLOAD_AVATAR: MsgId = 206;
pub const LIST_SESSIONS: MsgId = 207;
pub const REVOKE_SESSION: MsgId = 208;
pub const LINK_ACCOUNT: MsgId = 209;
pub const DELETE_ACCOUNT: MsgId = 210;
pub const REGISTER_DEVICE: MsgId = 211;
pub const CREATE_ORDER: MsgId = 212;
pub const LIST_ORDERS: MsgId = 213;
pub const LIST_NOTICES: MsgId = 214;
pub const MARK_NOTICES_READ: MsgId = 215;
pub const LIST_MATCHES: MsgId = 301;
pub const MATCH_DETAIL: MsgId = 302;
pub const WATCH_MATCH: MsgId = 304;
pub const SUBSCRIBE_MATCH: MsgId = 305;
pub const PLACE_BET: MsgId = 401;
pub const MY_BETS: MsgId = 402;
pub const BET_DETAIL: MsgId = 403;
pub const LEADERBOARD: MsgId = 404;
pub const PUSH_BET_SETTLED: MsgId = 901;
pub const PUSH_MATCH_STATE: MsgId = 902;
pub const PUSH_ANNOUNCEMENT: MsgId = 903;
pub const PUSH_BALANCE: MsgId = 904;
pub const PUSH_MATCH_UPDATED: MsgId = 905;
pub const PUSH_MATCH_EVENT: MsgId = 906;

/// Who sends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the client; answered with exactly one reply of the same id and seq.
    Request,
    /// Sent by the server with `seq = 0`.
    Push,
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct MsgInfo {
    pub id: MsgId,
    pub name: &'static str,
    pub direction: Direction,
}

const fn req(id: MsgId, name: &'static str) -> MsgInfo {
    MsgInfo { id, name, direction: Direction::Request }
}

const fn push(id: MsgId, name: &'static str) -> MsgInfo {
    MsgInfo { id, name, direction: Direction::Push }
}

/// Every message id of the contract.
pub const CATALOGUE: &[MsgInfo] = &[
    req(PING, "ping"),
    req(REGISTER, "register"),
    req(LOGIN, "login"),
    req(RESUME, "resume"),
    req(LOGOUT, "logout"),
    req(GUEST_LOGIN, "guest_login"),
    req(RESET_PASSWORD, "reset_password"),
    req(PROFILE, "profile"),
    req(BALANCE, "balance"),
    req(LEDGER, "ledger"),
    req(CHANGE_PASSWORD, "change_password"),
    req(SET_PROFILE, "set_profile"),
    req(UPLOAD_AVATAR, "upload_avatar"),
    req(LIST_SESSIONS, "list_sessions"),
    req(REVOKE_SESSION, "revoke_session"),
    req(LINK_ACCOUNT, "link_account"),
    req(DELETE_ACCOUNT, "delete_account"),
    req(REGISTER_DEVICE, "register_device"),
    req(CREATE_ORDER, "create_order"),
    req(LIST_ORDERS, "list_orders"),
    req(LIST_NOTICES, "list_notices"),
    req(MARK_NOTICES_READ, "mark_notices_read"),
    req(LIST_MATCHES, "list_matches"),
    req(MATCH_DETAIL, "match_detail"),
    req(WATCH_MATCH, "watch_match"),
    req(SUBSCRIBE_MATCH, "subscribe_match"),
    req(PLACE_BET, "place_bet"),
    req(MY_BETS, "my_bets"),
    req(BET_DETAIL, "bet_detail"),
    req(LEADERBOARD, "leaderboard"),
    push(PUSH_BET_SETTLED, "push_bet_settled"),
    push(PUSH_MATCH_STATE, "push_match_state"),
    push(PUSH_ANNOUNCEMENT, "push_announcement"),
    push(PUSH_BALANCE, "push_balance"),
    push(PUSH_MATCH_UPDATED, "push_match_updated"),
    push(PUSH_MATCH_EVENT, "push_match_event"),
];

/// The catalogue entry of `id`, if it is a known message.
pub fn info(id: MsgId) -> Option<&'static MsgInfo> {
    CATALOGUE.iter().find(|m| m.id == id)
}

/// Session messages (1xx) are the only ones a connection may send before it is logged in.
pub fn is_session(id: MsgId) -> bool {
    (100..200).contains(&id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_and_names_are_unique_and_in_their_ranges() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            for b in &CATALOGUE[i + 1..] {
                assert_ne!(a.id, b.id, "duplicate id");
                assert_ne!(a.name, b.name, "duplicate name");
            }
            assert_eq!(a.direction == Direction::Push, a.id >= 900, "{} in the wrong range", a.name);
        }
        assert!(is_session(LOGOUT) && !is_session(PROFILE));
        assert_eq!(info(REGISTER).map(|m| m.name), Some("register"));
        assert!(info(999).is_none());
    }
}
