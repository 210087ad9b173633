//! The `ctx` a Lua handler gets: a table built per call, narrow and typed (docs/lua.md).
//!
//! | field / function | what |
//! |---|---|
//! | `ctx.uid`, `ctx.msg_id`, `ctx.module` | the logged-in user (nil before login), the msg id, the module's file |
//! | `ctx.now_ms()`, `ctx.today()` | server time (Unix ms), the UTC day number (days since 1970-01-01) |
//! | `ctx.log(level, msg)` | a log line (debug, info, warn, error) naming the module |
//! | `ctx.fail(code, msg)` | answer with an error code (catalogue code or 5000..=5999) |
//! | `ctx.balance(uid?)`, `ctx.profile(uid?)` | a user's coins; `{ user_id, username, created_at }` or nil |
//! | `ctx.credit(amount, reason, once)` | credit the caller through wallet_change.lua, once per `once` |
//! | `ctx.script(name, keys, args)` | a Redis script the folder ships (`redis/<name>.lua`) on `ext:` keys |
//! | `ctx.push(msg_id, body)`, `ctx.schedule(delay_ms, msg_id, body)` | a push (950..=999) to the caller, now or later |
//!
//! Money moves only through `ctx.credit` (an atomic, ledger-writing, idempotent script); the
//! Redis keys a script may touch are `ext:*` ones, named by the module and prefixed here.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use common::Redis;
use common::events::Event;
use common::store::wallet_change;
use fred::prelude::*;
use mlua::{Lua, LuaSerdeExt, Table, Value as LuaValue};

use super::sandbox::Budget;

/// Extension push ids a module may send.
pub const PUSH_IDS: std::ops::RangeInclusive<u16> = 950..=999;
/// Extension error codes a module may answer with (besides the catalogue's).
pub const ERROR_CODES: std::ops::RangeInclusive<u16> = 5000..=5999;
/// The longest delay `ctx.schedule` takes: 30 days.
const MAX_DELAY_MS: i64 = 30 * 24 * 3600 * 1000;
/// The most one `ctx.credit` may add.
pub const MAX_CREDIT: i64 = 1_000_000;

/// `ctx.fail(code, msg)`: the error a script raises to answer with a code.
#[derive(Debug, thiserror::Error)]
#[error("ctx.fail({code}): {msg}")]
pub struct Fail {
    pub code: u16,
    pub msg: String,
}

/// Finds a [`Fail`] in an error's chain.
pub fn find_fail(e: &mlua::Error) -> Option<&Fail> {
    match e {
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Fail>(),
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => find_fail(cause),
        _ => None,
    }
}

/// A Redis script the folder ships: its source and SHA-1.
pub type Shipped = common::store::module_script::ModuleScript;

/// What the functions of one call's `ctx` share.
#[derive(Clone)]
pub struct CallEnv {
    pub redis: Redis,
    pub uid: Option<u64>,
    pub msg_id: u16,
    /// The module's file name (e.g. `daily_bonus.lua`).
    pub module: Arc<str>,
    pub budget: Arc<Budget>,
    /// The Redis scripts the folder ships, by name.
    pub scripts: Arc<HashMap<String, Shipped>>,
}

impl CallEnv {
    fn caller(&self) -> mlua::Result<u64> {
        self.uid.ok_or_else(|| mlua::Error::external(Fail { code: 4, msg: "not logged in".into() }))
    }
}

fn redis_err(what: &str, e: fred::error::Error) -> mlua::Error {
    tracing::warn!(error = %e, "Redis command failed in a Lua handler ({what})");
    mlua::Error::external(Fail { code: 6, msg: "service unavailable, try again".into() })
}

fn bad(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(msg.into())
}

// A call's CallEnv reaches the shared Rust functions as a userdata only the call's own closures hold.
impl mlua::UserData for CallEnv {}

/// Makes one call's `ctx` from its env, the shared functions bound to it by small Lua closures:
/// cheap to run per call (one table, one userdata, seven closures), where a Rust callback per
/// function per call would allocate and register ten.
const BINDER: &str = r#"
local f = ...
return function(env, uid, msg_id, module)
  return {
    uid = uid, msg_id = msg_id, module = module,
    now_ms = f.now_ms, today = f.today, fail = f.fail,
    log = function(level, msg) return f.log(env, level, msg) end,
    balance = function(uid) return f.balance(env, uid) end,
    profile = function(uid) return f.profile(env, uid) end,
    credit = function(amount, reason, once) return f.credit(env, amount, reason, once) end,
    script = function(name, keys, args) return f.script(env, name, keys, args) end,
    push = function(id, body) return f.push(env, id, body) end,
    schedule = function(delay_ms, id, body) return f.schedule(env, delay_ms, id, body) end,
  }
