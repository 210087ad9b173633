//! A player that rides out faults, as a well-written mobile client does: when its connection drops
//! it connects again (to the next connect node it knows), resumes its session (or logs in again
//! when the session is gone), and sends the request it was waiting on again. A request is sent
//! again, with the same body (so the same `req_id`), until some attempt is answered: a reply
//! to any attempt ends the call. Answers that mean "try again" (1 internal, 5 rate limited,
//! 6 unavailable) are retried too; every other answer is final and returned.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use protocol::codec::{encode_frame, frame_to_json};
use protocol::{ClientHead, ReplyHead, msg};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one attempt waits for its reply before the request is sent again.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a call keeps trying before it fails (the system is then down, not faulty).
pub const GIVE_UP: Duration = Duration::from_secs(120);
/// Answers that say "not done, try again".
pub const RETRY_CODES: &[u16] = &[1, 5, 6];

/// The connect nodes players may use; a test adds and removes nodes while players run.
pub type Nodes = Arc<Mutex<Vec<SocketAddr>>>;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a player went through.
#[derive(Debug, Default, Clone)]
pub struct Trouble {
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Requests sent again after an attempt got no answer (a timeout or a lost connection).
    pub resends: u64,
    /// Retry answers (1, 5, 6) by code.
    pub retried: BTreeMap<u16, u64>,
    /// Sessions that could not be resumed and were opened again with a login.
    pub relogins: u64,
}

/// A final answer: code and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub code: u16,
    pub body: Value,
}

pub struct Player {
    pub username: String,
    password: String,
    pub uid: Option<u64>,
    token: Option<String>,
    nodes: Nodes,
    next_node: usize,
    ws: Option<Ws>,
    connected_once: bool,
    seq: u32,
    pub trouble: Trouble,
}

impl Player {
    pub fn new(username: &str, password: &str, nodes: Nodes, first_node: usize) -> Player {
        Player {
            username: username.to_owned(),
            password: password.to_owned(),
            uid: None,
            token: None,
            nodes,
            next_node: first_node,
            ws: None,
            connected_once: false,
            seq: 0,
            trouble: Trouble::default(),
        }
    }

    /// Registers (101); a retried registration answered "username taken" means an earlier attempt
    /// took it, so that counts as done. Then logs in. Returns the user id.
    pub async fn sign_up(&mut self) -> anyhow::Result<u64> {
        let creds = json!({ "username": self.username, "password": self.password });
        let a = self.call(msg::REGISTER, creds.clone()).await?;
        match a.code {
            0 | 1002 => {}
            code => bail!("register {}: code {code}: {}", self.username, a.body),
        }
        self.log_in().await
    }

    /// Logs in (102) on the current connection, and keeps the new session.
    pub async fn log_in(&mut self) -> anyhow::Result<u64> {
        let creds = json!({ "username": self.username, "password": self.password });
        let a = self.call(msg::LOGIN, creds).await?;
        anyhow::ensure!(a.code == 0, "login {}: code {}: {}", self.username, a.code, a.body);
        let uid = a.body["user_id"].as_u64().context("login reply without user_id")?;
        self.uid = Some(uid);
        self.token = Some(a.body["token"].as_str().context("login reply without token")?.to_owned());
        Ok(uid)
    }

