//! The connect nodes' push lists (`q:push:{N}`, each in its node's own slot): every push to a
//! client goes through one. The scripts that decide who gets a push (push_user.lua, user_ban.lua)
//! run in the user's shard; the caller reads which nodes are live before and appends the frames to
//! their lists after, here — so no script spans a user's slot and a node's (docs/scaling.md). The
//! reading (`online`, `connections`) and the writing (`append`) are here for every caller.

use std::collections::HashMap;

use bytes::Bytes;
use fred::prelude::*;

use crate::Redis;

/// One entry of a user's online index (`online:{uid}`: connection id → connect node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Online {
    pub id: u64,
    /// The connection id as the index holds it (the scripts compare the two as strings).
    pub conn: String,
    pub node: String,
}

/// One connection of a user as the scripts that decide pushes and closes take it (push_user.lua,
/// user_ban.lua): read from the online index, with its node's liveness read just before.
#[derive(Clone, Debug)]
pub struct Connection<'a> {
    pub conn: &'a str,
    /// The connect node it is on.
    pub node: &'a str,
    /// The node's heartbeat was live when read.
    pub live: bool,
}

/// The entries of `uid`'s online index; an entry whose connection id is not a number is removed
/// (with a warning) and left out.
pub async fn online(redis: &Redis, uid: u64) -> Result<Vec<Online>, fred::error::Error> {
    let key = redis.keys.online(uid);
    let entries: HashMap<String, String> = redis.pool.hgetall(&key).await?;
    let (mut found, mut garbage) = (Vec::with_capacity(entries.len()), Vec::new());
    for (conn, node) in entries {
        match conn.parse::<u64>() {
            Ok(id) => found.push(Online { id, conn, node }),
            Err(_) => garbage.push(conn),
        }
    }
    if !garbage.is_empty() {
        tracing::warn!(user.id = uid, entries = ?garbage, "removing malformed entries from the online index");
        let _: i64 = redis.pool.hdel(&key, garbage).await?;
    }
    Ok(found)
}

/// `online` (connection, node) pairs with each node's liveness, in one round trip.
pub async fn connections<'a>(
    redis: &Redis,
    online: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Connection<'a>>, fred::error::Error> {
    let pairs: Vec<(&str, &str)> = online.into_iter().collect();
    let nodes: Vec<&str> = pairs.iter().map(|(_, node)| *node).collect();
    let live = live(redis, &nodes).await?;
    Ok(pairs.into_iter().zip(live).map(|((conn, node), live)| Connection { conn, node, live }).collect())
}

/// Whether each of `nodes` (connect node ids) has a live heartbeat (`node:connect:{N}`), in order,
/// in one round trip.
async fn live(redis: &Redis, nodes: &[&str]) -> Result<Vec<bool>, fred::error::Error> {
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