end
"#;

/// A call's env, as the shared functions take it (their first argument).
type Env = mlua::UserDataRef<CallEnv>;

/// Creates the `ctx` functions once for a Lua state; returns the function that makes one call's
/// `ctx` table (`binder(env, uid, msg_id, module)`, see [`build`]).
pub fn binder(lua: &Lua) -> mlua::Result<mlua::Function> {
    let f = lua.create_table()?;
    f.raw_set("now_ms", lua.create_function(|_, ()| Ok(common::time::now_ms()))?)?;
    f.raw_set("today", lua.create_function(|_, ()| Ok(common::time::day_of(common::time::now_ms())))?)?;
    f.raw_set(
        "log",
        lua.create_function(|_, (e, level, msg): (Env, String, String)| {
            let module = &e.module;
            match level.as_str() {
                "debug" => tracing::debug!(lua.module = %module, "{msg}"),
                "info" => tracing::info!(lua.module = %module, "{msg}"),
                "warn" => tracing::warn!(lua.module = %module, "{msg}"),
                "error" => tracing::error!(lua.module = %module, "{msg}"),
                other => return Err(bad(format!("ctx.log: unknown level {other:?} (debug, info, warn, error)"))),
            }
            Ok(())
        })?,
    )?;

    f.raw_set(
        "fail",
        lua.create_function(|_, (code, msg): (u16, Option<String>)| -> mlua::Result<()> {
            let known = protocol::ErrorCode::from_code(code).filter(|c| c.code() != 0);
            if known.is_none() && !ERROR_CODES.contains(&code) {
                return Err(bad(format!("ctx.fail: code {code} is neither in the catalogue nor in 5000..=5999")));
            }
            let msg = msg.unwrap_or_else(|| known.map_or("failed", |c| c.message()).to_owned());
            Err(mlua::Error::external(Fail { code, msg }))
        })?,
    )?;

    f.raw_set(
        "balance",
        lua.create_async_function(|_, (e, uid): (Env, Option<u64>)| {
            let e = e.clone();
            async move {
                let uid = match uid {
                    Some(uid) => uid,
                    None => e.caller()?,
                };
                let balance: Option<i64> = e
                    .budget
                    .waiting(e.redis.pool.hget(e.redis.keys.wallet(uid), "balance"))
                    .await?
                    .map_err(|x| redis_err("balance", x))?;
                Ok(balance.unwrap_or(0))
            }
        })?,
    )?;

    f.raw_set(
        "profile",
        lua.create_async_function(|lua, (e, uid): (Env, Option<u64>)| {
            let e = e.clone();
            async move {
                let uid = match uid {
                    Some(uid) => uid,
                    None => e.caller()?,
                };
                let (username, created_at): (Option<String>, Option<u64>) = e
                    .budget
                    .waiting(e.redis.pool.hmget(e.redis.keys.user(uid), vec!["username", "created_at"]))
                    .await?
                    .map_err(|x| redis_err("profile", x))?;
                match (username, created_at) {
                    (Some(username), Some(created_at)) => {
                        let t = lua.create_table()?;
                        t.raw_set("user_id", uid)?;
                        t.raw_set("username", username)?;
                        t.raw_set("created_at", created_at)?;
                        Ok(LuaValue::Table(t))
                    }
                    _ => Ok(LuaValue::Nil),
                }
            }
        })?,
    )?;

    f.raw_set(
        "credit",
        lua.create_async_function(|_, (e, amount, reason, once): (Env, i64, String, String)| {
            let e = e.clone();
            async move { credit(&e, amount, &reason, &once).await }
        })?,
    )?;

    f.raw_set(
        "script",
        lua.create_async_function(
            |lua, (e, name, keys, args): (Env, String, Option<Vec<String>>, Option<Vec<LuaValue>>)| {
                let e = e.clone();
                async move { script(&lua, &e, &name, keys.unwrap_or_default(), args.unwrap_or_default()).await }
            },
        )?,
    )?;

    f.raw_set(
        "push",
        lua.create_async_function(|lua, (e, id, body): (Env, u16, LuaValue)| {
            let e = e.clone();
            async move {
                let member = push_event(&lua, &e, id, body)?;
                let lane = e.redis.keys.notify(common::shards::Home::Global);
                common::written::note(lane.as_bytes());
                let _: i64 =
                    e.budget.waiting(e.redis.pool.lpush(lane, member)).await?.map_err(|x| redis_err("push", x))?;
                Ok(())
            }
        })?,
    )?;

    f.raw_set(
        "schedule",
        lua.create_async_function(|lua, (e, delay_ms, id, body): (Env, i64, u16, LuaValue)| {
            let e = e.clone();
            async move {
                if !(0..=MAX_DELAY_MS).contains(&delay_ms) {
                    return Err(bad(format!("ctx.schedule: delay_ms must be between 0 and {MAX_DELAY_MS}")));
                }
                let member = push_event(&lua, &e, id, body)?;
                let due = common::time::now_ms() as i64 + delay_ms;
                let sched = e.redis.keys.sched();
                common::written::note(sched.as_bytes());
                let _: i64 = e
                    .budget
                    .waiting(e.redis.pool.zadd(sched, None, None, false, false, (due as f64, member)))
                    .await?
                    .map_err(|x| redis_err("schedule", x))?;
                Ok(())
            }
        })?,
    )?;
    lua.load(BINDER).set_name("=ctx").set_mode(mlua::ChunkMode::Text).call(f)
}

