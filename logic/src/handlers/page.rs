//! Paging of list requests: offset defaults to 0, limit to 20, capped at `matches.max_page`.

use crate::context::Ctx;

pub const DEFAULT_LIMIT: u32 = 20;

/// (offset, limit) of a request, with the defaults and the cap applied.
pub fn bounds(ctx: &Ctx, offset: Option<u32>, limit: Option<u32>) -> (usize, usize) {
    let limit = limit.unwrap_or(DEFAULT_LIMIT) as usize;
    (offset.unwrap_or(0) as usize, limit.min(ctx.max_page))
}
