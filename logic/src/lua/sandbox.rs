//! The Lua state a handler set runs in, and the limits of one call.
//!
//! - Only the `table`, `string`, `math` and `utf8` libraries and the safe part of the base library:
//!   no `os`, `io`, `debug`, `package`, `coroutine`; no `load`, `dofile`, `loadfile`,
//!   `collectgarbage`, `print`, `string.dump`. Chunks are text only (no precompiled bytecode).
//! - `require(name)` loads `<folder>/<name with dots as slashes>.lua` and nothing else (names are
//!   letters, digits and `_`, dot-separated; the `redis/` folder is not Lua for this state).
//! - `setmetatable` refuses `__gc` (a finalizer would run outside any call's limits); `error` and
//!   `assert` turn a table into a string before raising it (its `__tostring` runs under the hook).
//! - CPU: a hook every [`HOOK_EVERY`] instructions checks the call's [`Budget`]; past it the call
//!   is stopped with an error that `pcall`/`xpcall` cannot swallow (they re-raise it).
//! - Memory: `Lua::set_memory_limit` for the whole state (`logic.lua_memory_kib`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{ChunkMode, Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

/// Instructions between two checks of the CPU budget.
pub const HOOK_EVERY: u32 = 1000;

/// ctx functions that wait for Redis one call may use.
pub const MAX_REDIS_CALLS: u32 = 200;

/// Why a call was stopped from outside the script.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error("CPU time limit of {0} ms exceeded")]
    Cpu(u64),
}

/// The running time one call (or one module load) may use. Time spent waiting for Redis (inside
/// [`Budget::waiting`]) and waiting for the Lua state's lock does not count: the clock runs only
/// from the first hook after each resume.
pub struct Budget {
    limit: Duration,
    state: Mutex<Meter>,
}

#[derive(Default)]
struct Meter {
    used: Duration,
    resumed_at: Option<Instant>,
    stopped: bool,
    redis_calls: u32,
}

impl Budget {
    pub fn new(limit: Duration) -> Arc<Budget> {
        Arc::new(Budget { limit, state: Mutex::new(Meter::default()) })
    }

    /// Called by the hook: Err once the budget is spent (and on every later call).
    fn check(&self) -> mlua::Result<VmState> {
        let mut m = self.state.lock().expect("budget lock");
        let now = Instant::now();
        match m.resumed_at {
            None => m.resumed_at = Some(now),
            Some(at) => {
                m.used += now - at;
                m.resumed_at = Some(now);
            }
        }
        if m.stopped || m.used > self.limit {
            m.stopped = true;
            return Err(mlua::Error::external(Stopped::Cpu(self.limit.as_millis() as u64)));
        }
        Ok(VmState::Continue)
    }

    /// Runs `fut` (a Redis round trip) off the budget. A call may make at most
    /// [`MAX_REDIS_CALLS`] (so a loop of Redis calls, which uses little CPU, still ends).
    pub async fn waiting<F: std::future::Future>(&self, fut: F) -> mlua::Result<F::Output> {
        self.pause()?;
        Ok(fut.await)
    }

    fn pause(&self) -> mlua::Result<()> {
        let mut m = self.state.lock().expect("budget lock");
        if let Some(at) = m.resumed_at.take() {
            m.used += at.elapsed();
        }
        m.redis_calls += 1;
        if m.redis_calls > MAX_REDIS_CALLS {
            return Err(mlua::Error::runtime(format!("more than {MAX_REDIS_CALLS} Redis calls in one handler call")));
        }
        Ok(())
    }

    /// Whether the budget ran out (the call's answer is then code 1, whatever the script did).
    pub fn stopped(&self) -> bool {
        self.state.lock().expect("budget lock").stopped
    }

    /// The hook to install on a thread (or the main state) running under this budget.
    pub fn hook(self: &Arc<Self>) -> impl Fn(&Lua, &mlua::Debug) -> mlua::Result<VmState> + Send + 'static {
        let budget = self.clone();
        move |_, _| budget.check()
    }
}

/// The hook triggers used with [`Budget::hook`].
pub fn triggers() -> HookTriggers {
    HookTriggers::new().every_nth_instruction(HOOK_EVERY)
}

/// Whether a Lua error value is one a script must not catch: a stop, or running out of memory.
fn fatal(value: &Value) -> bool {
    match value {
        Value::Error(e) => is_fatal(e),
        Value::String(s) => s.to_str().is_ok_and(|s| s.contains("not enough memory")),
        _ => false,
    }
}

/// Whether an mlua error is (or wraps) a stop or a memory error.
pub fn is_fatal(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Stopped>().is_some(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => is_fatal(cause),
        _ => false,
    }
}

/// Lua-side wrappers: `pcall`/`xpcall` re-raise fatal errors; `setmetatable` refuses `__gc`.
const PRELUDE: &str = r#"
local fatal, raw_pcall, raw_xpcall, raw_setmetatable, error, rawget, type, tostring, select =
  ...
-- A table raised as an error would be turned into a string by the host, outside the CPU hook
-- (an endless __tostring would hang the worker): turn it into a string here, under the hook.
local function plain(msg)
  if type(msg) == 'table' then return tostring(msg) end
  return msg
end
_G.error = function(msg, level)
  level = level or 1
  error(plain(msg), level > 0 and level + 1 or 0)
end
_G.assert = function(ok, ...)
  if ok then return ok, ... end
  if select('#', ...) == 0 then error('assertion failed!', 2) end
  error(plain((...)), 0)
end
local function pass(ok, ...)
  if not ok and fatal((...)) then error((...), 0) end
  return ok, ...
