//! The payment provider's callback: signed with HMAC-SHA256, credited once per order id.

use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::AppState;
use crate::audit;
use crate::error::{ApiError, ErrorBody};
use crate::model::*;
use crate::routes::users::{change, provider};
use common::store::wallet_change;

/// Credit a user for a paid order. `X-Signature` is the hex HMAC-SHA256 of the raw body with
/// `gm.payment_secret`. Only an order the server created (by the player's app, msg 212, or by staff,
/// `POST /api/orders`) is credited, and only for its user, amount and currency: an unknown order is
/// 404, another user, amount or currency 409 `order_mismatch`; nothing is credited and the refusal is
/// logged. Repeats of the same order answer the same result and credit nothing.
#[utoipa::path(post, path = "/api/payments/callback", operation_id = "payment_callback", tag = "payments", request_body = PaymentCallback,
    params(("X-Signature" = String, Header, description = "hex HMAC-SHA256 of the raw body")),
    responses((status = 200, body = PaymentResult), (status = 400, body = ErrorBody), (status = 401, description = "bad or missing signature (bad_signature)", body = ErrorBody),
              (status = 404, description = "no such user, or no order of that id the server created for the user", body = ErrorBody),
              (status = 409, description = "the order is another user's, amount or currency (`order_mismatch`), or the order id was paid to another user (`conflict`)", body = ErrorBody), (status = 413, description = "body larger than gm.max_body_bytes", body = ErrorBody),
              (status = 503, description = "payments are not configured, gm is busy, or the request timed out", body = ErrorBody)))]
pub async fn callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<PaymentResult>, ApiError> {
    // Over gm.max_body_bytes: 413 in the API's error shape.
    let body = body?;
    let secret = st.cfg.gm.payment_secret.expose_secret();
    if secret.is_empty() {
        tracing::error!("a payment callback arrived but gm.payment_secret is not set; refused");
        return Err(ApiError::NotConfigured("payment callbacks are disabled: gm.payment_secret is not set"));
    }
    let signature = headers.get("x-signature").and_then(|v| v.to_str().ok()).and_then(|s| hex::decode(s.trim()).ok());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| ApiError::Internal)?;
    mac.update(&body);
    if signature.is_none_or(|sig| mac.verify_slice(&sig).is_err()) {
        tracing::warn!("payment callback with a bad signature refused");
        return Err(ApiError::BadSignature);
    }
    let cb: PaymentCallback =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("invalid callback body: {e}")))?;
    let id_ok = !cb.order_id.is_empty()
        && cb.order_id.len() <= 64
        && cb.order_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !id_ok {
        return Err(ApiError::invalid("order_id", "1 to 64 characters of a-z, A-Z, 0-9, '_', '-', '.'"));
    }
    if cb.amount <= 0 || cb.amount > crate::model::MAX_COINS {
        return Err(ApiError::invalid("amount", "a positive number of coins, at most 10^12"));
    }
    let currency = cb.currency.clone().unwrap_or_else(|| st.cfg.orders.currency.clone());
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::invalid("currency", "an ISO 4217 code: three capital letters, e.g. USD"));
    }
    let who = provider();
    let audit = audit::record(&who, "payment.credit", &format!("user:{}", cb.user_id), &cb);
    let once = Some(wallet_change::Once::Payment { order_id: &cb.order_id, currency: &currency });
    let changed = change(&st, cb.user_id, cb.amount, "payment", &cb.order_id, once, audit).await;
    if let Err(e @ (ApiError::NotFound(_) | ApiError::Conflict { .. })) = &changed {
        tracing::warn!(order = %cb.order_id, user.id = cb.user_id, amount = cb.amount, currency = %currency,
            "payment callback refused, nothing credited: {e}");
    }
    let (balance, repeated) = changed?;
    if repeated {
        tracing::info!(order = %cb.order_id, "payment callback repeated; answered the first result, credited nothing");
    } else {
        audit::log(&who, "payment.credit", &format!("order:{}", cb.order_id));
    }
    Ok(axum::Json(PaymentResult { order_id: cb.order_id, user_id: cb.user_id, amount: cb.amount, balance }))
}
