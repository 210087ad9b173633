//! [`Resilient`]: a client that rides out faults, as a well-written mobile client does. When its
//! connection drops it connects again (to the next node [`Resilient::new`]'s `next_node` gives),
//! restores its session (a resume with the token it keeps — rotated by every resume — or a login
//! when the session is gone), and sends the request it was waiting on again, with the same body
//! (so the same `req_id`), until some attempt is answered: a reply to any attempt ends the call.
//! Answers that mean "try again" ([`RETRY_CODES`]) are retried too; every other answer is final.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use protocol::body::{Credentials, ResumeRequest, SessionReply};
use protocol::{ErrorCode, msg};
use serde::Serialize;
use tokio::time::Instant;

use crate::{Client, ClientError, Frame, Options};

/// Answers that say "not done, try again": 1 internal, 5 rate limited, 6 busy / unavailable.
pub const RETRY_CODES: &[u16] = &[1, 5, 6];

/// How hard a [`Resilient`] tries.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long one attempt (and one connect) waits before the request is sent again.
    pub attempt_timeout: Duration,
    /// How long a call keeps trying before it fails (the system is then down, not faulty).
    pub give_up: Duration,
    /// The pause after a retry answer, and before connecting again after a failed connect.
    pub pause: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            attempt_timeout: Duration::from_secs(3),
            give_up: Duration::from_secs(120),
            pause: Duration::from_millis(100),
        }
    }
}

/// What a [`Resilient`] went through.
#[derive(Debug, Default, Clone)]
pub struct Trouble {
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Requests sent again after an attempt got no answer (a timeout or a lost connection).
    pub resends: u64,
    /// Retry answers ([`RETRY_CODES`]) by code.
    pub retried: BTreeMap<u16, u64>,
    /// Sessions that could not be resumed and were opened again with a login.
    pub relogins: u64,
}

/// Where to connect next: a `ws://` URL, or None when no node is known right now.
pub type NextNode = Box<dyn FnMut() -> Option<String> + Send>;

/// A client that reconnects, resumes and resends (see the module docs).
pub struct Resilient {
    creds: Credentials,
    next_node: NextNode,
    options: Options,
    policy: Policy,
    conn: Option<Client>,
    connected_once: bool,
    user_id: Option<u64>,
    token: Option<String>,
    trouble: Trouble,
}

impl Resilient {
    /// A client for the account `username`, connecting where `next_node` says (asked again on
    /// every reconnect). Nothing is connected until the first call.
    pub fn new(username: &str, password: &str, next_node: NextNode) -> Resilient {
        Resilient {
            creds: Credentials { username: username.into(), password: password.into() },
            next_node,
            options: Options::default(),
            policy: Policy::default(),
            conn: None,
            connected_once: false,
            user_id: None,
            token: None,
            trouble: Trouble::default(),
        }
    }

    pub fn with_policy(mut self, policy: Policy) -> Resilient {
        self.policy = policy;
        self
    }

    pub fn with_options(mut self, options: Options) -> Resilient {
        self.options = options;
        self
    }

    pub fn username(&self) -> &str {
        &self.creds.username
    }

    /// The user id once logged in.
    pub fn user_id(&self) -> Option<u64> {
        self.user_id
    }

    pub fn trouble(&self) -> &Trouble {
        &self.trouble
    }

    /// The connection now, if any (to read its pushes).
    pub fn connection(&mut self) -> Option<&mut Client> {
        self.conn.as_mut()
    }

    /// Registers (101) — a retried registration answered 1002 "username taken" means an earlier
    /// attempt took it, so that counts as done — then logs in. Returns the user id.
    pub async fn sign_up(&mut self) -> Result<u64, ClientError> {
        let creds = self.creds.clone();
        let reply = self.call(msg::REGISTER, &creds).await?;
        if !matches!(reply.code(), 0 | 1002) {
            return Err(ClientError::Refused(Box::new(reply)));
        }
        self.log_in().await
    }

    /// Logs in (102) and keeps the new session. Returns the user id.
    pub async fn log_in(&mut self) -> Result<u64, ClientError> {
        let creds = self.creds.clone();
        let session: SessionReply = self.call(msg::LOGIN, &creds).await?.ok()?.decode()?;
        self.user_id = Some(session.user_id);
        self.token = Some(session.token);
        Ok(session.user_id)
    }

