//! The longest value of every text field that ends up in a MySQL column, one named constant each,
//! next to the column that stores it (`sql/`). The code that validates a field uses its constant;
//! `tests/it/columns.rs` reads the migrated schema and fails when a limit outgrows its column, because
//! a value MySQL refuses is dead-lettered by dbsvr and the row (a credit, a bet) is missing from
//! MySQL.
//!
//! Limits are in bytes (`str::len`). A VARCHAR(n) in utf8mb4 holds n characters, and a string never
//! has more characters than bytes, so a byte limit of at most n always fits.

/// The longest decimal u64 (a user id, a bet id): 18446744073709551615.
pub const U64_DIGITS: usize = 20;

/// `users.username` VARCHAR(64): register takes 3 to 32 of a-z, A-Z, 0-9, '_', '.', '-'.
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// A guest's device id (105): never stored; `users.device` VARCHAR(64) holds its SHA-256 in hex.
pub const DEVICE_ID_MIN: usize = 16;
pub const DEVICE_ID_MAX: usize = 128;

/// `bets.req_id` VARCHAR(64): the client's request id of a bet (401 place bet).
pub const BET_REQ_ID_MAX: usize = 64;

/// A match option's key: `bets.option_key` VARCHAR(64) and `matches.result` VARCHAR(64) (a bet's
/// option must be one of its match's keys, and so must a result).
pub const OPTION_KEY_MAX: usize = 32;
/// A match option's label (inside `matches.options`, TEXT).
pub const OPTION_LABEL_MAX: usize = 100;
/// `matches.title` VARCHAR(255).
pub const MATCH_TITLE_MAX: usize = 200;
/// `matches.team_a` / `team_b` VARCHAR(128).
pub const TEAM_NAME_MAX: usize = 100;
/// `matches.stream_url` VARCHAR(512): where a match is streamed (an http(s) URL).
pub const STREAM_URL_MAX: usize = 500;
/// `matches.market` VARCHAR(128): a market's name.
pub const MARKET_NAME_MAX: usize = 100;
/// `matches.type` VARCHAR(32): each of the configured `matches.types`.
pub const MATCH_TYPE_MAX: usize = 32;
/// `matches.external_id` VARCHAR(128): a feed's id of an imported match.
pub const EXTERNAL_ID_MAX: usize = 100;

/// `payments.order_id` VARCHAR(64), also the ledger `ref` of a payment.
pub const ORDER_ID_MAX: usize = 64;
/// `orders.channel` VARCHAR(32): each of the configured `orders.channels` (checked at start).
pub const ORDER_CHANNEL_MAX: usize = 32;
/// `profiles.nickname` VARCHAR(96): a nickname, in characters (205).
pub const NICKNAME_MAX: usize = 24;
/// `profiles.avatar_url` VARCHAR(512): an avatar's URL, in bytes (205).
pub const AVATAR_URL_MAX: usize = 512;

/// A staff grant's `request_id` (`grant_requests.request_id` VARCHAR(255)).
pub const REQUEST_ID_MAX: usize = 64;

/// A staff member's name (`gm.tokens[].name`, checked at start): `gm_audit.who` and
/// `user_bans.changed_by` VARCHAR(64).
pub const STAFF_NAME_MAX: usize = 64;
/// A staff reason (grants, bans): `user_bans.reason` VARCHAR(255), and part of a grant's ref.
pub const STAFF_REASON_MAX: usize = 200;
/// A staff grant's ledger ref, `"{staff}: {reason}"`: `ledger.ref` VARCHAR(512).
pub const GRANT_REF_MAX: usize = STAFF_NAME_MAX + ": ".len() + STAFF_REASON_MAX;

/// `ctx.credit`'s reason: `ledger.reason` VARCHAR(64) (the built-in reasons are shorter words).
pub const CREDIT_REASON_MAX: usize = 64;
/// `ctx.credit`'s `once`: the caller's part of the credit's idempotency id.
pub const CREDIT_ONCE_MAX: usize = 128;
/// The file name of a Lua module that calls `ctx.credit`, without `.lua`.
pub const LUA_MODULE_MAX: usize = 64;
/// A Lua credit's id, `lua:{module}:{uid}:{once}`: `grant_requests.request_id` VARCHAR(255).
pub const LUA_GRANT_ID_MAX: usize = "lua:".len() + LUA_MODULE_MAX + 1 + U64_DIGITS + 1 + CREDIT_ONCE_MAX;
/// A Lua credit's ledger ref, `lua:{module}.lua`: `ledger.ref` VARCHAR(512).
pub const LUA_CREDIT_REF_MAX: usize = "lua:".len() + LUA_MODULE_MAX + ".lua".len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_limits_add_up() {
        let grant_ref = format!("{}: {}", "s".repeat(STAFF_NAME_MAX), "r".repeat(STAFF_REASON_MAX));
        assert_eq!(grant_ref.len(), GRANT_REF_MAX);
        let id = format!("lua:{}:{}:{}", "m".repeat(LUA_MODULE_MAX), u64::MAX, "o".repeat(CREDIT_ONCE_MAX));
        assert_eq!(id.len(), LUA_GRANT_ID_MAX);
        assert_eq!(u64::MAX.to_string().len(), U64_DIGITS);
    }
}
