//! [`Gm`]: a client of gm, the staff HTTP API (docs/gm.md): JSON in and out, a bearer token, and
//! gm's error shape `{"error": {"code", "message"}}` turned into [`GmError::Api`].

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Why a gm call failed.
#[derive(Debug, thiserror::Error)]
pub enum GmError {
    /// No answer: gm unreachable, the connection dropped, a timeout.
    #[error("gm {method} {path}: no answer: {source}")]
    Transport {
        method: String,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// gm answered an error status, with its error code and message (empty when the body is not
    /// gm's error shape), and `Retry-After` in seconds when it sent one (503).
    #[error("gm {method} {path}: {status} {code}: {message}")]
    Api { method: String, path: String, status: u16, code: String, message: String, retry_after: Option<u64> },
    /// A request body could not be encoded, or a success body is not what was expected.
    #[error("gm {method} {path}: {why}")]
    Body { method: String, path: String, why: String },
}

impl GmError {
    /// The HTTP status gm answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GmError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Worth retrying as is: no answer, or 503 (busy, or Redis unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, GmError::Transport { .. }) || self.status() == Some(503)
    }
}

/// gm's answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    /// The JSON body (Null when the body is not JSON).
    pub body: Value,
    /// The body as it came, as text (`/metrics`, say, is not JSON).
    pub text: String,
}

impl Response {
    /// The `error.code` of an error body ("" when there is none).
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The `error.message` of an error body ("" when there is none).
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }

    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Whose token a [`Request`] carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// The client's own token (none if it has none).
    Client,
    /// This one instead.
    Bearer(&'a str),
    /// No Authorization header.
    Anonymous,
}

/// One request, for [`Gm::send`]: any method, path, token, body and headers.
#[derive(Debug)]
pub struct Request<'a> {
    method: &'a str,
    path: &'a str,
    auth: Auth<'a>,
    body: Option<Result<Vec<u8>, String>>,
    headers: Vec<(&'a str, String)>,
}

impl<'a> Request<'a> {
    /// `method` is any HTTP method (`GET`, `POST`, `PUT`, …); `path` starts with `/`.
    pub fn new(method: &'a str, path: &'a str) -> Request<'a> {
        Request { method, path, auth: Auth::Client, body: None, headers: Vec::new() }
    }

    pub fn auth(mut self, auth: Auth<'a>) -> Request<'a> {
        self.auth = auth;
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(mut self, body: &impl Serialize) -> Request<'a> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| e.to_string()));
        self.header("content-type", "application/json".into())
    }

    /// A body sent as is (set its content type with [`Request::header`]).
    pub fn bytes(mut self, body: Vec<u8>) -> Request<'a> {
        self.body = Some(Ok(body));
        self
    }

    pub fn header(mut self, name: &'a str, value: String) -> Request<'a> {
        self.headers.push((name, value));
        self
    }
}

/// gm at a base address (e.g. `http://127.0.0.1:7002`), optionally as a staff member with a token.
#[derive(Clone)]
pub struct Gm {
    base: String,
    token: Option<String>,
    timeout: Option<Duration>,
    http: reqwest::Client,
}

impl Gm {
    pub fn new(base: &str) -> Gm {
        Gm { base: base.trim_end_matches('/').to_owned(), token: None, timeout: None, http: reqwest::Client::new() }
    }

    /// Sends `token` as the bearer token of every request (unless a [`Request`] says otherwise).
    pub fn with_token(mut self, token: &str) -> Gm {
        self.token = Some(token.to_owned());
        self
    }

    /// Gives every request at most `timeout` to be answered (none by default); a request that
    /// takes longer fails with [`GmError::Transport`].
    pub fn with_timeout(mut self, timeout: Duration) -> Gm {
        self.timeout = Some(timeout);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `req`; gm's answer whatever its status (Err only when there is no answer, or the
    /// request body could not be encoded).
    pub async fn send(&self, req: Request<'_>) -> Result<Response, GmError> {
        let (method, path) = (req.method, req.path);
        let body_err = |why: String| GmError::Body { method: method.into(), path: path.into(), why };
        let verb = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| body_err(e.to_string()))?;
        let mut http = self.http.request(verb, format!("{}{path}", self.base));
        let token = match req.auth {
            Auth::Client => self.token.as_deref(),
            Auth::Bearer(t) => Some(t),
            Auth::Anonymous => None,
        };
        if let Some(t) = token {
            http = http.bearer_auth(t);
        }
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        for (name, value) in req.headers {
            http = http.header(name, value);
        }
        if let Some(body) = req.body {
            http = http.body(body.map_err(body_err)?);
        }
        let transport = |source| GmError::Transport { method: method.into(), path: path.into(), source };
        let resp = http.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(transport)?;
        Ok(Response { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null), text })
    }

    /// Sends `req` and decodes a 2xx body as `T`; any other status is [`GmError::Api`].
    pub async fn fetch<T: DeserializeOwned>(&self, req: Request<'_>) -> Result<T, GmError> {
        let (method, path) = (req.method.to_owned(), req.path.to_owned());
        let res = self.send(req).await?;
        if !res.is_success() {
            let retry_after = res.header("retry-after").parse().ok();
            let (code, message) = (res.error_code().to_owned(), res.message().to_owned());
            return Err(GmError::Api { method, path, status: res.status, code, message, retry_after });
        }
        serde_json::from_value(res.body).map_err(|e| GmError::Body { method, path, why: e.to_string() })
    }

    /// GET `path`, decoded.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GmError> {
        self.fetch(Request::new("GET", path)).await
    }

    /// POST `path` with a JSON body, decoded.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, GmError> {
        self.fetch(Request::new("POST", path).json(body)).await
    }

    /// Creates a match from its JSON spec (docs/gm.md, `POST /api/matches`); its id.
    pub async fn create_match(&self, spec: &Value) -> Result<u64, GmError> {
        let created: Value = self.post("/api/matches", spec).await?;
        number(&created, "match_id", "POST", "/api/matches")
    }

    /// Approves match `mid` (`pending` → `not_started`).
    pub async fn approve_match(&self, mid: u64) -> Result<Value, GmError> {
        self.fetch(Request::new("POST", &format!("/api/matches/{mid}/approve"))).await
    }

    /// Opens match `mid` for betting; its odds version.
    pub async fn open_match(&self, mid: u64) -> Result<u64, GmError> {
        let path = format!("/api/matches/{mid}/open");
        let opened: Value = self.fetch(Request::new("POST", &path)).await?;
        number(&opened, "odds_ver", "POST", &path)
    }

    /// Match `mid` as staff see it (its bet count and pool included).
    pub async fn match_view(&self, mid: u64) -> Result<Value, GmError> {
        self.get(&format!("/api/matches/{mid}")).await
    }

    /// Grants `amount` coins to `uid` once per `request_id`; the balance after.
    pub async fn grant(&self, uid: u64, amount: i64, reason: &str, request_id: &str) -> Result<i64, GmError> {
        let path = format!("/api/users/{uid}/grant");
        let body = json!({ "amount": amount, "reason": reason, "request_id": request_id });
        let res: Value = self.post(&path, &body).await?;
        res["balance"].as_i64().ok_or_else(|| missing("balance", "POST", &path))
    }
}

fn number(v: &Value, field: &str, method: &str, path: &str) -> Result<u64, GmError> {
    v[field].as_u64().ok_or_else(|| missing(field, method, path))
}

fn missing(field: &str, method: &str, path: &str) -> GmError {
    GmError::Body { method: method.into(), path: path.into(), why: format!("the reply has no {field}") }
}
