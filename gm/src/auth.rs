//! Staff authentication: `Authorization: Bearer <token>` — a personal account's session token or
//! an API token made for it (`crate::staff`), or a shared token of `[[gm.tokens]]`, compared in constant time; role checks
//! through typed extractors ([`Viewer`], [`Operator`], [`Admin`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use common::config::{Role, StaffToken};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Staff {
    pub name: String,
    pub role: Role,
}

/// Finds the staff member whose token is `presented`. Every configured token is compared, in
/// constant time, so the answer's timing does not tell how much of a token was right.
pub fn authenticate(tokens: &[StaffToken], presented: &str) -> Option<Staff> {
    let mut found = None;
    for t in tokens {
        let equal: bool = t.token.expose_secret().as_bytes().ct_eq(presented.as_bytes()).into();
        if equal && found.is_none() {
            found = Some(Staff { name: t.name.clone(), role: t.role });
        }
    }
    found
}

/// The bearer token of a request's headers.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    // The scheme is case-insensitive (RFC 9110 §11.1).
    header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
}

async fn staff_of(parts: &Parts, state: &AppState) -> Result<Staff, ApiError> {
    let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
    if let Some(staff) = authenticate(&state.cfg.gm.tokens, token) {
        return Ok(staff);
    }
    if token.starts_with(crate::staff::SESSION_PREFIX)
        && let Some(staff) = crate::staff::session(state, token).await?
    {
        return Ok(staff);
    }
    if token.starts_with(crate::staff::TOKEN_PREFIX)
        && let Some(staff) = crate::staff::api_token(state, token).await?
    {
        return Ok(staff);
    }
    Err(ApiError::Unauthorized)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr) => {
        #[doc = concat!("A caller with at least the ", stringify!($name), " role.")]
        pub struct $name(pub Staff);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
                let staff = staff_of(parts, state).await?;
                if staff.role < $role {
                    return Err(ApiError::Forbidden($role.name()));
                }
                Ok($name(staff))
            }
        }
    };
}

role_extractor!(Viewer, Role::Viewer);
role_extractor!(Operator, Role::Operator);
role_extractor!(Admin, Role::Admin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_exactly() {
        let tokens = vec![
            StaffToken { name: "v".into(), token: "viewer-token-123456".into(), role: Role::Viewer },
            StaffToken { name: "a".into(), token: "admin-token-1234567".into(), role: Role::Admin },
        ];
        assert_eq!(authenticate(&tokens, "admin-token-1234567").map(|s| s.role), Some(Role::Admin));
        assert!(authenticate(&tokens, "admin-token-123456").is_none(), "a prefix is not the token");
        assert!(authenticate(&tokens, "").is_none());
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