/// Builds the `ctx` table of one call with the state's `binder`.
pub fn build(lua: &Lua, binder: &mlua::Function, env: CallEnv) -> mlua::Result<Table> {
    let (uid, msg_id, module) = (env.uid, env.msg_id, env.module.clone());
    binder.call((lua.create_userdata(env)?, uid, msg_id, &*module))
}

/// The `user_push` event for the caller (MessagePack, as pushsvr reads it).
fn push_event(lua: &Lua, e: &CallEnv, id: u16, body: LuaValue) -> mlua::Result<Bytes> {
    if !PUSH_IDS.contains(&id) {
        return Err(bad(format!("ctx.push: msg id {id} is not an extension push id (950..=999)")));
    }
    let uid = e.caller()?;
    let body: serde_json::Value = lua.from_value(body)?;
    if !body.is_object() {
        return Err(bad("ctx.push: the body must be a table with named fields"));
    }
    let event = Event::UserPush { uid, id, body, ts: common::time::now_ms(), nonce: uuid_like() };
    Ok(Bytes::from(rmp_serde::to_vec_named(&event).map_err(mlua::Error::external)?))
}

/// A random hex string (no uuid dependency in logic).
fn uuid_like() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

/// `ctx.credit`: wallet_change.lua for the caller, idempotent by (module, caller, `once`).
async fn credit(e: &CallEnv, amount: i64, reason: &str, once: &str) -> mlua::Result<(i64, bool)> {
    use protocol::fields::{CREDIT_ONCE_MAX, CREDIT_REASON_MAX, LUA_GRANT_ID_MAX, LUA_MODULE_MAX};
    let uid = e.caller()?;
    if !(1..=MAX_CREDIT).contains(&amount) {
        return Err(bad(format!("ctx.credit: amount must be between 1 and {MAX_CREDIT}")));
    }
    if once.is_empty() || once.len() > CREDIT_ONCE_MAX || reason.is_empty() || reason.len() > CREDIT_REASON_MAX {
        return Err(bad(format!(
            "ctx.credit: reason (1..{CREDIT_REASON_MAX} bytes) and once (1..{CREDIT_ONCE_MAX} bytes) are required"
        )));
    }
    // The id and the ledger ref must fit their MySQL columns (grant_requests.request_id,
    // ledger.ref), or dbsvr could not write the credit: the module's name is bounded too.
    if e.module.len() > LUA_MODULE_MAX + ".lua".len() {
        return Err(bad(format!(
            "ctx.credit: the module's file name is longer than {LUA_MODULE_MAX} bytes (without .lua); rename it to credit"
        )));
    }
    // The grant record of staff grants, under an id no staff request id takes (`lua:` prefix).
    let id = format!("lua:{}:{uid}:{once}", e.module.trim_end_matches(".lua"));
    debug_assert!(id.len() <= LUA_GRANT_ID_MAX);
    let reference = format!("lua:{}", e.module);
    let args = wallet_change::Args {
        uid,
        delta: amount,
        reason,
        reference: &reference,
        now_ms: common::time::now_ms(),
        once: Some(wallet_change::Once::Grant { request_id: &id }),
        audit: &[],
    };
    let outcome = e.budget.waiting(wallet_change::call(&e.redis, &args)).await?.map_err(|x| {
        if x.is_transient() {
            tracing::warn!(error = %x, "Redis unavailable in a Lua handler (credit)");
            mlua::Error::external(Fail { code: 6, msg: "service unavailable, try again".into() })
        } else {
            bad(format!("ctx.credit: {x}"))
        }
    })?;
    match outcome {
        wallet_change::Outcome::Changed { balance, repeated } => Ok((balance, repeated)),
        wallet_change::Outcome::NoUser => {
            Err(mlua::Error::external(Fail { code: 1007, msg: format!("no user {uid}") }))
        }
        wallet_change::Outcome::BalanceLimit { room, .. } => Err(mlua::Error::external(Fail {
            code: protocol::ErrorCode::BalanceLimit.code(),
            msg: format!("the balance would pass the most a wallet may hold: at most {room} more fits"),
        })),
        other => Err(bad(format!("ctx.credit: wallet_change.lua answered {other:?}"))),
    }
}

