//! Players' deposit orders as stored in Redis (`order:{id}`, `orders:{uid}`; order_create.lua makes
//! them, wallet_change.lua completes them), read back as clients see them.

use fred::prelude::*;
use protocol::body::OrderView;

use crate::Redis;
use crate::config::OrdersConfig;

/// Where the app sends the player to pay order `order_id` on `channel` (None: no such channel).
pub fn pay_url(cfg: &OrdersConfig, channel: &str, order_id: &str, amount: i64) -> Option<String> {
    let template = cfg.channels.get(channel)?;
    Some(
        template.replace("{order_id}", order_id).replace("{amount}", &amount.to_string()).replace("{channel}", channel),
    )
}

/// A new order id: the user's id and a random part (at most 64 characters of [0-9a-f-], as the
/// payment callback accepts).
pub fn new_id(uid: u64) -> String {
    format!("{uid}-{}", uuid::Uuid::new_v4().simple())
}

/// One order of `uid` (None when Redis no longer holds it, or it is another user's).
pub async fn one(
    redis: &Redis,
    cfg: &OrdersConfig,
    uid: u64,
    order_id: &str,
    now_ms: u64,
) -> Result<Option<OrderView>, fred::error::Error> {
    let f: Vec<Option<String>> = redis
        .pool
        .hmget(
            redis.keys.order(uid, order_id),
            vec!["uid", "amount", "channel", "state", "created_at", "paid_at", "balance", "currency"],
        )
        .await?;
    Ok(view(cfg, order_id, &f, uid, now_ms))
}

/// The user's newest orders, newest first (`offset`, `limit` within the list Redis keeps).
pub async fn page(
    redis: &Redis,
    cfg: &OrdersConfig,
    uid: u64,
    offset: usize,
    limit: usize,
    now_ms: u64,
) -> Result<Vec<OrderView>, fred::error::Error> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<String> =
        redis.pool.zrevrange(redis.keys.orders(uid), offset as i64, (offset + limit) as i64 - 1, false).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = one(redis, cfg, uid, &id, now_ms).await? {
            out.push(v);
        }
    }
    Ok(out)
}

fn view(cfg: &OrdersConfig, order_id: &str, f: &[Option<String>], uid: u64, now_ms: u64) -> Option<OrderView> {
    let num = |i: usize| f.get(i)?.as_deref()?.parse::<i64>().ok();
    if num(0)? as u64 != uid {
        return None;
    }
    let (amount, created_at) = (num(1)?, num(4)? as u64);
    let channel = f.get(2)?.clone()?;
    let mut state = f.get(3)?.clone()?;
    if state == "created" && now_ms > created_at + cfg.pay_within_s * 1000 {
        state = "expired".to_owned();
    }
    let pay_url = (state == "created").then(|| pay_url(cfg, &channel, order_id, amount)).flatten();
    Some(OrderView {
        order_id: order_id.to_owned(),
        amount,
        channel,
        state,
        created_at,
        paid_at: num(5).map(|v| v as u64),
        balance: num(6),
        currency: f.get(7).cloned().flatten().unwrap_or_default(),
        pay_url,
    })
}
