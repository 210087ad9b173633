//! Error codes of replies (`head.code`). 0 is success, 1..99 framework, 1000+ domain.
//! docs/protocol.md is tested against [`ErrorCode::ALL`].

/// The most coins a wallet may hold (10^15), far below 2^53 so that the Lua scripts, whose numbers
/// are doubles, count every coin exactly. Every script that credits a wallet enforces it: a grant,
/// payment or `ctx.credit` past it is refused (wallet_change.lua), a sign-up grant past it too
/// (register.lua), and a bet whose potential payout would take the balance plus the potential
/// payouts of the user's open bets past it is refused (place_bet.lua, 1006), so a payout never
/// passes it (settle_batch.lua). The scripts hard-code the value; tests/it/store/money.rs checks that they
/// agree with this constant. Caps elsewhere: a stake, grant or payment moves at most 10^12 coins, and
/// odds are at most 1000.0, so one payout is at most 10^15.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// What a bet of `stake` at `odds` (thousandths) pays if it wins: floor(stake × odds / 1000), computed
/// as settle_batch.lua and place_bet.lua do (no product past 2^53).
pub fn potential_payout(stake: i64, odds: i64) -> i64 {
    stake / 1000 * odds + stake % 1000 * odds / 1000
}

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
    /// An extension: the credit would take the balance past [`MAX_BALANCE`] (a Lua module's
    /// `ctx.credit`).
    BalanceLimit = 1010,
    /// An extension: 209 link_account on an account that already has a username and password.
    AlreadyLinked = 1011,
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
        ErrorCode::BalanceLimit,
        ErrorCode::AlreadyLinked,
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
            ErrorCode::BalanceLimit => "balance_limit",
            ErrorCode::AlreadyLinked => "already_linked",
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
            ErrorCode::BalanceLimit => "the balance would pass the most a wallet may hold",
            ErrorCode::AlreadyLinked => "the account already has a username and password",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_potential_payout_is_the_floor_of_stake_times_odds_even_past_2_pow_53() {
        assert_eq!(potential_payout(10, 1850), 18);
        assert_eq!(potential_payout(1_999, 2_100), 4_197);
        // 10^12 at 1000.0: the product (10^18) is past 2^53, the formula never forms it.
        assert_eq!(potential_payout(1_000_000_000_000, 1_000_000), MAX_BALANCE);
        assert_eq!(potential_payout(999_999_999_999, 1_000_001), (999_999_999_999i128 * 1_000_001 / 1000) as i64);
    }

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
