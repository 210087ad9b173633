//! The scripts a Lua handler folder ships (`logic.lua_dir`/redis/*.lua, run by `ctx.script`). They
//! are not known when matchday is built, so their binding is untyped — keys are names under `ext:`,
//! arguments and reply are Redis values — but they are loaded and evaluated here, like every other
//! script: EVALSHA, reloaded on NOSCRIPT, failures as [`StoreError`].

use fred::interfaces::LuaInterface;
use fred::types::Value;

use super::StoreError;
use crate::Redis;

/// A script of a handler folder, loaded into Redis.
#[derive(Clone, Debug)]
pub struct ModuleScript {
    pub source: String,
    pub sha: String,
}

/// SCRIPT LOAD `source` on every primary (a script Redis refuses is a [`StoreError::Refused`]
/// naming the error).
pub async fn load(redis: &Redis, source: String) -> Result<ModuleScript, StoreError> {
    let sha: String = redis.pool.next().script_load_cluster(source.clone()).await?;
    Ok(ModuleScript { source, sha })
}

/// EVALSHA `script` with `keys` (names under `ext:`, prefixed here) and `argv`; on NOSCRIPT (Redis
/// restarted or flushed its cache) it is loaded again and called once more.
pub async fn call(
    redis: &Redis,
    script: &ModuleScript,
    keys: &[String],
    argv: Vec<Value>,
) -> Result<Value, StoreError> {
    let full: Vec<String> = keys.iter().map(|k| redis.keys.ext(k)).collect();
    let named: Vec<fred::types::Key> = full.iter().map(|k| k.as_str().into()).collect();
    super::scripts::note_slots("a Lua handler folder's script", &named);
    if let Some(key) = full.first() {
        crate::written::note(key.as_bytes());
    }
    let pool = &redis.pool;
    let value = match pool.evalsha(script.sha.clone(), full.clone(), argv.clone()).await {
        Err(e) if e.details().starts_with("NOSCRIPT") => {
            let _: String = pool.next().script_load_cluster(script.source.clone()).await?;
            pool.evalsha(script.sha.clone(), full, argv).await?
        }
        other => other?,
    };
    Ok(value)
}
