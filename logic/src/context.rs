//! What every handler gets: Redis, settings, and the password hasher.

use std::sync::Arc;

use common::Redis;
use common::config::LogicConfig;

use crate::handlers::Dispatch;
use crate::password::Hasher;

/// Shared state of a logic process, built once. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub redis: Redis,
    pub cfg: Arc<LogicConfig>,
    pub hasher: Hasher,
    pub stats: Arc<crate::Stats>,
    pub dispatch: Arc<Dispatch>,
}

impl Ctx {
    pub fn new(redis: Redis, cfg: LogicConfig, stats: Arc<crate::Stats>, dispatch: Dispatch) -> anyhow::Result<Ctx> {
        let hasher = Hasher::new(&cfg)?;
        Ok(Ctx { redis, cfg: Arc::new(cfg), hasher, stats, dispatch: Arc::new(dispatch) })
    }
}
