//! Figures for staff and operators: daily stats, live processes, queue depths.

use axum::extract::State;
use fred::prelude::*;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ErrorBody};
use crate::model::*;

/// Registrations, bets and volume today and yesterday (UTC), and users online.
#[utoipa::path(get, path = "/api/stats", operation_id = "get_stats", tag = "ops",
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn stats(State(st): State<AppState>, Viewer(_viewer): Viewer) -> Result<axum::Json<Stats>, ApiError> {
    let k = &st.redis.keys;
    let today = common::time::day_of(common::time::now_ms());
    let mut figures = Vec::new();
    // Registrations are counted in each shard (by register.lua): summed here.
    let mut reg = DayFigures { today: 0, yesterday: 0 };
    for shard in 0..common::shards::SHARDS {
        let counts: Vec<Option<i64>> =
            st.redis.pool.mget(vec![k.stats_reg(shard, today), k.stats_reg(shard, today - 1)]).await?;
        reg.today += counts[0].unwrap_or(0);
        reg.yesterday += counts[1].unwrap_or(0);
    }
    figures.push(reg);
    for what in ["bets", "volume"] {
        let t: Option<i64> = st.redis.pool.get(k.stats_day(what, today)).await?;
        let y: Option<i64> = st.redis.pool.get(k.stats_day(what, today - 1)).await?;
        figures.push(DayFigures { today: t.unwrap_or(0), yesterday: y.unwrap_or(0) });
    }
    let users_online = st.redis.scan("{*}:online:*").await?.len() as u64;
    let volume = figures.pop().expect("three figures");
    let bets = figures.pop().expect("three figures");
    let registrations = figures.pop().expect("three figures");
    Ok(axum::Json(Stats { registrations, bets, volume, users_online }))
}

/// Live processes, from their heartbeats, with their load (uptime, frames handled per second,
/// frames inflight), and per group the client queue's depth and oldest-frame age.
#[utoipa::path(get, path = "/api/nodes", operation_id = "list_nodes", tag = "ops",
    responses((status = 200, body = NodeList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn nodes(State(st): State<AppState>, Viewer(_viewer): Viewer) -> Result<axum::Json<NodeList>, ApiError> {
    let status = common::status::status(&st.redis).await?;
    Ok(axum::Json(NodeList {
        items: status.nodes.into_iter().map(NodeItem::from).collect(),
        groups: status.groups.into_iter().map(GroupItem::from).collect(),
    }))
}

/// Depth of every queue, inflight and dead list, and of the delayed-event set.
#[utoipa::path(get, path = "/api/queues", operation_id = "list_queues", tag = "ops",
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn queues(State(st): State<AppState>, Viewer(_viewer): Viewer) -> Result<axum::Json<QueueList>, ApiError> {
    let prefix = st.redis.keys.prefix().to_owned();
    let mut keys = st.redis.scan("q:*").await?;
    keys.sort();
    let mut items = Vec::new();
    for key in keys {
        let kind: String = st.redis.pool.r#type(&key).await?;
        if kind != "list" {
            continue;
        }
        let depth: i64 = st.redis.pool.llen(&key).await?;
        items.push(QueueDepth { name: key.strip_prefix(&prefix).unwrap_or(&key).to_owned(), depth });
    }
    let sched: i64 = st.redis.pool.zcard(st.redis.keys.sched()).await?;
    items.push(QueueDepth { name: "sched".into(), depth: sched });
    Ok(axum::Json(QueueList { items }))
}
