//! Lua handler modules (docs/lua.md): the handler set a process runs with, and its reload.
//!
//! - [`LuaHandlers`]: the current [`HandlerSet`] behind an `ArcSwap`. A frame takes one snapshot at
//!   its start ([`LuaHandlers::snapshot`]) and runs with it to the end; a reload builds a whole new
//!   set (a new Lua state) and swaps it in one store, so no frame sees a half-loaded set, and frames
//!   in flight finish with the set they started with.
//! - `load`: reading a folder into a set (modules, their msg ids, the Redis scripts they ship).
//! - `sandbox`: the Lua state's limits (libraries, `require`, CPU budget, memory).
//! - `ctx`: the API a handler gets.
//! - `call`: running one handler for one frame.

mod call;
mod ctx;
mod load;
mod sandbox;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use common::Redis;
use common::config::LogicConfig;
use mlua::{Function, Lua};
use protocol::MsgId;

pub use call::call;
pub use ctx::{ERROR_CODES, PUSH_IDS};
pub use load::{EXTENSION_IDS, LoadError};

use crate::handlers::Dispatch;

/// One handler of a set: the module it comes from and its `handle` function.
pub struct LuaHandler {
    /// The module's file name (`daily_bonus.lua`).
    pub module: Arc<str>,
    func: Function,
}

/// A loaded folder: one Lua state, its handlers by msg id, and the Redis scripts it ships.
#[derive(Default)]
pub struct HandlerSet {
    /// The Lua state and the function that makes one call's `ctx` in it (`ctx::binder`).
    state: Option<(Lua, Function)>,
    handlers: HashMap<MsgId, LuaHandler>,
    scripts: Arc<HashMap<String, ctx::Shipped>>,
    /// The module files, sorted.
    pub modules: Vec<String>,
}

impl HandlerSet {
    /// The handler of `id`, if a module serves it.
    pub fn get(&self, id: MsgId) -> Option<&LuaHandler> {
        self.handlers.get(&id)
    }

    /// The msg ids served, sorted.
    pub fn ids(&self) -> Vec<MsgId> {
        let mut ids: Vec<MsgId> = self.handlers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// One line for logs and reload answers: "2 modules (a.lua, b.lua), msg ids 501, 502".
    pub fn summary(&self) -> String {
        let ids: Vec<String> = self.ids().iter().map(|i| i.to_string()).collect();
        format!("{} module(s) [{}], msg ids [{}]", self.modules.len(), self.modules.join(", "), ids.join(", "))
    }
}

/// What limits every set of a process.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The folder; None = no Lua handlers.
    pub dir: Option<PathBuf>,
    pub allow_override: bool,
    pub cpu: Duration,
    pub memory_bytes: usize,
}

impl Limits {
    pub fn from_config(cfg: &LogicConfig) -> Limits {
        Limits {
            dir: (!cfg.lua_dir.is_empty()).then(|| PathBuf::from(&cfg.lua_dir)),
            allow_override: cfg.lua_override,
            cpu: Duration::from_millis(cfg.lua_cpu_ms),
            memory_bytes: (cfg.lua_memory_kib as usize).saturating_mul(1024),
        }
    }
}

/// The current handler set of a logic process, swapped whole on reload.
pub struct LuaHandlers {
    current: ArcSwap<HandlerSet>,
    limits: Limits,
    /// One reload at a time (two at once would race to store).
    reloading: tokio::sync::Mutex<()>,
}

impl LuaHandlers {
    /// An empty set (nothing loaded yet).
    pub fn new(limits: Limits) -> LuaHandlers {
        LuaHandlers { current: ArcSwap::from_pointee(HandlerSet::default()), limits, reloading: Default::default() }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The set a frame runs with, from its start to its end.
    pub fn snapshot(&self) -> Arc<HandlerSet> {
        self.current.load_full()
    }

    /// Loads the folder again and swaps the new set in; on any error the current set stays and the
    /// error (with file:line) is returned. Returns the new set's summary.
    pub async fn reload(&self, redis: &Redis, builtin: &Dispatch) -> Result<String, LoadError> {
        let _one = self.reloading.lock().await;
        let Some(dir) = &self.limits.dir else {
            return Ok("no Lua handlers configured (logic.lua_dir is empty)".to_owned());
        };
        let set = load::load(dir, &self.limits, builtin, redis).await?;
        let summary = set.summary();
        self.current.store(Arc::new(set));
        Ok(summary)
    }
}