end
pcall = function(f, ...) return pass(raw_pcall(f, ...)) end
xpcall = function(f, handler, ...)
  return pass(raw_xpcall(f, function(e) if fatal(e) then return e end return handler(e) end, ...))
end
setmetatable = function(t, mt)
  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then
    error('__gc metamethods are not allowed in handler modules', 2)
  end
  return raw_setmetatable(t, mt)
end
"#;

/// A new sandboxed state for the modules of `dir`, holding at most `memory` bytes.
pub fn new_state(dir: &Path, memory: usize, cpu: Duration) -> mlua::Result<Lua> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::UTF8, LuaOptions::default())?;
    let g = lua.globals();
    for name in ["dofile", "loadfile", "load", "loadstring", "collectgarbage", "print", "require", "module"] {
        g.raw_set(name, Value::Nil)?;
    }
    let string: Table = g.get("string")?;
    string.raw_set("dump", Value::Nil)?;

    let prelude = lua.load(PRELUDE).set_name("=sandbox").set_mode(ChunkMode::Text).into_function()?;
    let is_fatal = lua.create_function(|_, v: Value| Ok(fatal(&v)))?;
    let pcall: Function = g.get("pcall")?;
    let xpcall: Function = g.get("xpcall")?;
    let setmetatable: Function = g.get("setmetatable")?;
    let error: Function = g.get("error")?;
    let rawget: Function = g.get("rawget")?;
    let type_: Function = g.get("type")?;
    let tostring: Function = g.get("tostring")?;
    let select: Function = g.get("select")?;
    prelude.call::<()>((is_fatal, pcall, xpcall, setmetatable, error, rawget, type_, tostring, select))?;

    g.raw_set("require", require_fn(&lua, dir.to_path_buf(), cpu)?)?;
    lua.set_memory_limit(memory)?;
    Ok(lua)
}

/// Whether `name` is a module name `require` accepts.
fn valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        && name.split('.').next() != Some("redis")
}

/// `require(name)`: a module of the folder, loaded once per handler set.
fn require_fn(lua: &Lua, dir: PathBuf, cpu: Duration) -> mlua::Result<Function> {
    let cache = lua.create_table()?;
    lua.create_function(move |lua, name: String| {
        if !valid_module_name(&name) {
            return Err(mlua::Error::runtime(format!(
                "require {name:?}: only modules of the handler folder (names of letters, digits and _, dot-separated)"
            )));
        }
        match cache.raw_get::<Value>(name.as_str())? {
            Value::Nil => {}
            Value::Boolean(false) => return Err(mlua::Error::runtime(format!("require {name:?}: circular require"))),
            loaded => return Ok(loaded),
        }
        let path = dir.join(format!("{}.lua", name.replace('.', "/")));
        let source = std::fs::read_to_string(&path)
            .map_err(|e| mlua::Error::runtime(format!("require {name:?}: cannot read {}: {e}", path.display())))?;
        cache.raw_set(name.as_str(), false)?;
        let chunk = lua.load(source).set_name(format!("@{}", path.display())).set_mode(ChunkMode::Text).into_function();
        let result = chunk.and_then(|f| run_sync(lua, f, cpu));
        match result {
            Ok(value) => {
                let value = if value.is_nil() { Value::Boolean(true) } else { value };
                cache.raw_set(name.as_str(), value.clone())?;
                Ok(value)
            }
            Err(e) => {
                cache.raw_set(name.as_str(), Value::Nil)?;
                Err(e)
            }
        }
    })
}

/// Runs `f` to completion on a thread of its own under a fresh CPU budget (module top-level code:
/// at load, and in `require`). It may not call the async parts of `ctx`.
pub fn run_sync(lua: &Lua, f: Function, cpu: Duration) -> mlua::Result<Value> {
    let thread = lua.create_thread(f)?;
    let budget = Budget::new(cpu);
    thread.set_hook(triggers(), budget.hook())?;
    let value = thread.resume::<Value>(())?;
    if thread.status() == mlua::ThreadStatus::Resumable {
        return Err(mlua::Error::runtime("a module's top-level code may not yield"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert!(valid_module_name("util"));
        assert!(valid_module_name("lib.money_2"));
        for bad in ["", "../x", "a..b", "a/b", "redis.x", "x.lua.", "/etc/passwd"] {
            assert!(!valid_module_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_sandbox_has_no_way_out_and_stops_endless_loops() {
        let dir = std::env::temp_dir();
        let lua = new_state(&dir, 8 << 20, Duration::from_millis(30)).unwrap();
        for escape in [
            "return os.execute('true')",
            "return io.open('/etc/passwd')",
            "return load('return 1')()",
            "return dofile('/etc/passwd')",
            "return debug.getinfo(1)",
            "return package.loaded",
            "return require('../etc/passwd')",
            "return string.dump(print)",
            "return collectgarbage('stop')",
            "return setmetatable({}, {__gc = function() end})",
        ] {
            let f = lua.load(escape).into_function().unwrap();
            assert!(run_sync(&lua, f, Duration::from_millis(30)).is_err(), "{escape} ran");
        }
        let endless = lua.load("while true do pcall(function() while true do end end) end").into_function().unwrap();
        let e = run_sync(&lua, endless, Duration::from_millis(30)).unwrap_err();
        assert!(is_fatal(&e), "{e}");
        let fine = lua.load("local ok, e = pcall(error, 'x') return ok").into_function().unwrap();
        assert_eq!(run_sync(&lua, fine, Duration::from_millis(30)).unwrap(), Value::Boolean(false));
    }
}
