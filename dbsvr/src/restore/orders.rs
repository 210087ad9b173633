//! Players' deposit orders (`orders`) of the last `orders.keep_s`: each `order:{id}` as
//! order_create.lua and wallet_change.lua leave it, with what is left of its TTL, and each user's
//! list of their newest `orders.list_max`.

use std::collections::HashMap;

use sqlx::MySqlPool;

use super::writer::Writer;
use super::{Options, ROWS, RestoreReport};

type OrderRow = (String, u64, i64, String, String, String, String, u64, Option<u64>, Option<i64>, u64);

pub(super) async fn orders(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    report: &mut RestoreReport,
    opts: &Options,
) -> anyhow::Result<()> {
    let now = common::time::now_ms();
    let since = now.saturating_sub(opts.orders_keep_s * 1000);
    let mut lists: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    let mut after = String::new();
    loop {
        let page: Vec<OrderRow> = sqlx::query_as(
            "SELECT order_id, uid, amount, currency, channel, created_by, state, created_at, paid_at, balance, ver \
             FROM orders \
             WHERE order_id > ? AND created_at > ? ORDER BY order_id LIMIT ?",
        )
        .bind(&after)
        .bind(since)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        for (id, uid, amount, currency, channel, by, state, created_at, paid_at, balance, ver) in &page {
            let mut fields = vec![
                ("uid", uid.to_string()),
                ("amount", amount.to_string()),
                ("channel", channel.clone()),
                ("by", by.clone()),
                ("state", state.clone()),
                ("created_at", created_at.to_string()),
                ("ver", ver.to_string()),
            ];
            // An order made before orders had a currency has none (wallet_change.lua reads it so).
            if !currency.is_empty() {
                fields.push(("currency", currency.clone()));
            }
            if let (Some(paid_at), Some(balance)) = (paid_at, balance) {
                fields.extend([("paid_at", paid_at.to_string()), ("balance", balance.to_string())]);
            }
            let key = w.redis.keys.order(*uid, id);
            w.hset(key.clone(), fields).await?;
            w.expire(key, (created_at + opts.orders_keep_s * 1000).saturating_sub(now).div_ceil(1000).max(1)).await?;
            lists.entry(*uid).or_default().push((*created_at, id.clone()));
            report.orders += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0.clone(),
            _ => break,
        }
    }
    for (uid, mut list) in lists {
        list.sort();
        let newest = list.split_off(list.len().saturating_sub(opts.orders_list_max as usize));
        let last = newest.last().map_or(now, |o| o.0);
        let key = w.redis.keys.orders(uid);
        w.zadd(key.clone(), newest.into_iter().map(|(at, id)| (at as f64, id)).collect()).await?;
        w.expire(key, (last + opts.orders_keep_s * 1000).saturating_sub(now).div_ceil(1000).max(1)).await?;
    }
    Ok(())
}
