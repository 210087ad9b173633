//! Orders staff create for payments made outside the app; the payment callback credits them as it
//! credits the orders players make (msg 212): once, and only for the order's user, amount and currency.

use axum::extract::State;
use axum::http::StatusCode;
use common::store::order_create::{self, Outcome};

use crate::AppState;
use crate::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody, JsonBody};
use crate::model::*;

/// Create a deposit order for a user (admin): the answer names what the payment provider's callback
/// must send (order id, user, amount, currency). Nothing is credited until that callback comes.
#[utoipa::path(post, path = "/api/orders", operation_id = "create_order", tag = "payments", request_body = StaffOrder,
    responses((status = 201, body = OrderCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "no such user", body = ErrorBody),
              (status = 409, description = "the user is banned (`banned`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Admin(staff): Admin,
    JsonBody(body): JsonBody<StaffOrder>,
) -> Result<(StatusCode, axum::Json<OrderCreated>), ApiError> {
    if body.amount <= 0 || body.amount > MAX_COINS {
        return Err(ApiError::invalid("amount", "a positive number of coins, at most 10^12"));
    }
    let channel_ok = !body.channel.is_empty()
        && body.channel.len() <= protocol::fields::ORDER_CHANNEL_MAX
        && body.channel.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !channel_ok {
        return Err(ApiError::invalid("channel", "1 to 32 characters of a-z, A-Z, 0-9, '_', '-'"));
    }
    check_reason(&body.reason)?;
    let cfg = &st.cfg.orders;
    let uid = body.user_id;
    let order_id = common::orders::new_id(uid);
    let now = common::time::now_ms();
    let made = OrderCreated {
        order_id: order_id.clone(),
        user_id: uid,
        amount: body.amount,
        currency: cfg.currency.clone(),
        channel: body.channel.clone(),
        created_by: staff.name.clone(),
        created_at: now,
    };
    let record = audit::record(&staff, "order.create", &format!("user:{uid}"), &(&made, &body.reason));
    let args = order_create::Args {
        uid,
        order_id: &order_id,
        amount: body.amount,
        channel: &body.channel,
        now_ms: now,
        keep_s: cfg.keep_s,
        list_max: cfg.list_max,
        currency: &cfg.currency,
        staff: Some(order_create::Staff { name: &staff.name, audit: &record }),
    };
    match order_create::call(&st.redis, &args).await? {
        Outcome::Created => {}
        Outcome::NoUser => return Err(ApiError::NotFound(format!("no user {uid}"))),
        Outcome::Banned => return Err(ApiError::conflict("banned", format!("user {uid} is banned"))),
        Outcome::Exists => {
            tracing::error!(order = %order_id, "a new order id was taken");
            return Err(ApiError::Internal);
        }
    }
    audit::log(&staff, "order.create", &format!("order:{order_id}"));
    Ok((StatusCode::CREATED, axum::Json(made)))
}
