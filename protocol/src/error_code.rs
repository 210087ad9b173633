//! Error codes of replies (`head.code`). 0 is success, 1..99 framework, 1000+ domain.
//! docs/protocol.md is tested against [`ErrorCode::ALL`].

/// The `code` of a reply head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    Ok = 0,
    Internal = 1,
    BadFrame = 2,
    UnknownMsg = 3,
    NotLoggedIn = 4,
    RateLimited = 5,
    Unavailable = 6,
    InvalidBody = 7,
    BadCredentials = 1001,
    UsernameTaken = 1002,
    InsufficientBalance = 1003,
    MatchNotOpen = 1004,
    OddsChanged = 1005,
    StakeOutOfRange = 1006,
    NotFound = 1007,
    SessionExpired = 1008,
    /// An extension of the contract (DESIGN.md §13 stops at 1008): staff banned the account.
    AccountBanned = 1009,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::Ok,
        ErrorCode::Internal,
        ErrorCode::BadFrame,
        ErrorCode::UnknownMsg,
        ErrorCode::NotLoggedIn,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::InvalidBody,
        ErrorCode::BadCredentials,
        ErrorCode::UsernameTaken,
        ErrorCode::InsufficientBalance,
        ErrorCode::MatchNotOpen,
        ErrorCode::OddsChanged,
        ErrorCode::StakeOutOfRange,
        ErrorCode::NotFound,
        ErrorCode::SessionExpired,
        ErrorCode::AccountBanned,
    ];

    /// The number on the wire.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The code for a number, if it is in the catalogue.
    pub fn from_code(code: u16) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// A stable snake_case name (used in docs, logs and metrics labels).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::Ok => "ok",
            ErrorCode::Internal => "internal",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownMsg => "unknown_msg",
            ErrorCode::NotLoggedIn => "not_logged_in",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::UsernameTaken => "username_taken",
            ErrorCode::InsufficientBalance => "insufficient_balance",
            ErrorCode::MatchNotOpen => "match_not_open",
            ErrorCode::OddsChanged => "odds_changed",
            ErrorCode::StakeOutOfRange => "stake_out_of_range",
            ErrorCode::NotFound => "not_found",
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::AccountBanned => "account_banned",
        }
    }

    /// The default human message put in the error body `{ "msg": ... }`.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::Ok => "ok",
            ErrorCode::Internal => "internal error",
            ErrorCode::BadFrame => "bad frame: expected [head, body] as MessagePack or JSON",
            ErrorCode::UnknownMsg => "unknown message id",
            ErrorCode::NotLoggedIn => "not logged in",
            ErrorCode::RateLimited => "rate limited: slow down",
            ErrorCode::Unavailable => "service unavailable, try again",
            ErrorCode::InvalidBody => "invalid request body",
            ErrorCode::BadCredentials => "bad username or password",
            ErrorCode::UsernameTaken => "username taken",
            ErrorCode::InsufficientBalance => "insufficient balance",
            ErrorCode::MatchNotOpen => "match not open for betting",
            ErrorCode::OddsChanged => "odds changed",
            ErrorCode::StakeOutOfRange => "stake out of range",
            ErrorCode::NotFound => "no such match, option or bet",
            ErrorCode::SessionExpired => "session expired",
            ErrorCode::AccountBanned => "account banned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_sorted() {
        for w in ErrorCode::ALL.windows(2) {
            assert!(w[0].code() < w[1].code());
        }
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ErrorCode::from_code(999), None);
    }
}
