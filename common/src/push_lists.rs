//! The connect nodes' push lists (`q:push:{N}`, each in its node's own slot): every push to a
//! client goes through one. The scripts that decide who gets a push (push_user.lua, user_ban.lua)
//! run in the user's shard; the caller reads which nodes are live before and appends the frames to
//! their lists after, here — so no script spans a user's slot and a node's (docs/scaling.md).

use bytes::Bytes;
use fred::prelude::*;

use crate::Redis;

/// Whether each of `nodes` (connect node ids) has a live heartbeat (`node:connect:{N}`), in order,
/// in one round trip.
pub async fn live(redis: &Redis, nodes: &[&str]) -> Result<Vec<bool>, fred::error::Error> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let pipe = redis.pool.next().pipeline();
    for node in nodes {
        let _: () = pipe.exists(redis.keys.node("connect", node)).await?;
    }
    let found: Vec<i64> = Redis::each(pipe).await?;
    Ok(found.into_iter().map(|n| n > 0).collect())
}

/// Appends each node's elements (`[route, frame]`, oldest first) to its push list and refreshes the
/// list's lifetime (`ttl_ms`: a dead node's list expires), in one round trip.
pub async fn append(redis: &Redis, pushes: &[(&str, &[Bytes])], ttl_ms: u64) -> Result<(), fred::error::Error> {
    if pushes.iter().all(|(_, elements)| elements.is_empty()) {
        return Ok(());
    }
    let pipe = redis.pool.next().pipeline();
    for (node, elements) in pushes.iter().filter(|(_, e)| !e.is_empty()) {
        let list = redis.keys.push(node);
        let _: () = pipe.lpush(&list, elements.to_vec()).await?;
        let _: () = pipe.pexpire(&list, ttl_ms as i64, None).await?;
    }
    let _: Vec<fred::types::Value> = Redis::each(pipe).await?;
    Ok(())
}
