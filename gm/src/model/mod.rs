//! Request and response bodies of the API, and their validation.
//!
//! By what they are about: matches.rs (matches, imports, odds, results), users.rs (users, staff,
//! bans), wallet.rs (grants, payments), ops.rs (announcements, figures, nodes, drain, queues), record.rs (reports, the
//! audit log, and user and bet lists: what gm reads from MySQL).

mod matches;
mod ops;
mod record;
mod users;
mod wallet;

pub use self::matches::*;
pub use self::ops::*;
pub use self::record::*;
pub use self::users::*;
pub use self::wallet::*;

/// The most coins one stake (a match's `max_stake`), grant or payment may move. With odds at most
/// [`MAX_ODDS`] every payout stays below 2^53, where the Lua scripts' arithmetic (doubles) is exact.
pub const MAX_COINS: i64 = 1_000_000_000_000;
/// The highest odds, in thousandths (1000.0).
pub const MAX_ODDS: i64 = 1_000_000;
