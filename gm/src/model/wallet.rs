//! Moving coins: staff grants and the payment provider's callback.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// Coins to add (negative to take away; the balance never goes below zero).
    pub amount: i64,
    pub reason: String,
    /// Optional: a retry with the same request id grants once and answers the same balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceResult {
    pub user_id: u64,
    pub balance: i64,
}

/// The payment provider's callback body (signed: `X-Signature` = hex HMAC-SHA256 of the raw body).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentCallback {
    pub order_id: String,
    pub user_id: u64,
    /// Coins to credit, > 0.
    pub amount: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentResult {
    pub order_id: String,
    pub user_id: u64,
    pub amount: i64,
    /// The balance right after this order was credited (the same on every repeat of the callback).
    pub balance: i64,
}
