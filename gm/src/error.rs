//! The one error type of the API. Every error, including axum's own extractor rejections and
//! unknown routes, answers `{ "error": { "code", "message" } }`; internals are logged, not shown.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (not JSON, wrong types, bad path or query).
    #[error("{0}")]
    BadRequest(String),
    /// A field's value is not acceptable; the message names the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A signed callback whose signature does not match its body.
    #[error("X-Signature is missing or does not match the body")]
    BadSignature,
    /// The feature is switched off by configuration; retrying will not help.
    #[error("{0}")]
    NotConfigured(&'static str),
    #[error("the {0} role is required")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The request conflicts with the current state (an illegal transition, a balance too low…).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A dependency (Redis, or MySQL for the record's reads) is unavailable; retry.
    #[error("service unavailable, retry shortly")]
    Unavailable,
    /// The body is larger than `gm.max_body_bytes`.
    #[error("the request body is larger than this server accepts (gm.max_body_bytes)")]
    TooLarge,
    /// `gm.max_concurrent_requests` are being served; retry after Retry-After seconds.
    #[error("too many requests in progress, retry shortly")]
    Busy,
    /// The request was not answered within `gm.request_timeout_ms`; a change may have been made.
    #[error("the request took longer than {0} ms; it may have been done: retry with the same request id")]
    Timeout(u64),
    /// A staff login whose name, password or TOTP code is wrong (which one is not told).
    #[error("wrong name, password or code")]
    BadLogin,
    /// Too many failed staff logins: retry after this many seconds.
    #[error("too many failed logins; retry in {0} s")]
    TooManyAttempts(u64),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: field.into(), message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict { code, message: message.into() }
    }

    /// The stable code of the error body.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
            ApiError::NotConfigured(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_configured"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::BadLogin => (StatusCode::UNAUTHORIZED, "bad_login"),
            ApiError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (bad_request, invalid, unauthorized, bad_signature, forbidden, not_found,
    /// method_not_allowed, not_configured, payload_too_large, bad_login, too_many_attempts,
    /// illegal_transition, insufficient_balance, conflict, unavailable, busy, timeout, internal).
    pub code: String,
    pub message: String,
}

/// Seconds a client is asked to wait when gm is busy.
const RETRY_AFTER_S: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code: code.to_owned(), message: self.to_string() } }))
                .into_response();
        let headers = response.headers_mut();
        match self {
            // A 401 for a missing token asks for a bearer token (a bad signature does not).
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Busy | ApiError::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
            }
            ApiError::TooManyAttempts(s) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(s.max(1)));
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(r.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<fred::error::Error> for ApiError {
    fn from(e: fred::error::Error) -> ApiError {
        tracing::warn!(error = %e, "Redis command failed");
        ApiError::Unavailable
    }
}

/// A store failure: transient (Redis away, loading, busy, ...) is 503 with Retry-After; anything
/// else is a bug or a broken invariant (500, logged).
impl From<common::store::StoreError> for ApiError {
    fn from(e: common::store::StoreError) -> ApiError {
        if e.is_transient() {
            tracing::warn!(error = %e, "Redis unavailable");
            ApiError::Unavailable
        } else {
            tracing::error!(error = %e, "store operation failed");
            ApiError::Internal
        }
    }
}

/// Reading bets: Redis away is 503, a record that does not read is a broken invariant (500, logged).
impl From<common::bets::ReadError> for ApiError {
    fn from(e: common::bets::ReadError) -> ApiError {
        match e {
            common::bets::ReadError::Redis(e) => e.into(),
            common::bets::ReadError::Bad(why) => anyhow::anyhow!(why).into(),
        }
    }
}

/// MySQL (the record gm reads reports and lists from) away, or refusing the query: 503 with
/// Retry-After, logged.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        tracing::warn!(error = %e, "MySQL query failed");
        ApiError::Unavailable
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        tracing::error!(error = format!("{e:#}"), "request failed");
        ApiError::Internal
    }
}

/// JSON body extractor whose rejections use the API's error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// Path extractor whose rejections use the API's error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParam<T>(pub T);

/// Query extractor whose rejections use the API's error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// Unknown routes answer 404 in the same shape.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// A known route with another method answers 405 in the same shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