    /// Sends request `id` with `body` until an attempt gets a final answer (see the module docs).
    pub async fn call(&mut self, id: u16, body: Value) -> anyhow::Result<Answer> {
        let started = Instant::now();
        let mut seqs = HashSet::new();
        let mut attempts = 0u32;
        let mut unanswered = false; // the last attempt got no answer: the next one is a resend
        loop {
            if started.elapsed() > GIVE_UP {
                bail!("{}: msg {id} unanswered after {attempts} attempts in {GIVE_UP:?}", self.username);
            }
            if self.ws.is_none()
                && let Err(e) = self.reconnect(id).await
            {
                tracing::debug!(player = %self.username, error = format!("{e:#}"), "cannot reconnect yet");
                self.ws = None;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            attempts += 1;
            if unanswered {
                self.trouble.resends += 1;
            }
            unanswered = true;
            let seq = self.next_seq();
            seqs.insert(seq);
            let ws = self.ws.as_mut().expect("connected");
            match exchange(ws, id, seq, &body, &seqs).await {
                Ok(Some((4, _))) => self.ws = None, // the session was lost: open it again
                Ok(Some((code, _))) if RETRY_CODES.contains(&code) => {
                    unanswered = false;
                    *self.trouble.retried.entry(code).or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(Some((code, body))) => return Ok(Answer { code, body }),
                Ok(None) => {}            // no answer in time: send again
                Err(_) => self.ws = None, // connection lost: connect again, then send again
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Connects to the next node and restores the session (resume, or login when it is gone).
    /// `for_msg` is the request about to be sent: register and login need no session.
    async fn reconnect(&mut self, for_msg: u16) -> anyhow::Result<()> {
        let addr = {
            let nodes = self.nodes.lock().expect("nodes");
            anyhow::ensure!(!nodes.is_empty(), "no connect node");
            self.next_node = (self.next_node + 1) % nodes.len();
            nodes[self.next_node]
        };
        let connecting = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"));
        let (ws, _) = tokio::time::timeout(ATTEMPT_TIMEOUT, connecting).await.context("connect timed out")??;
        if self.connected_once {
            self.trouble.reconnects += 1;
        }
        self.connected_once = true;
        self.ws = Some(ws);
        if matches!(for_msg, msg::REGISTER | msg::LOGIN) || self.uid.is_none() {
            return Ok(());
        }
        if let Some(token) = self.token.clone() {
            match self.once(msg::RESUME, json!({ "token": token })).await? {
                (0, _) => return Ok(()),
                (1008, _) => {}
                (code, body) => bail!("resume: code {code}: {body}"),
            }
        }
        self.trouble.relogins += 1;
        match self.once(msg::LOGIN, json!({ "username": self.username, "password": self.password })).await? {
            (0, body) => {
                self.token = body["token"].as_str().map(str::to_owned);
                Ok(())
            }
            (code, body) => bail!("login: code {code}: {body}"),
        }
    }

    /// One attempt on the current connection, no retry.
    async fn once(&mut self, id: u16, body: Value) -> anyhow::Result<(u16, Value)> {
        let seq = self.next_seq();
        let ws = self.ws.as_mut().context("not connected")?;
        exchange(ws, id, seq, &body, &HashSet::from([seq])).await?.context("no answer in time")
    }

    /// Closes the connection (to end a run).
    pub async fn close(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
        }
    }
}

/// Sends `[id, seq] body` and waits up to [`ATTEMPT_TIMEOUT`] for a reply to any seq in `seqs`
/// (pushes and replies to other requests are skipped). Ok(None): no answer in time; Err: the
/// connection is gone.
async fn exchange(
    ws: &mut Ws,
    id: u16,
    seq: u32,
    body: &Value,
    seqs: &HashSet<u32>,
) -> anyhow::Result<Option<(u16, Value)>> {
    let frame = encode_frame(&ClientHead { id, seq, ver: None }, body)?;
    ws.send(Message::Binary(frame.into())).await?;
    let deadline = Instant::now() + ATTEMPT_TIMEOUT;
    loop {
        let next = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Ok(None),
            Ok(None) => bail!("connection closed"),
            Ok(Some(m)) => m?,
        };
        let (head, body) = match next {
            Message::Binary(b) => serde_json::from_str::<(ReplyHead, Value)>(&frame_to_json(&b)?)?,
            Message::Text(t) => serde_json::from_str::<(ReplyHead, Value)>(t.as_str())?,
            Message::Close(_) => bail!("connection closed by the server"),
            _ => continue,
        };
        if head.seq != 0 && seqs.contains(&head.seq) {
            return Ok(Some((head.code, body)));
        }
    }
}
