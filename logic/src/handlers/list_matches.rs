//! 301 list matches `{ type?, state?, offset?, limit? }` → `{ items: [match] }` (each with its
//! markets): upcoming and live matches by start time (or the matches in one state; finished ones newest first). Matches pending
//! approval are never shown.

use common::matches::{self, Listing};
use protocol::body::{Items, ListMatches};
use protocol::matches::{Index, MatchState};

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let ListMatches { kind, state, offset, limit } = req.body()?;
    let (offset, limit) = super::page::bounds(ctx, offset, limit);
    let state = match state {
        Some(code) => Some(
            MatchState::from_code(code as i64)
                .ok_or_else(|| AppError::invalid_body(format!("state: no state {code}")))?,
        ),
        None => None,
    };
    if let Some(k) = &kind
        && !ctx.match_types.contains(k)
    {
        return Err(AppError::invalid_body(format!("type: unknown type {k:?}")));
    }
    let families = match state {
        Some(MatchState::Pending) => Vec::new(),
        Some(s) => matches::families_of(s),
        None => vec![Index::List, Index::Doing],
    };
    let listing = Listing { families, kind, state, text: None, offset, limit };
    let found = matches::page(&ctx.redis, &listing).await?;
    Reply::new(&Items { items: matches::views(&ctx.redis, &found).await? })
}
