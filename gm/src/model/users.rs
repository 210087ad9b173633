//! Users as staff see them, who a staff token is, bans, and the checks of staff-given fields.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// `GET /api/users?name=`.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindUser {
    /// The username (any case).
    pub name: String,
}

/// Who a staff token belongs to (`GET /api/whoami`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub name: String,
    /// viewer, operator or admin.
    pub role: String,
}

/// A user as staff see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GmUser {
    pub user_id: u64,
    pub username: String,
    pub created_at: u64,
    pub balance: i64,
    pub online: bool,
    /// Banned by staff: cannot log in or resume (code 1009).
    pub banned: bool,
    /// The ban, while banned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<BanInfo>,
    /// Newest first, at most 20, in the client `bet` shape: { bet_id, match_id, option, stake,
    /// odds, state, payout?, ts }.
    pub recent_bets: Vec<serde_json::Value>,
    /// Newest first, at most 20: { delta, balance, reason, ref, ts }.
    pub recent_ledger: Vec<serde_json::Value>,
}

/// Why, by whom and when a user was banned.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanInfo {
    pub reason: String,
    /// The staff name.
    pub by: String,
    /// Unix ms.
    pub at: u64,
}

/// A ban or unban: why (kept with the ban and in the audit trail).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanRequest {
    /// 1 to 200 characters.
    pub reason: String,
    /// Optional, recorded in the audit trail (a repeated ban or unban changes nothing anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl BanRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        check_reason(&self.reason)?;
        check_request_id(self.request_id.as_deref())
    }
}

/// The user's ban state after a ban or unban.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanResult {
    pub user_id: u64,
    pub banned: bool,
    /// false when the user already was in that state (nothing changed).
    pub changed: bool,
    /// The ban in force (a repeated ban keeps the first one's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<BanInfo>,
    /// Sessions (tokens) revoked by this call.
    pub sessions_revoked: u64,
    /// Live connections this call asked their connect node to close (1008 "banned").
    pub connections_closed: u64,
}

/// A staff reason: 1 to 200 bytes ([`STAFF_REASON_MAX`]), not blank.
pub fn check_reason(reason: &str) -> Result<(), ApiError> {
    use protocol::fields::STAFF_REASON_MAX;
    if reason.trim().is_empty() || reason.len() > STAFF_REASON_MAX {
        return Err(ApiError::invalid("reason", format!("1 to {STAFF_REASON_MAX} bytes, not blank")));
    }
    Ok(())
}

/// A client-chosen request id: 1 to 64 ([`REQUEST_ID_MAX`]) characters of a-z, A-Z, 0-9, '_', '-', '.'.
pub fn check_request_id(id: Option<&str>) -> Result<(), ApiError> {
    use protocol::fields::REQUEST_ID_MAX;
    if let Some(id) = id
        && (id.is_empty()
            || id.len() > REQUEST_ID_MAX
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ApiError::invalid(
            "request_id",
            format!("1 to {REQUEST_ID_MAX} characters of a-z, A-Z, 0-9, '_', '-', '.'"),
        ));
    }
    Ok(())
}

/// A one-time code a player sets a new password with (106), good until `expires_at`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PasswordResetCode {
    pub user_id: u64,
    /// Give it to the player through a channel that proves it is them; shown once, kept hashed.
    pub code: String,
    pub expires_at: u64,
}

/// One event of an account's history: what the player did (`registered`, `guest_created`,
/// `password_changed`, `password_reset`, `profile_changed`, `linked`, `deleted`) or what staff did
/// to it (a gm action: `user.ban`, `user.unban`, `user.grant`, `user.password_reset`, with `by`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountEvent {
    pub ts: u64,
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The staff member, for a gm action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountHistory {
    /// Newest first.
    pub items: Vec<AccountEvent>,
}

/// A page of an account's history.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    #[serde(default)]
    pub offset: u64,
    /// 1 to 200 (default 50).
    pub limit: Option<usize>,
}

/// A staff sign-in: the account's name, password and the current code of its authenticator app.
#[derive(Clone, Deserialize, ToSchema)]
pub struct StaffLogin {
    pub name: String,
    pub password: String,
    /// The 6-digit TOTP code (RFC 6238) now shown by the account's authenticator app.
    pub code: String,
}

/// A staff session: send `Authorization: Bearer <token>`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffSession {
    pub token: String,
    pub name: String,
    pub role: String,
    /// When the session ends at the latest (Unix ms).
    pub expires_at: u64,
    /// It ends sooner after this many seconds without a request.
    pub idle_timeout_s: u64,
}

/// A personal staff account (no secrets).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// A disabled account cannot sign in, and its sessions stopped working.
    pub disabled: bool,
    pub created_by: String,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub items: Vec<StaffView>,
}

/// A new staff account.
#[derive(Clone, Deserialize, ToSchema)]
pub struct NewStaff {
    /// 1 to 64 characters of a-z, 0-9, '_', '-', '.'.
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    /// 12 to 128 characters.
    pub password: String,
}

/// A new account with its TOTP secret, shown this once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffCreated {
    #[serde(flatten)]
    pub account: StaffView,
    /// The TOTP secret, base32 (what an authenticator app asks for when typed in).
    pub totp_secret: String,
    /// The same as an `otpauth://totp/...` address (what a QR code holds).
    pub totp_url: String,
}

/// A change of a staff account: any of these.
#[derive(Clone, Default, Deserialize, ToSchema)]
pub struct StaffEdit {
    pub role: Option<String>,
    pub disabled: Option<bool>,
    /// A new password (12 to 128 characters).
    pub password: Option<String>,
    /// A new TOTP secret (answered once); the old one stops working.
    #[serde(default)]
    pub new_totp: bool,
}

/// The account after a change, and its new TOTP secret when one was asked for (shown this once).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffEdited {
    #[serde(flatten)]
    pub account: StaffView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_url: Option<String>,
}

/// A new API token for automation, acting for `owner` (a staff account) with at most `role`.
#[derive(Clone, Deserialize, ToSchema)]
pub struct NewApiToken {
    pub owner: String,
    /// `viewer`, `operator` or `admin` (the token never has more than its owner).
    pub role: String,
    /// Days it is valid: 1 to 365 (default 90).
    #[serde(default)]
    pub expires_in_days: Option<u64>,
}

/// An API token as listed (no secret).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: String,
    pub owner: String,
    pub role: String,
    pub created_by: String,
    pub created_at: u64,
    pub expires_at: u64,
    /// When it was last used (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<u64>,
}

/// A new API token: `token` is shown this once (gm keeps its SHA-256 only).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiTokenCreated {
    #[serde(flatten)]
    pub view: ApiTokenView,
    pub token: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiTokenList {
    pub items: Vec<ApiTokenView>,
}
