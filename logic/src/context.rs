//! What every handler gets: Redis, settings, and the password hasher.

use std::sync::Arc;
use std::time::Duration;

use common::config::{LogicConfig, OrdersConfig};
use common::ids::ShardedIds;
use common::{Config, Redis};

use crate::handlers::Dispatch;
use crate::password::Hasher;

/// Shared state of a logic process, built once. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub redis: Redis,
    pub cfg: Arc<LogicConfig>,
    /// Players' deposit orders (212, 213).
    pub orders: Arc<OrdersConfig>,
    pub hasher: Hasher,
    pub stats: Arc<crate::Stats>,
    pub dispatch: Arc<Dispatch>,
    /// The Lua handler set (docs/lua.md), swapped whole on reload.
    pub lua: Arc<crate::lua::LuaHandlers>,
    /// Known match types and the page cap (from `matches`).
    pub match_types: Arc<Vec<String>>,
    pub max_page: usize,
    /// Bet ids in each bettor's shard, [`BET_ID_BLOCK`] per round trip and shard.
    pub bet_ids: Arc<ShardedIds>,
    /// How long a connect node's reply list outlives its last reply (a dead node's expires).
    pub reply_ttl: Duration,
    /// The group this process serves: replies go to `q:l2c:{group}:{node}`, in the group queue's slot.
    pub group: u32,
    /// Uploaded avatars' store (206).
    pub avatars: crate::avatars::AvatarStore,
}

/// Bet ids a logic process takes from a shard's `seq:bet` at once.
pub const BET_ID_BLOCK: u64 = 32;

impl Ctx {
    pub fn new(redis: Redis, cfg: &Config, stats: Arc<crate::Stats>, dispatch: Dispatch) -> anyhow::Result<Ctx> {
        let hasher = Hasher::new(&cfg.logic, stats.clone())?;
        Ok(Ctx {
            cfg: Arc::new(cfg.logic.clone()),
            orders: Arc::new(cfg.orders.clone()),
            hasher,
            stats,
            dispatch: Arc::new(dispatch),
            lua: Arc::new(crate::lua::LuaHandlers::new(crate::lua::Limits::from_config(&cfg.logic))),
            match_types: Arc::new(cfg.matches.types.clone()),
            max_page: cfg.matches.max_page,
            bet_ids: Arc::new(ShardedIds::new(|s| redis.keys.bet_seq(s), BET_ID_BLOCK)),
            reply_ttl: Duration::from_millis(cfg.queue.node_list_ttl_ms()),
            group: cfg.node.group,
            avatars: crate::avatars::AvatarStore::LocalDisk { dir: cfg.logic.avatar_dir.clone().into() },
            redis,
        })
    }
}
