//! Where pushes go. A user's pushes go to each of their connections on a live connect node, or —
//! when they have none — into their inbox; `push_user.lua` makes that choice atomically against
//! connect's bind (see below), in the user's shard, and the frames then go to the chosen
//! connections' node lists (`common::push_lists`, each in its node's slot). A broadcast goes once
//! to every live connect node, which writes it to all its connections.
//!
//! Why atomic: connect binds a login by writing `online:{uid}`, then queues the login reply, then
//! takes the inbox. If pushsvr read the index, decided "offline", and wrote the inbox after connect
//! had taken it, the push would wait in the inbox until the next login. The script decides and writes
//! in one step, so each push either lands in the inbox before connect takes it, or sees the new
//! connection and goes to its node's list, which connect reads after the login reply.

use std::collections::BTreeSet;

use bytes::Bytes;
use common::shards::SHARDS;
use common::store::push_user;
use fred::prelude::*;
use futures_util::stream::{self, StreamExt};
use protocol::codec::{encode_frame, encode_routed};
use protocol::{MsgId, ReplyHead, Route};
use serde::Serialize;

use crate::{Ctx, Stats};

/// How often [`to_user`] re-reads the online index when it changed under the script.
const ATTEMPTS: usize = 5;
/// Users served at once by a fan-out to a match's bettors.
const FANOUT: usize = 16;

/// One push: its msg id (for metrics) and the client frame `[{id, seq: 0, code: 0}, body]`.
#[derive(Clone, Debug)]
pub struct Push {
    pub id: MsgId,
    pub frame: Bytes,
}

impl Push {
    pub fn new<B: Serialize>(id: MsgId, body: &B) -> anyhow::Result<Push> {
        let frame = encode_frame(&ReplyHead { id, seq: 0, code: 0 }, body)?;
        Ok(Push { id, frame: Bytes::from(frame) })
    }
}

/// What to do with pushes for a user who has no live connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offline {
    /// Keep them in the user's inbox, for the next login or resume.
    Keep,
    /// Drop them (the news is stale by the next login: match state changes).
    Drop,
}

/// What [`to_user`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Connections the pushes went to.
    pub connections: u64,
    /// Frames kept in the inbox.
    pub kept: u64,
}

/// Delivers `pushes` (in order) to every live connection of `uid`, or keeps them in the inbox.
pub async fn to_user(ctx: &Ctx, uid: u64, pushes: &[Push], offline: Offline) -> anyhow::Result<Delivered> {
    let redis = &ctx.redis;
    for _ in 0..ATTEMPTS {
        let conns = common::push_lists::online(redis, uid).await?;
        if conns.is_empty() && offline == Offline::Drop {
            return Ok(Delivered::default());
        }
        let connections =
            common::push_lists::connections(redis, conns.iter().map(|c| (c.conn.as_str(), c.node.as_str()))).await?;
        let frames: Vec<Bytes> = pushes.iter().map(|p| p.frame.clone()).collect();
        let args = push_user::Args {
            uid,
            inbox_cap: if offline == Offline::Keep { ctx.cfg.inbox_cap as u64 } else { 0 },
            connections: &connections,
            frames: &frames,
        };
        match push_user::call(redis, &args).await? {
            push_user::Outcome::IndexChanged => continue,
            push_user::Outcome::Delivered { targets, kept, removed } => {
                if removed > 0 {
                    Stats::add(&ctx.stats.stale_removed, removed);
                    tracing::debug!(user.id = uid, removed, "removed connections of dead connect nodes");
                }
                let mut lists = Vec::with_capacity(targets.len());
                for &i in &targets {
                    let c = &conns[i];
                    let elements = pushes
                        .iter()
                        .map(|p| Ok(Bytes::from(encode_routed(&Route::to(c.id), &p.frame)?)))
                        .collect::<anyhow::Result<Vec<Bytes>>>()?;
                    lists.push((c.node.as_str(), elements));
                }
                let lists: Vec<(&str, &[Bytes])> = lists.iter().map(|(n, e)| (*n, e.as_slice())).collect();
                common::push_lists::append(redis, &lists, ctx.push_ttl_ms).await?;
                let connections = targets.len() as u64;
                count(ctx, pushes, connections, kept > 0);
                return Ok(Delivered { connections, kept });
            }
        }
    }
    anyhow::bail!("the online index of user {uid} kept changing; will retry")
}

