//! The one error shape, as gm's: `{ "error": { "code", "message" } }`. Bad parameters are 400
//! naming the parameter, an unknown match 404, Redis away (or a request past the limits) 503 with
//! `Retry-After`; nothing here is a 500 unless a stored record is malformed (logged).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("service unavailable, retry shortly")]
    Unavailable,
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    #[error("internal error")]
    Internal,
}

/// Body of every error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl WebError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            WebError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            WebError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            WebError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            WebError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            WebError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: self.to_string() } };
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> WebError {
        if e.is_transient() {
            tracing::warn!(error = %e, "Redis unavailable; answering 503");
            WebError::Unavailable
        } else {
            tracing::error!(error = %e, "a stored record could not be read");
            WebError::Internal
        }
    }
}

impl From<fred::error::Error> for WebError {
    fn from(e: fred::error::Error) -> WebError {
        StoreError::from(e).into()
    }
}

impl From<QueryRejection> for WebError {
    fn from(e: QueryRejection) -> WebError {
        WebError::BadRequest(e.body_text())
    }
}

impl From<PathRejection> for WebError {
    fn from(e: PathRejection) -> WebError {
        WebError::BadRequest(e.body_text())
    }
}

/// Query parameters whose rejection uses the error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct QueryParams<T>(pub T);

/// A path parameter whose rejection uses the error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct PathParam<T>(pub T);

pub async fn not_found() -> WebError {
    WebError::NotFound("no such route".into())
}

pub async fn method_not_allowed() -> WebError {
    WebError::MethodNotAllowed
}

/// What the load-shedding and timeout layers' errors answer.
pub fn refused(e: tower::BoxError, timeout_ms: u64) -> WebError {
    if e.is::<tower::load_shed::error::Overloaded>() {
        WebError::Unavailable
    } else if e.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(timeout_ms, "a web request was not answered within web.request_timeout_ms");
        WebError::Timeout(timeout_ms)
    } else {
        tracing::error!(error = %e, "web middleware failed");
        WebError::Internal
    }
}
