//! 212 create_order `{ amount, channel }` → `order` with its `pay_url`: a deposit order the payment
//! provider's callback completes (credits once, marks it paid, pushes 904). Limited per player per
//! hour (code 5); an unknown channel or an amount out of range is 7; a banned player 1009.

use common::orders;
use common::store::order_create::{self, Outcome};
use common::store::rate_limit::{self, Counter};
use protocol::ErrorCode;
use protocol::body::CreateOrder;

use crate::context::Ctx;
use crate::error::AppError;
use crate::request::{Reply, Request};

pub async fn handle(ctx: &Ctx, req: &Request) -> Result<Reply, AppError> {
    let uid = req.uid()?;
    let CreateOrder { amount, channel } = req.body()?;
    let cfg = &ctx.orders;
    if !cfg.channels.contains_key(&channel) {
        let known: Vec<&str> = cfg.channels.keys().map(String::as_str).collect();
        return Err(AppError::invalid_body(format!("channel: {channel:?} is not one of {known:?}")));
    }
    if amount < cfg.min_amount || amount > cfg.max_amount {
        return Err(AppError::invalid_body(format!(
            "amount: {amount} is not within {} to {}",
            cfg.min_amount, cfg.max_amount
        )));
    }
    let subject = uid.to_string();
    let hourly =
        [Counter { kind: "order:user", subject: &subject, limit: cfg.per_user_per_hour, window_ms: 3_600_000 }];
    if let rate_limit::Outcome::Limited { retry_after_ms, .. } =
        rate_limit::call(&ctx.redis, &rate_limit::Args { counters: &hourly }).await?
    {
        return Err(crate::throttle::refused("too many orders this hour", retry_after_ms));
    }
    let order_id = orders::new_id(uid);
    let now = common::time::now_ms();
    let args = order_create::Args {
        uid,
        order_id: &order_id,
        amount,
        channel: &channel,
        now_ms: now,
        keep_s: cfg.keep_s,
        list_max: cfg.list_max,
        currency: &cfg.currency,
        staff: None,
    };
    match order_create::call(&ctx.redis, &args).await? {
        Outcome::Created => {}
        Outcome::Banned => return Err(AppError::code(ErrorCode::AccountBanned)),
        other => return Err(AppError::internal(format!("order {order_id} of user {uid} not created: {other:?}"))),
    }
    let order = orders::one(&ctx.redis, cfg, uid, &order_id, now)
        .await?
        .ok_or_else(|| AppError::internal(format!("order {order_id} vanished after it was created")))?;
    Reply::new(&order)
}
