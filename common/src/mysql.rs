//! The MySQL pool every process that reads or writes the record uses (dbsvr writes it; gm reads
//! reports, the audit log, users and bets from it; restore and verify read it).

use std::time::Duration;

use anyhow::Context;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlPoolOptions;

/// A pool of at most `size` connections to `url`. Connects lazily: it does not fail while MySQL is
/// down (connections are made on use, and a use waits at most 3 s for one).
pub fn pool(url: &str, size: u32) -> anyhow::Result<MySqlPool> {
    MySqlPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(url)
        .context("mysql.url is not a valid MySQL URL")
}
