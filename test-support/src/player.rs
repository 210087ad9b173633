//! A player that rides out faults, as a well-written mobile client does: when its connection drops
//! it connects again (to the next connect node it knows), resumes its session (or logs in again
//! when the session is gone), and sends the request it was waiting on again. A request is sent
//! again, with the same body (so the same `req_id`), until some attempt is answered: a reply
//! to any attempt ends the call. Answers that mean "try again" (1 internal, 5 rate limited,
//! 6 unavailable) are retried too; every other answer is final and returned.
//!
//! The SDK's [`matchday_client::Resilient`] does the work; this keeps the tests' names and shapes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use matchday_client::{Policy, Resilient};
use serde_json::Value;

pub use matchday_client::Trouble;

/// How long one attempt waits for its reply before the request is sent again.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a call keeps trying before it fails (the system is then down, not faulty).
pub const GIVE_UP: Duration = Duration::from_secs(120);
/// Answers that say "not done, try again".
pub const RETRY_CODES: &[u16] = matchday_client::RETRY_CODES;

/// The connect nodes players may use; a test adds and removes nodes while players run.
pub type Nodes = Arc<Mutex<Vec<SocketAddr>>>;

/// A final answer: code and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub code: u16,
    pub body: Value,
}

pub struct Player {
    pub username: String,
    pub uid: Option<u64>,
    pub trouble: Trouble,
    inner: Resilient,
}

impl Player {
    /// A player of `username` that connects to the node after `first_node` first, then round the
    /// nodes in turn.
    pub fn new(username: &str, password: &str, nodes: Nodes, first_node: usize) -> Player {
        let mut next = first_node;
        let next_node = move || {
            let nodes = nodes.lock().ok()?;
            if nodes.is_empty() {
                return None;
            }
            next = (next + 1) % nodes.len();
            Some(format!("ws://{}/ws", nodes[next]))
        };
        let policy = Policy { attempt_timeout: ATTEMPT_TIMEOUT, give_up: GIVE_UP, pause: Duration::from_millis(100) };
        let inner = Resilient::new(username, password, Box::new(next_node)).with_policy(policy);
        Player { username: username.to_owned(), uid: None, trouble: Trouble::default(), inner }
    }

    /// Registers (101); a retried registration answered "username taken" means an earlier attempt
    /// took it, so that counts as done. Then logs in. Returns the user id.
    pub async fn sign_up(&mut self) -> anyhow::Result<u64> {
        let signed_up = self.inner.sign_up().await;
        self.sync();
        signed_up.with_context(|| format!("sign up {}", self.username))
    }

    /// Logs in (102) on the current connection, and keeps the new session.
    pub async fn log_in(&mut self) -> anyhow::Result<u64> {
        let logged_in = self.inner.log_in().await;
        self.sync();
        logged_in.with_context(|| format!("login {}", self.username))
    }

    /// Sends request `id` with `body` until an attempt gets a final answer (see the module docs).
    pub async fn call(&mut self, id: u16, body: Value) -> anyhow::Result<Answer> {
        let answered = self.inner.call(id, &body).await;
        self.sync();
        let f = answered.with_context(|| format!("{}: msg {id}", self.username))?;
        Ok(Answer { code: f.code(), body: f.json()? })
    }

    fn sync(&mut self) {
        self.uid = self.inner.user_id();
        self.trouble = self.inner.trouble().clone();
    }

    /// Closes the connection (to end a run).
    pub async fn close(&mut self) {
        self.inner.close().await;
    }
}