fn count(ctx: &Ctx, pushes: &[Push], connections: u64, kept: bool) {
    for p in pushes {
        if connections > 0 {
            metrics::counter!("matchday_push_sent_total", "msg" => p.id.to_string()).increment(connections);
        }
        if kept {
            metrics::counter!("matchday_push_inboxed_total", "msg" => p.id.to_string()).increment(1);
        }
    }
    Stats::add(&ctx.stats.pushed, connections * pushes.len() as u64);
    if kept {
        Stats::add(&ctx.stats.inboxed, pushes.len() as u64);
    }
}

/// Delivers `pushes` once to every user who bet on any of the markets `mids` (a match's default
/// market is the match; each shard keeps its own bettors); returns how many users got them (on a
/// connection, or in the inbox).
pub async fn to_bettors(ctx: &Ctx, mids: &[u64], pushes: &[Push], offline: Offline) -> anyhow::Result<u64> {
    to_users(ctx, bettors(ctx, mids).await?, pushes, offline).await
}

/// Every user who bet on any of the markets `mids`, once.
pub async fn bettors(ctx: &Ctx, mids: &[u64]) -> anyhow::Result<BTreeSet<u64>> {
    let (redis, keys) = (&ctx.redis, &ctx.redis.keys);
    let sets = mids
        .iter()
        .flat_map(|mid| (0..SHARDS).map(|shard| redis.pool.smembers::<Vec<u64>, _>(keys.match_bettors(shard, *mid))));
    Ok(futures_util::future::try_join_all(sets).await?.into_iter().flatten().collect())
}

/// Delivers `pushes` to each of `uids`; returns how many got them (on a connection, or in the inbox).
pub async fn to_users(ctx: &Ctx, uids: BTreeSet<u64>, pushes: &[Push], offline: Offline) -> anyhow::Result<u64> {
    let results: Vec<anyhow::Result<Delivered>> =
        stream::iter(uids).map(|uid| to_user(ctx, uid, pushes, offline)).buffer_unordered(FANOUT).collect().await;
    let mut reached = 0;
    for r in results {
        let d = r?;
        if d.connections > 0 || d.kept > 0 {
            reached += 1;
        }
    }
    Ok(reached)
}

/// Delivers `push` to every connection of every live connect node (nodes found by their
/// heartbeat keys); returns the number of nodes.
pub async fn broadcast(ctx: &Ctx, push: &Push) -> anyhow::Result<u64> {
    let redis = &ctx.redis;
    // SCAN walks the keyspace; announcements are rare enough for that.
    let beats = redis.scan("node:connect:*").await?;
    if beats.is_empty() {
        return Ok(0);
    }
    let pipe = redis.pool.next().pipeline();
    for key in &beats {
        let _: () = pipe.hget(key, "id").await?;
    }
    let ids: Vec<Option<String>> = common::Redis::each(pipe).await?;
    let nodes: Vec<String> = ids.into_iter().flatten().collect();
    if nodes.is_empty() {
        return Ok(0);
    }
    let element = [Bytes::from(encode_routed(&Route { all: true, ..Route::default() }, &push.frame)?)];
    let lists: Vec<(&str, &[Bytes])> = nodes.iter().map(|node| (node.as_str(), &element[..])).collect();
    common::push_lists::append(redis, &lists, ctx.push_ttl_ms).await?;
    let n = nodes.len() as u64;
    metrics::counter!("matchday_push_sent_total", "msg" => push.id.to_string()).increment(n);
    Stats::add(&ctx.stats.pushed, n);
    Ok(n)
}
