//! The consumers of this node's reply list `q:l2c:{group}:{node}` and push list `q:push:{node}`, a
//! blocking reader each (the lists live in different slots of a Redis Cluster: the replies in the
//! group queue's, docs/scaling.md): each element `[route, frame]` goes to its connection (or to all
//! of them), applying bind/unbind first.
//! A reply for a connection that has gone is dropped and counted. Right after a reply that binds a
//! connection (login, resume), the user's inbox (`inbox:{uid}`, pushes kept while offline) follows.
//! An element with `close` (a ban, from gm's `user_ban.lua`) unbinds its connection and closes it.

use std::sync::Arc;

use bytes::Bytes;
use common::retry::Backoff;
use common::store::inbox_take;
use fred::prelude::*;
use fred::types::lists::LMoveDirection;
use protocol::codec::decode_routed;

use crate::Node;

pub async fn run(node: Arc<Node>, shutdown: common::Shutdown) {
    let replies = node.redis.keys.l2c(node.group, &node.node_id);
    let pushes = node.redis.keys.push(&node.node_id);
    tokio::join!(read(node.clone(), replies, "replies", shutdown.clone()), read(node, pushes, "pushes", shutdown));
}

/// Pops `key` in batches and delivers each element, until shutdown.
async fn read(node: Arc<Node>, key: String, what: &'static str, shutdown: common::Shutdown) {
    let client = tokio::select! {
        _ = shutdown.cancelled() => return,
        c = node.redis.blocking_client(what) => match c {
            Ok(c) => c,
            Err(e) => return tracing::error!(error = format!("{e:#}"), "cannot start the {what} consumer"),
        },
    };
    let keys = vec![key];
    let batch = node.cfg.connect.reply_batch as i64;
    let mut backoff = Backoff::redis();
    while !shutdown.is_cancelled() {
        let popped: Result<Option<(String, Vec<Bytes>)>, _> =
            client.blmpop(1.0, keys.clone(), LMoveDirection::Right, Some(batch)).await;
        match common::queue::nil_is_none(popped) {
            Ok(Some((_, elements))) => {
                backoff.reset();
                for element in elements {
                    deliver(&node, element).await;
                }
            }
            Ok(None) => backoff.reset(),
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, "cannot read {what}; retrying");
                if common::retry::sleep(delay, &shutdown).await {
                    break;
                }
            }
        }
    }
    let _ = client.quit().await;
}

async fn deliver(node: &Node, element: Bytes) {
    let (route, frame) = match decode_routed(&element) {
        Ok(x) => x,
        Err(e) => return tracing::error!(error = %e, "undecodable reply element dropped"),
    };
    let frame = element.slice_ref(frame);
    if route.all {
        let sent = node.registry.all().iter().map(|conn| conn.send(frame.clone())).filter(|sent| *sent).count();
        node.stats.sent(sent as u64);
        return;
    }
    let Some(conn) = node.registry.get(route.conn) else {
        node.stats.dropped();
        return;
    };
    if let Some(close) = route.close {
        return close_conn(node, &conn, route.conn, close, frame).await;
    }
    let bound = route.bind.as_ref().map(|b| b.uid);
    if let Some(bind) = route.bind {
        let uid = bind.uid;
        if let Some((prev, _)) = conn.state.set_session(Some((bind.uid, bind.sid)))
            && prev != uid
        {
            node.set_online(prev, route.conn, false).await;
        }
        if node.bind_online(uid, route.conn).await {
            // Banned between the session's opening and this bind: user_ban.lua read the online
            // index before this connection was in it, so it is closed here instead.
            tracing::debug!(user.id = uid, "binding a banned user's connection: closing it");
            return close_conn(node, &conn, route.conn, protocol::Close::banned(), Bytes::new()).await;
        }
    }
    if route.unbind
        && let Some((uid, _)) = conn.state.set_session(None)
    {
        node.set_online(uid, route.conn, false).await;
    }
    if conn.send(frame) {
        node.stats.sent(1);
    }
    if let Some(uid) = bound {
        deliver_inbox(node, &conn, uid).await;
    }
}

/// Unbinds connection `id` (leaving the online index), sends `frame` if there is one, then has the
/// connection close itself with `close`'s code and reason.
async fn close_conn(node: &Node, conn: &crate::registry::ConnHandle, id: u64, close: protocol::Close, frame: Bytes) {
    if let Some((uid, _)) = conn.state.set_session(None) {
        node.set_online(uid, id, false).await;
    }
    if !frame.is_empty() && conn.send(frame) {
        node.stats.sent(1);
    }
    let mut reason = close.reason;
    if reason.len() > protocol::Close::MAX_REASON {
        let mut end = protocol::Close::MAX_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    tracing::debug!(conn.id = id, close.code = close.code, close.reason = %reason, "closing a connection as asked");
    conn.close(close.code, reason);
}

/// Sends the pushes kept for `uid` while they were offline, oldest first, right after the login or
/// resume reply (already queued, so the client reads it first). The inbox is taken atomically: with
/// two logins at once, one connection gets the frames. pushsvr writes the inbox only while the user
/// has no live connection, deciding atomically against the online index written above, so a push
/// lands either in the inbox before this takes it or on this node's push list after the reply.
async fn deliver_inbox(node: &Node, conn: &crate::registry::ConnHandle, uid: u64) {
    match inbox_take::call(&node.redis, &inbox_take::Args { uid }).await {
        Ok(inbox_take::Outcome::Taken { frames }) => {
            if !frames.is_empty() {
                tracing::debug!(user.id = uid, frames = frames.len(), "delivering the inbox");
                metrics::counter!("matchday_connect_inbox_delivered_total").increment(frames.len() as u64);
            }
            // Newest first in the list: send in reverse.
            let sent = frames.into_iter().rev().map(|frame| conn.send(frame)).filter(|sent| *sent).count();
            node.stats.sent(sent as u64);
        }
        Err(e) => tracing::warn!(user.id = uid, error = %e, "cannot take the inbox; it waits for the next login"),
    }
}
