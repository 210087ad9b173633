//! Control commands logic handles besides `drain` (common::control::serve): `reload` loads the Lua
//! handler folder again and swaps the set in (docs/lua.md); the answer is the new set's summary, or
//! the load error (file:line) with the old set kept.

use common::control::Handlers;

use crate::context::Ctx;

/// logic's control command handlers.
pub fn handlers(ctx: Ctx) -> Handlers {
    Handlers::new().on("reload", move |command| {
        let ctx = ctx.clone();
        async move {
            match ctx.lua.reload(&ctx.redis, &ctx.dispatch).await {
                Ok(summary) => {
                    tracing::info!(by = %command.by, "Lua handlers reloaded: {summary}");
                    (true, format!("reloaded: {summary}"))
                }
                Err(e) => {
                    tracing::warn!(by = %command.by, error = %e, "Lua handler reload failed; the old handlers stay");
                    (false, format!("reload failed, old handlers kept: {e}"))
                }
            }
        }
    })
}
