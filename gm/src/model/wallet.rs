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
    /// An order the server created (msg 212, or `POST /api/orders`).
    pub order_id: String,
    /// The order's user.
    pub user_id: u64,
    /// Coins to credit, > 0: the order's amount.
    pub amount: i64,
    /// The currency paid (ISO 4217): the order's. Optional (the contract's callback is `{order_id,
    /// user_id, amount}`): absent, it is the deployment's `orders.currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentResult {
    pub order_id: String,
    pub user_id: u64,
    pub amount: i64,
    /// The balance right after this order was credited (the same on every repeat of the callback).
    pub balance: i64,
}

/// An order staff create for a payment made outside the app (a bank transfer, a shop): the payment
/// provider's callback then credits it, once, as an order the player made.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffOrder {
    pub user_id: u64,
    /// Coins the payment buys, > 0.
    pub amount: i64,
    /// How it is paid: 1 to 32 characters of a-z, A-Z, 0-9, '_', '-' (any name, not only the app's
    /// channels).
    pub channel: String,
    /// Why (kept in the audit log).
    pub reason: String,
}

/// An order as made: the callback must name its id, user, amount and currency.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderCreated {
    pub order_id: String,
    pub user_id: u64,
    pub amount: i64,
    /// ISO 4217 (`orders.currency` when it was made).
    pub currency: String,
    pub channel: String,
    /// The staff member who made it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: u64,
}

/// A grant above `gm.grant_approval_above`, waiting for a second admin or decided (maker–checker).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub id: String,
    pub user_id: u64,
    /// Coins to grant (negative: to take back).
    pub amount: i64,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The admin who asked.
    pub asked_by: String,
    /// Unix ms.
    pub asked_at: u64,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// The admin who approved or rejected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    /// What came of an approved grant: `{"balance": n}`, or `{"error": {"code", "message"}}` when it
    /// was refused (approving again retries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub result: Option<serde_json::Value>,
}

/// A page of grant approvals, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApprovalList {
    pub items: Vec<Approval>,
}

/// Which approvals to list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// `pending`, `approved` or `rejected`; all when absent.
    pub state: Option<String>,
    #[serde(default)]
    pub offset: usize,
    /// At most 200 (default 50).
    pub limit: Option<usize>,
}
