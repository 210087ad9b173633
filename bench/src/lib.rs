//! # matchday-bench
//!
//! The project's own measurements, run with `matchday bench <scenario>` against the configured Redis
//! under a fresh key prefix (removed afterwards), each reported next to the machine's ceiling — what
//! Redis alone does with the same work in the same run — and the ratio of the two.
//!
//! - [`settle`]: the settle rate of resultcenter (bets/s) vs the settle script driven directly.
//! - [`flush`]: dbsvr's flush rate (records/s) vs MySQL writes alone, and its lag at a steady load.
//! - [`fixtures`]: books of bets built through the production scripts (shared with tests).

pub mod fixtures;
mod flush;
mod settle;

pub use flush::{FlushReport, flush};
pub use settle::{SettleReport, settle};
