//! Reading a folder into a [`HandlerSet`]: every `*.lua` directly in it is a handler module that
//! returns `{ msg_ids = { ... }, handle = function(ctx, head, body) ... end }`; every
//! `redis/*.lua` is a Redis script the modules may call with `ctx.script(name, ...)`.
//!
//! A module may serve an extension msg id ([`EXTENSION_IDS`]) no other module serves, or — only with
//! `logic.lua_override` — the id of a built-in handler. Anything else fails the whole load, naming
//! the file (and the line, for Lua errors).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use common::Redis;
use mlua::{ChunkMode, Function, Table, Value};
use protocol::MsgId;

use super::ctx::Shipped;
use super::sandbox;
use super::{HandlerSet, Limits, LuaHandler};
use crate::handlers::Dispatch;

/// Msg ids for extension requests (docs/protocol.md, "Extensions").
pub const EXTENSION_IDS: std::ops::RangeInclusive<MsgId> = 500..=899;

/// Why a folder did not load. The message names the file (and line).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

fn err(msg: impl Into<String>) -> LoadError {
    LoadError(msg.into())
}

/// `*.lua` files of `dir` (not recursive), sorted.
fn lua_files(dir: &Path) -> Result<Vec<String>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".lua") && entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(name);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads every module of `dir` into a new Lua state and SCRIPT LOADs its Redis scripts.
pub async fn load(dir: &Path, limits: &Limits, builtin: &Dispatch, redis: &Redis) -> Result<HandlerSet, LoadError> {
    let scripts = load_scripts(dir, redis).await?;
    let lua = sandbox::new_state(dir, limits.memory_bytes, limits.cpu)
        .map_err(|e| err(format!("cannot set up the Lua state: {e}")))?;
    let mut handlers: HashMap<MsgId, LuaHandler> = HashMap::new();
    let modules = lua_files(dir)?;
    for file in &modules {
        let path = dir.join(file);
        let source = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        let chunk = lua
            .load(source)
            .set_name(format!("@{}", path.display()))
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|e| err(e.to_string()))?;
        // Module top-level code runs under 10 times a call's CPU budget.
        let value = sandbox::run_sync(&lua, chunk, limits.cpu * 10).map_err(|e| err(e.to_string()))?;
        let Value::Table(module) = value else {
            return Err(err(format!(
                "{}: the module must return a table {{ msg_ids = {{...}}, handle = function(ctx, head, body) ... end }}",
                path.display()
            )));
        };
        let (ids, func) = shape(&module).map_err(|why| err(format!("{}: {why}", path.display())))?;
        let name: Arc<str> = Arc::from(file.as_str());
        for id in ids {
            if let Some(other) = handlers.get(&id) {
                return Err(err(format!("{}: msg id {id} is already served by {}", path.display(), other.module)));
            }
            if builtin.lookup(id).is_some() {
                if !limits.allow_override {
                    return Err(err(format!(
                        "{}: msg id {id} is served by a built-in handler; set logic.lua_override = true to replace it",
                        path.display()
                    )));
                }
            } else if !EXTENSION_IDS.contains(&id) {
                return Err(err(format!(
                    "{}: msg id {id} is outside the extension range {}..={} (and not a built-in handler's)",
                    path.display(),
                    EXTENSION_IDS.start(),
                    EXTENSION_IDS.end()
                )));
            }
            handlers.insert(id, LuaHandler { module: name.clone(), func: func.clone() });
        }
    }
    let binder = super::ctx::binder(&lua).map_err(|e| err(format!("cannot set up ctx: {e}")))?;
    Ok(HandlerSet { state: Some((lua, binder)), handlers, scripts: Arc::new(scripts), modules })
}

/// The msg ids and `handle` of a module's table.
fn shape(module: &Table) -> Result<(Vec<MsgId>, Function), String> {
    // Raw reads: a metamethod of the module's table would run outside any CPU budget.
    let ids: Table = module.raw_get("msg_ids").map_err(|_| "msg_ids must be a list of msg ids".to_owned())?;
    let mut out = Vec::new();
    for v in ids.sequence_values::<Value>() {
        let v = v.map_err(|e| e.to_string())?;
        match v {
            Value::Integer(i) if (1..=i64::from(MsgId::MAX)).contains(&i) => out.push(i as MsgId),
            other => return Err(format!("msg_ids: {other:?} is not a msg id (1..=65535)")),
        }
    }
    if out.is_empty() {
        return Err("msg_ids is empty".to_owned());
    }
    let handle: Function =
        module.raw_get("handle").map_err(|_| "handle must be a function(ctx, head, body)".to_owned())?;
    Ok((out, handle))
}

/// `redis/*.lua` of `dir`, loaded into Redis (a script Redis refuses fails the load).
async fn load_scripts(dir: &Path, redis: &Redis) -> Result<HashMap<String, Shipped>, LoadError> {
    let sub = dir.join("redis");
    let mut out = HashMap::new();
    if !sub.is_dir() {
        return Ok(out);
    }
    for file in lua_files(&sub)? {
        let path = sub.join(&file);
        let source = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        let script = common::store::module_script::load(redis, source).await.map_err(|e| {
            let why = e.refusal().map_or_else(|| e.to_string(), str::to_owned);
            err(format!("{}: Redis refused the script: {why}", path.display()))
        })?;
        out.insert(file.trim_end_matches(".lua").to_owned(), script);
    }
    Ok(out)
}
