//! Running one Lua handler for one frame: `handle(ctx, head, body)` on a coroutine of its own with
//! its own CPU budget; the return value is the reply body. Errors become error replies: a
//! `ctx.fail(code, msg)` answers that code; anything else (a runtime error, a stop, memory) answers
//! code 1 and is logged with the script's file:line.

use std::sync::Arc;

use mlua::{LuaSerdeExt, Value};
use protocol::ErrorCode;

use super::ctx::{self, CallEnv};
use super::sandbox::{self, Budget};
use super::{HandlerSet, LuaHandler};
use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

/// Runs `handler` of `set` for `req`.
pub async fn call(set: &HandlerSet, handler: &LuaHandler, ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let Some((lua, binder)) = &set.state else {
        return Err(AppError::internal("a Lua handler without a Lua state"));
    };
    let body: serde_json::Value = req.body()?;
    let budget = Budget::new(ctx.lua.limits().cpu);
    let env = CallEnv {
        redis: ctx.redis.clone(),
        uid: req.head.uid,
        msg_id: req.head.id,
        module: handler.module.clone(),
        budget: budget.clone(),
        scripts: Arc::clone(&set.scripts),
    };
    let result = run(lua, binder, handler, env, req, &body, &budget).await;
    if budget.stopped() {
        tracing::error!(lua.module = %handler.module, limit_ms = ctx.lua.limits().cpu.as_millis() as u64,
            "Lua handler stopped: CPU time limit exceeded; answered with code 1");
        metrics::counter!("matchday_logic_lua_stopped_total", "why" => "cpu").increment(1);
        return Err(AppError::code(ErrorCode::Internal));
    }
    match result {
        Ok(value) => {
            let body: serde_json::Value = match value {
                Value::Nil => serde_json::Value::Object(Default::default()),
                v @ Value::Table(_) => lua
                    .from_value(v)
                    .map_err(|e| AppError::internal(format!("{}: the reply cannot be encoded: {e}", handler.module)))?,
                other => {
                    return Err(AppError::internal(format!(
                        "{}: handle returned a {}; it must return a table (the reply body) or nil",
                        handler.module,
                        other.type_name()
                    )));
                }
            };
            Reply::new(&body)
        }
        Err(e) => Err(to_app_error(&handler.module, &e)),
    }
}

async fn run(
    lua: &mlua::Lua,
    binder: &mlua::Function,
    handler: &LuaHandler,
    env: CallEnv,
    req: &Request,
    body: &serde_json::Value,
    budget: &Arc<Budget>,
) -> mlua::Result<Value> {
    let ctx_table = ctx::build(lua, binder, env)?;
    let head = lua.create_table()?;
    head.raw_set("id", req.head.id)?;
    head.raw_set("seq", req.head.seq)?;
    head.raw_set("uid", req.head.uid)?;
    head.raw_set("trace", req.head.trace.as_str())?;
    let body = lua.to_value(body)?;
    let thread = lua.create_thread(handler.func.clone())?;
    thread.set_hook(sandbox::triggers(), budget.hook())?;
    thread.into_async::<Value>((ctx_table, head, body))?.await
}

/// The error reply for a failed call, logged once here.
fn to_app_error(module: &str, e: &mlua::Error) -> AppError {
    if let Some(fail) = ctx::find_fail(e) {
        return match ErrorCode::from_code(fail.code) {
            Some(code) => AppError::new(code, fail.msg.clone()),
            None => AppError::extension(fail.code, fail.msg.clone()),
        };
    }
    let why = if sandbox::is_fatal(e) { "memory" } else { "error" };
    metrics::counter!("matchday_logic_lua_stopped_total", "why" => why).increment(1);
    // The message carries the script's file:line (chunks are named after their files).
    tracing::error!(lua.module = %module, error = %e, "Lua handler failed; answered with code 1");
    AppError::code(ErrorCode::Internal)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// What the error log line of a failed call carries: the script's file and line.
    #[tokio::test]
    async fn a_runtime_error_names_the_file_and_line() {
        let dir = std::env::temp_dir();
        let lua = sandbox::new_state(&dir, 8 << 20, Duration::from_millis(50)).unwrap();
        let module: mlua::Table = lua
            .load("return { handle = function(ctx)\n  local t = nil\n  return t.x\nend }")
            .set_name("@/srv/lua/mod.lua")
            .eval()
            .unwrap();
        let f: mlua::Function = module.get("handle").unwrap();
        let thread = lua.create_thread(f).unwrap();
        let e = thread.into_async::<Value>(()).unwrap().await.unwrap_err();
        assert!(e.to_string().contains("/srv/lua/mod.lua:3:"), "{e}");
        let app = to_app_error("mod.lua", &e);
        assert_eq!(app.wire_code(), 1);
    }
}

#[cfg(test)]
mod hostile_errors {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_table_raised_with_an_endless_tostring_is_stopped_not_hung() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let r = rt.block_on(async {
                let dir = std::env::temp_dir();
                let lua = sandbox::new_state(&dir, 8 << 20, Duration::from_millis(50)).unwrap();
                let f: mlua::Function = lua
                    .load("return function() error(setmetatable({}, {__tostring = function() while true do end end})) end")
                    .eval()
                    .unwrap();
                let thread = lua.create_thread(f).unwrap();
                let budget = Budget::new(Duration::from_millis(50));
                thread.set_hook(sandbox::triggers(), budget.hook()).unwrap();
                let r = thread.into_async::<Value>(()).unwrap().await;
                format!("{r:?}")
            });
            tx.send(r).unwrap();
        });
        // (The thread would spin forever if the host stringified the error outside the hook.)
        let r = rx.recv_timeout(Duration::from_secs(5)).expect("the call hung");
        assert!(r.contains("Cpu"), "{r}");
    }
}
