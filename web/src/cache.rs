//! Cacheable answers: every successful GET of the API carries a strong `ETag` (the first 128 bits
//! of the body's SHA-256, so the same content has the same tag on every web process) and
//! `Cache-Control: public, max-age=web.max_age_s`; a request whose `If-None-Match` names the tag
//! is answered `304 Not Modified` with the tag and no body. Errors are not cached (`no-store`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::WebError;

/// The largest answer the layer reads to tag (a page is far smaller).
const MAX_BODY: usize = 8 << 20;

pub async fn conditional(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let asked = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.run(req).await;
    if !get {
        return res;
    }
    if !res.status().is_success() {
        let mut res = res;
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        tracing::error!("an answer could not be read to tag it");
        return WebError::Internal.into_response();
    };
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
    let cache = format!("public, max-age={}", st.cfg.web.max_age_s);
    let (Ok(etag), Ok(cache)) = (HeaderValue::from_str(&tag), HeaderValue::from_str(&cache)) else {
        return WebError::Internal.into_response();
    };
    if asked.as_ref().is_some_and(|a| matches(a, &tag)) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        not_modified.headers_mut().insert(header::ETAG, etag);
        not_modified.headers_mut().insert(header::CACHE_CONTROL, cache);
        return not_modified;
    }
    parts.headers.insert(header::ETAG, etag);
    parts.headers.insert(header::CACHE_CONTROL, cache);
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether an `If-None-Match` value names `tag` (a list of tags, weak ones too, or `*`).
fn matches(asked: &HeaderValue, tag: &str) -> bool {
    asked
        .to_str()
        .map(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == tag))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let tag = "\"abc\"";
        for yes in ["\"abc\"", "\"x\", \"abc\"", "W/\"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(yes), tag), "{yes}");
        }
        assert!(!matches(&HeaderValue::from_static("\"abd\""), tag));
    }
}
