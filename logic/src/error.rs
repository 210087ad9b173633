//! The error a handler answers with: a code from the catalogue and a message for the client.

use protocol::ErrorCode;

#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {msg}")]
pub struct AppError {
    pub code: ErrorCode,
    pub msg: String,
}

impl AppError {
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> AppError {
        AppError { code, msg: msg.into() }
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
