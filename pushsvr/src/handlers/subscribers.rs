//! A match's subscribers (305) are told when it opens for bets, starts and has its result: 906
//! `{ match_id, event, title, winner? }` (from the `match_state` event of the match's own market).
//! Each subscriber gets one push per event: on their connections when they are online, else
//! through the push gateway to their closed app (`offline`) — claimed per user and event first, so
//! an event handled again sends nothing twice, and what the gateway could not take is tried again
//! with the event.

use common::shards::SHARDS;
use futures_util::{StreamExt, stream};
use protocol::body::MatchEventPush;
use protocol::msg::PUSH_MATCH_EVENT;

use crate::Ctx;
use crate::deliver::{self, Offline, Push};
use crate::offline::{self, Frame, OfflinePush};

/// Subscribers served at once.
const FANOUT: usize = 32;

/// The subscriber event an action of the match's own market is, if any.
pub fn event_of(action: &str) -> Option<&'static str> {
    match action {
        "open" => Some("open"),
        "start" => Some("start"),
        "result" => Some("result"),
        _ => None,
    }
}

pub async fn handle(ctx: &Ctx, match_id: u64, event: &'static str) -> anyhow::Result<()> {
    let Some(m) = common::matches::load(&ctx.redis, match_id).await? else { return Ok(()) };
    let subscribers = subscribers(ctx, match_id).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let body = MatchEventPush {
        match_id,
        event: event.to_owned(),
        title: m.title.clone(),
        winner: if event == "result" { m.result.clone() } else { None },
    };
    let push = Push::new(PUSH_MATCH_EVENT, &body)?;
    let closed = OfflinePush {
        delivery: String::new(),
        user_id: 0,
        devices: Vec::new(),
        push: Frame { id: PUSH_MATCH_EVENT, body: serde_json::to_value(&body)? },
        title: m.title.clone(),
        text: text(event, &m.title, body.winner.as_deref()),
    };
    let key = format!("{match_id}:{event}");
    let results: Vec<anyhow::Result<()>> = stream::iter(subscribers)
        .map(|uid| one(ctx, uid, &key, &push, &closed))
        .buffer_unordered(FANOUT)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    tracing::debug!(match.id = match_id, event, "subscribers told");
    Ok(())
}

/// One subscriber, once per event: online on the WebSocket, else to the closed app.
async fn one(ctx: &Ctx, uid: u64, key: &str, push: &Push, closed: &OfflinePush) -> anyhow::Result<()> {
    if !offline::claim(ctx, uid, key).await? {
        return Ok(());
    }
    let online = deliver::to_user(ctx, uid, std::slice::from_ref(push), Offline::Drop).await;
    if online.as_ref().is_ok_and(|d| d.connections > 0) {
        return Ok(());
    }
    let sent = match online {
        Err(e) => Err(e),
        Ok(_) if ctx.offline.is_off() => return Ok(()),
        Ok(_) => {
            let push = OfflinePush { delivery: format!("{uid}:{key}"), user_id: uid, ..closed.clone() };
            offline::deliver(ctx, uid, push).await.map(|_| ())
        }
    };
    if sent.is_err() {
        offline::release(ctx, uid, key).await?;
    }
    sent
}

/// Every user who subscribed to match `mid` (each shard keeps its own).
async fn subscribers(ctx: &Ctx, mid: u64) -> anyhow::Result<Vec<u64>> {
    let (redis, keys) = (&ctx.redis, &ctx.redis.keys);
    let sets = (0..SHARDS).map(|shard| {
        use fred::prelude::SetsInterface;
        redis.pool.smembers::<Vec<u64>, _>(keys.match_subscribers(shard, mid))
    });
    Ok(futures_util::future::try_join_all(sets).await?.into_iter().flatten().collect())
}

/// What the phone shows.
fn text(event: &str, title: &str, winner: Option<&str>) -> String {
    match (event, winner) {
        ("open", _) => format!("{title} is open for bets"),
        ("start", _) => format!("{title} has started"),
        (_, Some(w)) => format!("{title}: the result is in ({w})"),
        _ => format!("{title}: the result is in"),
    }
}
