//! An HTTP client for gm tests: JSON in, (status, JSON) out, with a chosen staff token.

use std::net::SocketAddr;

use serde::Serialize;
use serde_json::Value;

#[derive(Clone)]
pub struct Gm {
    pub base: String,
    http: reqwest::Client,
}

/// A response: its status and its JSON body (Null when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Res {
    pub status: u16,
    pub body: Value,
}

impl Res {
    /// The `error.code` of an error body.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl Gm {
    pub fn new(addr: SocketAddr) -> Gm {
        Gm { base: format!("http://{addr}"), http: reqwest::Client::new() }
    }

    /// Sends `method path` with `token` (None = no Authorization header) and an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&impl Serialize>) -> Res {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::finish(req).await
    }

    /// Sends a raw body with extra headers (payment callbacks).
    pub async fn raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, String)]) -> Res {
        let mut req =
            self.http.post(format!("{}{path}", self.base)).body(body).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        Self::finish(req).await
    }

    /// GET with exactly these headers (no token added).
    pub async fn get_with(&self, path: &str, headers: &[(&str, String)]) -> Res {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        Self::finish(req).await
    }

    async fn finish(req: reqwest::RequestBuilder) -> Res {
        let resp = req.send().await.expect("gm answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        Res { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.call("GET", path, Some(token), None::<&()>).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> Res {
        self.call("POST", path, Some(token), Some(body)).await
    }
}
