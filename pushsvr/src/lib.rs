//! # matchday-pushsvr (being built)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Config, Shutdown};

/// Counters of a pushsvr process, readable by tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub handled: AtomicU64,
}

impl Stats {
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }
}

/// Runs pushsvr until shutdown.
pub async fn run(cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run_with(cfg, shutdown, Arc::new(Stats::default())).await
}

/// [`run`], counting into `stats`.
pub async fn run_with(_cfg: Config, shutdown: Shutdown, _stats: Arc<Stats>) -> anyhow::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}