    /// Sends request `id` with `body` until an attempt gets a final answer, which is returned
    /// whatever its code; Err only when [`Policy::give_up`] ran out.
    pub async fn call<B: Serialize + ?Sized>(&mut self, id: u16, body: &B) -> Result<Frame, ClientError> {
        let started = Instant::now();
        let mut seqs = HashSet::new();
        let mut attempts = 0u32;
        let mut unanswered = false; // the last attempt got no answer: the next one is a resend
        loop {
            if started.elapsed() > self.policy.give_up {
                return Err(ClientError::GaveUp(format!(
                    "{}: msg {id} unanswered after {attempts} attempts in {:?}",
                    self.creds.username, self.policy.give_up
                )));
            }
            if self.conn.is_none() {
                if let Err(e) = self.reconnect(id).await {
                    tracing::debug!(player = %self.creds.username, error = %e, "cannot reconnect yet");
                    self.conn = None;
                    tokio::time::sleep(self.policy.pause).await;
                    continue;
                }
                seqs.clear(); // a reply on this connection answers a request sent on it
            }
            attempts += 1;
            if unanswered {
                self.trouble.resends += 1;
            }
            unanswered = true;
            let Some(conn) = self.conn.as_mut() else { continue };
            match attempt(conn, id, body, &mut seqs, self.policy.attempt_timeout).await {
                Ok(Some(f)) if f.code() == ErrorCode::NotLoggedIn.code() => self.conn = None, // open it again
                Ok(Some(f)) if RETRY_CODES.contains(&f.code()) => {
                    unanswered = false;
                    *self.trouble.retried.entry(f.code()).or_default() += 1;
                    tokio::time::sleep(self.policy.pause).await;
                }
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}              // no answer in time: send again
                Err(_) => self.conn = None, // connection lost: connect again, then send again
            }
        }
    }

    /// Connects to the next node and restores the session (resume, or login when it is gone).
    /// `for_msg` is the request about to be sent: register and login need no session.
    async fn reconnect(&mut self, for_msg: u16) -> Result<(), ClientError> {
        let url = (self.next_node)().ok_or_else(|| ClientError::GaveUp("no connect node".into()))?;
        let mut options = self.options.clone();
        options.connect_timeout = self.policy.attempt_timeout;
        options.reply_timeout = self.policy.attempt_timeout;
        let conn = Client::connect_with(&url, options).await?;
        if self.connected_once {
            self.trouble.reconnects += 1;
        }
        self.connected_once = true;
        let conn = self.conn.insert(conn);
        if matches!(for_msg, msg::REGISTER | msg::LOGIN) || self.user_id.is_none() {
            return Ok(());
        }
        if let Some(token) = self.token.clone() {
            let reply = conn.call(msg::RESUME, &ResumeRequest { token }).await?;
            match reply.code() {
                // A resume rotates the token: the one sent no longer resumes.
                0 => {
                    self.token = Some(reply.decode::<SessionReply>()?.token);
                    return Ok(());
                }
                1008 => {}
                _ => return Err(ClientError::Refused(Box::new(reply))),
            }
        }
        self.trouble.relogins += 1;
        let session = conn.login(&self.creds.username, &self.creds.password).await?;
        self.token = Some(session.token);
        Ok(())
    }

    /// Closes the connection (to end a run).
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// Sends one attempt and waits up to `timeout` for a reply to any attempt in `seqs` (pushes are
/// queued, replies to other requests skipped). Ok(None): no answer in time; Err: the connection
/// is gone.
async fn attempt<B: Serialize + ?Sized>(
    conn: &mut Client,
    id: u16,
    body: &B,
    seqs: &mut HashSet<u32>,
    timeout: Duration,
) -> Result<Option<Frame>, ClientError> {
    seqs.insert(conn.send(id, body).await?);
    conn.flush().await?;
    let deadline = Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, conn.next_reply()).await {
            Err(_) | Ok(Err(ClientError::Timeout(_))) => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(f)) if seqs.contains(&f.head.seq) => return Ok(Some(f)),
            Ok(Ok(_)) => continue,
        }
    }
}
