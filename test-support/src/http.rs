//! An HTTP client for gm tests: JSON in, (status, JSON) out, with a chosen staff token. A thin
//! wrapper of [`matchday_client::Gm`] that panics, with context, when gm does not answer.

use std::net::SocketAddr;

use matchday_client::gm::{Auth, Request};
use serde::Serialize;

use crate::{ADMIN, PAYMENT_SECRET};

/// A response: its status, its headers and its JSON body (Null when the body is not JSON), with
/// `error_code()`, `message()` and `header(name)`.
pub type Res = matchday_client::gm::Response;

#[derive(Clone)]
pub struct Gm {
    pub base: String,
    inner: matchday_client::Gm,
}

impl Gm {
    pub fn new(addr: SocketAddr) -> Gm {
        let base = format!("http://{addr}");
        Gm { inner: matchday_client::Gm::new(&base), base }
    }

    /// Sends `method path` with `token` (None = no Authorization header) and an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&impl Serialize>) -> Res {
        let mut req = Request::new(method, path).auth(token.map_or(Auth::Anonymous, Auth::Bearer));
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await
    }

    /// Sends a raw body with extra headers (payment callbacks).
    pub async fn raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, String)]) -> Res {
        let mut req = Request::new("POST", path)
            .auth(Auth::Anonymous)
            .bytes(body)
            .header("content-type", "application/json".into());
        for (k, v) in headers {
            req = req.header(k, v.clone());
        }
        self.send(req).await
    }

    /// GET with exactly these headers (no token added).
    pub async fn get_with(&self, path: &str, headers: &[(&str, String)]) -> Res {
        let mut req = Request::new("GET", path).auth(Auth::Anonymous);
        for (k, v) in headers {
            req = req.header(k, v.clone());
        }
        self.send(req).await
    }

    async fn send(&self, req: Request<'_>) -> Res {
        self.inner.send(req).await.unwrap_or_else(|e| panic!("gm answers: {e}"))
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.call("GET", path, Some(token), None::<&()>).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> Res {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// A deposit order of `amount` coins for `uid`, made by staff (`POST /api/orders` as [`ADMIN`]):
    /// its id, for [`Gm::pay`].
    pub async fn order(&self, uid: u64, amount: i64) -> String {
        let body = serde_json::json!({ "user_id": uid, "amount": amount, "channel": "bank", "reason": "test order" });
        let r = self.post("/api/orders", ADMIN, &body).await;
        assert_eq!(r.status, 201, "staff order for user {uid}: {}", r.body);
        r.body["order_id"].as_str().expect("an order id").to_owned()
    }

    /// The payment provider's callback for order `order_id` (user, amount, and the test deployment's
    /// currency [`CURRENCY`]), signed with [`PAYMENT_SECRET`].
    pub async fn pay(&self, order_id: &str, uid: u64, amount: i64) -> Res {
        let body = serde_json::json!({ "order_id": order_id, "user_id": uid, "amount": amount, "currency": CURRENCY });
        let (bytes, signature) = signed_payment(&body);
        self.raw("/api/payments/callback", bytes, &[("x-signature", signature)]).await
    }
}

/// A personal staff account made by [`Gm::staff`]: its name, password and TOTP secret (base32).
#[derive(Clone, Debug)]
pub struct StaffAccount {
    pub name: String,
    pub password: String,
    pub secret: String,
    /// Codes this test signed in with (gm takes each once).
    used: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl StaffAccount {
    /// The account with another TOTP secret (none of its codes used yet).
    pub fn with_secret(&self, secret: &str) -> StaffAccount {
        StaffAccount { secret: secret.to_owned(), used: Default::default(), ..self.clone() }
    }

    /// A code gm takes now that this test has not signed in with: of the steps 0, 1 and -1 (gm
    /// takes each once). None when all three were used.
    pub fn unused_code(&self) -> Option<String> {
        let used = self.used.lock().expect("codes");
        [0, 1, -1].into_iter().map(|s| self.code(s)).find(|c| !used.contains(c))
    }

    /// [`StaffAccount::unused_code`], noted as used; waits for the next 30-s step when all three
    /// were used.
    pub async fn fresh_code(&self) -> String {
        loop {
            if let Some(code) = self.unused_code() {
                self.used.lock().expect("codes").push(code.clone());
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// The account's TOTP code `steps` steps of 30 s from now (gm takes -1, 0 and 1, each once).
    pub fn code(&self, steps: i64) -> String {
        let secret = totp_rs::Secret::Encoded(self.secret.clone()).to_bytes().expect("a base32 secret");
        let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, self.name.clone())
            .expect("a TOTP secret");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
        totp.generate(now.saturating_add_signed(steps * 30))
    }
}

impl Gm {
    /// Creates the personal staff account `name` with `role` (as [`ADMIN`]).
    pub async fn staff(&self, name: &str, role: &str) -> StaffAccount {
        let password = format!("{name}-password-0123");
        let body = serde_json::json!({ "name": name, "role": role, "password": password });
        let r = self.post("/api/staff", ADMIN, &body).await;
        assert_eq!(r.status, 201, "staff account {name}: {}", r.body);
        let secret = r.body["totp_secret"].as_str().expect("a TOTP secret").to_owned();
        StaffAccount { name: name.to_owned(), password, secret, used: Default::default() }
    }

    /// Signs in as `account` with its code `steps` steps from now: the answer.
    pub async fn sign_in(&self, account: &StaffAccount, steps: i64) -> Res {
        let body =
            serde_json::json!({ "name": account.name, "password": account.password, "code": account.code(steps) });
        self.call("POST", "/api/staff/login", None, Some(&body)).await
    }

    /// Signs in as `account` with a code not used before; its session token.
    pub async fn session(&self, account: &StaffAccount) -> String {
        let code = account.fresh_code().await;
        let body = serde_json::json!({ "name": account.name, "password": account.password, "code": code });
        let r = self.call("POST", "/api/staff/login", None, Some(&body)).await;
        assert_eq!(r.status, 200, "sign-in of {}: {}", account.name, r.body);
        r.body["token"].as_str().expect("a session token").to_owned()
    }
}

/// The currency of the tests' orders (`orders.currency` by default).
pub const CURRENCY: &str = "USD";

/// A payment callback's body as bytes, and its `X-Signature` with [`PAYMENT_SECRET`].
pub fn signed_payment(body: &serde_json::Value) -> (Vec<u8>, String) {
    let bytes = serde_json::to_vec(body).expect("json");
    let signature = sign(&bytes, PAYMENT_SECRET);
    (bytes, signature)
}

/// The hex HMAC-SHA256 of `body` with `secret`, as the payment provider signs callbacks.
pub fn sign(body: &[u8], secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