/// Whether `name` may name an `ext:` key.
fn valid_ext_key(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// `ctx.script(name, keys, args)`: EVALSHA a script of the folder, with `ext:` keys.
async fn script(lua: &Lua, e: &CallEnv, name: &str, keys: Vec<String>, args: Vec<LuaValue>) -> mlua::Result<LuaValue> {
    let script = e
        .scripts
        .get(name)
        .ok_or_else(|| bad(format!("ctx.script: no script {name:?} in the folder's redis/")))?
        .clone();
    if let Some(key) = keys.iter().find(|k| !valid_ext_key(k)) {
        return Err(bad(format!("ctx.script: bad key name {key:?} (letters, digits, _ - . : only)")));
    }
    let mut argv = Vec::with_capacity(args.len());
    for arg in args {
        argv.push(match arg {
            LuaValue::Integer(i) => fred::types::Value::Integer(i),
            LuaValue::Number(n) => fred::types::Value::Double(n),
            LuaValue::String(s) => fred::types::Value::Bytes(Bytes::copy_from_slice(&s.as_bytes())),
            LuaValue::Boolean(b) => fred::types::Value::from(if b { "1" } else { "0" }),
            other => {
                return Err(bad(format!(
                    "ctx.script: argument of type {} (numbers, strings, booleans only)",
                    other.type_name()
                )));
            }
        });
    }
    let call = common::store::module_script::call(&e.redis, &script, &keys, argv);
    let value: fred::types::Value = e.budget.waiting(call).await?.map_err(|x| {
        if x.is_transient() {
            tracing::warn!(error = %x, "Redis unavailable in a Lua handler (script)");
            mlua::Error::external(Fail { code: 6, msg: "service unavailable, try again".into() })
        } else {
            bad(format!("ctx.script {name:?}: {}", x.refusal().map_or_else(|| x.to_string(), str::to_owned)))
        }
    })?;
    to_lua(lua, value)
}

/// A Redis reply as a Lua value (nil inside an array becomes false, as in Redis's own Lua).
fn to_lua(lua: &Lua, value: fred::types::Value) -> mlua::Result<LuaValue> {
    use fred::types::Value as R;
    Ok(match value {
        R::Null => LuaValue::Nil,
        R::Boolean(b) => LuaValue::Boolean(b),
        R::Integer(i) => LuaValue::Integer(i),
        R::Double(d) => LuaValue::Number(d),
        R::String(s) => LuaValue::String(lua.create_string(s.as_bytes())?),
        R::Bytes(b) => LuaValue::String(lua.create_string(&b)?),
        R::Array(items) => {
            let t = lua.create_table()?;
            for (i, item) in items.into_iter().enumerate() {
                let v = match item {
                    R::Null => LuaValue::Boolean(false),
                    other => to_lua(lua, other)?,
                };
                t.raw_set(i + 1, v)?;
            }
            LuaValue::Table(t)
        }
        other => return Err(bad(format!("ctx.script: unsupported reply {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_key_names() {
        assert!(valid_ext_key("streak:board"));
        assert!(valid_ext_key("bonus.v2_a-1"));
        for bad in ["", "a b", "x{1}", "../x", "a*"] {
            assert!(!valid_ext_key(bad), "{bad}");
        }
    }
}
