//! The error a handler answers with: a code from the catalogue and a message for the client.

use protocol::ErrorCode;

#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {msg}")]
pub struct AppError {
    pub code: ErrorCode,
    pub msg: String,
    /// More fields for the error body, next to `msg` (1005 carries the current odds).
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
    /// A code outside the catalogue that a Lua module answered with (its extension range, see
    /// docs/lua.md); `code` is then `Internal`, for anything that needs an [`ErrorCode`].
    pub ext_code: Option<u16>,
}

impl AppError {
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> AppError {
        AppError { code, msg: msg.into(), details: None, ext_code: None }
    }

    /// An extension error code (docs/lua.md: 5000..=5999) with a message.
    pub fn extension(code: u16, msg: impl Into<String>) -> AppError {
        AppError { code: ErrorCode::Internal, msg: msg.into(), details: None, ext_code: Some(code) }
    }

    /// The code the client sees.
    pub fn wire_code(&self) -> u16 {
        self.ext_code.unwrap_or(self.code.code())
    }

    /// Adds fields to the error body.
    pub fn with_details(mut self, details: serde_json::Value) -> AppError {
        if let serde_json::Value::Object(map) = details {
            self.details = Some(map);
        }
        self
    }

    /// The error body: `{ "msg": ... }` plus any details.
    pub fn body(&self) -> serde_json::Value {
        let mut body = self.details.clone().unwrap_or_default();
        body.insert("msg".into(), self.msg.clone().into());
        serde_json::Value::Object(body)
    }

    /// The code with its catalogue message.
    pub fn code(code: ErrorCode) -> AppError {
        AppError::new(code, code.message())
    }

    pub fn invalid_body(why: impl std::fmt::Display) -> AppError {
        AppError::new(ErrorCode::InvalidBody, format!("invalid request body: {why}"))
    }

    pub fn internal(why: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %why, "handler failed");
        AppError::code(ErrorCode::Internal)
    }
}

/// A Redis failure is "try again" for the client; the worker logs it.
impl From<fred::error::Error> for AppError {
    fn from(e: fred::error::Error) -> AppError {
        tracing::warn!(error = %e, "Redis command failed in a handler");
        AppError::code(ErrorCode::Unavailable)
    }
}

/// Reading bets: Redis away is "try again", a record that does not read is a broken invariant.
impl From<common::bets::ReadError> for AppError {
    fn from(e: common::bets::ReadError) -> AppError {
        match e {
            common::bets::ReadError::Redis(e) => e.into(),
            common::bets::ReadError::Bad(why) => AppError::internal(why),
        }
    }
}

/// A store failure: transient (Redis away, loading, busy, ...) is "try again" (code 6); anything
/// else is a bug or a broken invariant (code 1, logged).
impl From<common::store::StoreError> for AppError {
    fn from(e: common::store::StoreError) -> AppError {
        if e.is_transient() {
            tracing::warn!(error = %e, "Redis unavailable in a handler");
            AppError::code(ErrorCode::Unavailable)
        } else {
            AppError::internal(e)
        }
    }
}
