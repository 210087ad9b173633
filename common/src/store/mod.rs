//! The typed store: the one place that evaluates Redis scripts.
//!
//! One file per script in `redis-scripts/`, named after it, holding only its binding:
//! - `Args`: the script's inputs as named, typed fields (ids, coins, times — not key names: the
//!   binding builds KEYS from [`crate::keys`] and ARGV from `Args`, in the order the header lists);
//! - `Outcome`: one variant per reply the script's header lists (`Placed { bid, balance, odds,
//!   repeated }`, `NotOpen { state }`, ...), deriving `strum::VariantNames`;
//! - `call(redis, &args) -> Result<Outcome, StoreError>`.
//!
//! Handlers, gm, resultcenter, pushsvr, dbsvr, bench and tests call these; nobody else builds
//! ARGV or evaluates a script (`tests/it/store.rs` greps the tree). A script's header names the
//! variant of each reply — `-- Reply:   Placed  {0, bid, balance, odds, repeated}  ...` — and
//! [`outcomes`] lists each binding's variants, so a test fails when a reply in a header has no
//! variant or a script has no binding.
//!
//! Errors are [`StoreError`]: transient (Redis away, timeout, LOADING, READONLY, BUSY, MOVED, ...)
//! or permanent; callers map transient to "busy, retry" (code 6, HTTP 503) once, in their error type.

mod error;
mod reply;
pub mod scripts;

pub mod module_script;

pub mod account_delete;
pub mod account_link;
pub mod ack;
pub mod claim;
pub mod dead_letter;
pub mod dead_requeue;
pub mod grant_approval;
pub mod grant_budget;
pub mod inbox_take;
pub mod login_guard;
pub mod market_create;
pub mod match_copy;
pub mod match_create;
pub mod match_edit;
pub mod match_finish;
pub mod match_odds;
pub mod match_transition;
pub mod min_bet;
pub mod notice_publish;
pub mod notice_withdraw;
pub mod order_create;
pub mod password_change;
pub mod place_bet;
pub mod profile_set;
pub mod push_user;
pub mod rate_limit;
pub mod register;
pub mod requeue;
pub mod sched_due;
pub mod session_open;
pub mod settle_batch;
pub mod staff_set;
pub mod staff_token;
pub mod uname_claim;
pub mod uname_release;
pub mod user_ban;
pub mod user_unban;
pub mod wallet_change;

pub use error::{StoreError, is_transient};
pub use reply::Reply;
pub use scripts::{ScriptName, Scripts};
