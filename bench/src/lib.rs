//! # matchday-bench
//!
//! The project's own measurements, run with `matchday bench <scenario>` against the configured Redis
//! under a fresh key prefix (removed afterwards), each reported next to the machine's ceiling — what
//! Redis alone does with the same work in the same run — and the ratio of the two.
//!
//! - [`settle`]: the settle rate of resultcenter (bets/s) vs the settle script driven directly.
//! - [`flush`]: dbsvr's flush rate (records/s) vs MySQL writes alone, and its lag at a steady load.
//! - [`bets`]: place-bet throughput end to end (WebSocket clients, connect, logic, gm; in process or
//!   against a running deployment), closed loop or fixed arrival rate, its latency, and the check
//!   that every coin is accounted for; [`ceiling`]: the same bet's Redis commands alone;
//!   [`minimal`]: the least a bet can cost in Redis. Each with its [`Cost`]: Redis CPU and commands
//!   per bet from Redis's own counters, each process's share of a core, and the wall.
//! - `--verify` ([`DurableReport`]): after `bets` or `settle`, dbsvr flushes the run into a scratch
//!   MySQL database, `verify` compares, `restore` rebuilds a fresh prefix that is verified too.
//! - [`lua`]: what a Lua handler costs — the same balance read answered by the built-in Rust handler
//!   and by a Lua module, through connect and logic in process, alternating phases.
//! - [`idle`]: connect's resident memory per idle WebSocket connection (connect as a child
//!   process, N clients from several source addresses, capped by the open-files limit).

mod bets;
mod ceiling;
mod child;
mod cost;
mod durable;
mod flush;
mod idle;
mod load;
mod loops;
mod lua;
mod minimal;
mod services;
mod settle;
mod staff;

pub use bets::{BetsOptions, BetsReport, Target, bets};
pub use ceiling::ceiling;
pub use cost::{Cost, CpuShare, RedisCost};
pub use durable::DurableReport;
pub use flush::{FlushReport, flush};
pub use idle::{IdleOptions, IdleReport, idle};
pub use loops::CeilingReport;
pub use lua::{LUA_MSG, LuaPhase, LuaReport, lua};
pub use minimal::minimal;
pub use settle::{SettleReport, settle};

/// Prints `line(count so far, count in the last second)` to stderr every second, until the returned
/// task is aborted: the progress line of long runs.
pub(crate) fn progress(
    count: impl Fn() -> u64 + Send + 'static,
    line: impl Fn(u64, u64) -> String + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (mut last, mut tick) = (0, tokio::time::interval(std::time::Duration::from_secs(1)));
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = count();
            eprintln!("{}", line(now, now - last));
            last = now;
        }
    })
}

/// A fresh key prefix for one run, `bench:xxxxxxxx:`.
pub(crate) fn fresh_prefix() -> String {
    format!("bench:{}:", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Removes every key under the run's prefix.
pub(crate) async fn cleanup(redis: &common::Redis) {
    if let Err(e) = redis.delete_prefix().await {
        tracing::warn!(error = %e, prefix = redis.keys.prefix(), "bench: cannot remove the run's keys");
    }
}
