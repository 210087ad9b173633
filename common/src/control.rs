//! Commands to running processes (`reload`, `drain`, …), over Redis lists like everything else:
//! the sender (gm, `matchday reload`) LPUSHes a command onto `ctl:{role}:{node}` of each process it
//! addresses (found by their heartbeats), and each process answers on `ctl:reply:{id}`, so the
//! sender knows who did what. A command list expires a minute after its last command (a dead
//! process's commands do not pile up); a reply list a minute after its last answer.
//!
//! - [`listen`]: a process's side — a task that takes its commands and hands each to the process
//!   with a [`Responder`].
//! - [`send`]: the sender's side — push a command to some nodes and collect their answers.
//! - [`serve`]: how every service answers its commands: [`listen`] plus a dispatcher that handles
//!   `drain` itself (answer ok "draining", then start the graceful shutdown exactly as SIGTERM does)
//!   and hands any other command to the service's [`Handlers`] (e.g. logic's `reload`); a command
//!   nobody handles is answered ok=false "unknown command".

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use fred::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::redis::Redis;
use crate::shutdown::Shutdown;

/// How long command and reply lists live after their last element.
const LIST_TTL: Duration = Duration::from_secs(60);

/// A command to one process.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Command {
    /// Unique per send; names the reply list.
    pub id: String,
    /// What to do: `reload`, `drain`, …
    pub cmd: String,
    /// Who asked (a staff name, `cli`), for the logs.
    #[serde(default)]
    pub by: String,
}

/// One process's answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Answer {
    pub node: String,
    pub role: String,
    pub ok: bool,
    /// What happened, or the error.
    pub detail: String,
}

/// A live process, from its heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub role: String,
    pub id: String,
    /// Every heartbeat field (role, id, group, host, pid, version, started_at, …).
    pub fields: HashMap<String, String>,
}

/// Every live process (every heartbeat), sorted by role then id.
pub async fn nodes(redis: &Redis) -> Result<Vec<Node>, fred::error::Error> {
    let mut keys = redis.scan("node:*").await?;
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let fields: HashMap<String, String> = redis.pool.hgetall(&key).await?;
        if let (Some(role), Some(id)) = (fields.get("role").cloned(), fields.get("id").cloned()) {
            out.push(Node { role, id, fields });
        }
    }
    Ok(out)
}

/// Sends `cmd` to each of `nodes` and waits up to `within` for their answers; returns the answers
/// that came (a node that did not answer in time is missing from them).
pub async fn send(
    redis: &Redis,
    nodes: &[Node],
    cmd: &str,
    by: &str,
    within: Duration,
) -> Result<Vec<Answer>, fred::error::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let command = Command { id: id.clone(), cmd: cmd.to_owned(), by: by.to_owned() };
    let body = serde_json::to_string(&command).expect("a command serializes");
    for node in nodes {
        let key = redis.keys.control(&node.role, &node.id);
        let _: i64 = redis.pool.lpush(&key, &body).await?;
        let _: bool = redis.pool.pexpire(&key, LIST_TTL.as_millis() as i64, None).await?;
    }
    let replies = redis.keys.control_reply(&id);
    let deadline = tokio::time::Instant::now() + within;
    let mut answers = Vec::new();
    while answers.len() < nodes.len() && tokio::time::Instant::now() < deadline {
        let popped: Vec<String> = redis.pool.rpop(&replies, Some(nodes.len())).await.unwrap_or_default();
        if popped.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        answers.extend(popped.iter().filter_map(|a| serde_json::from_str::<Answer>(a).ok()));
    }
    Ok(answers)
}

/// A command as a process receives it, with the way to answer it.
pub struct Incoming {
    pub command: Command,
    pub responder: Responder,
}

/// Answers one command (once).
pub struct Responder {
    redis: Redis,
    id: String,
    node: String,
    role: String,
}

impl Responder {
    pub async fn answer(self, ok: bool, detail: impl Into<String>) {
        let answer = Answer { node: self.node, role: self.role, ok, detail: detail.into() };
        let key = self.redis.keys.control_reply(&self.id);
        let body = serde_json::to_string(&answer).expect("an answer serializes");
        let pushed: Result<i64, _> = self.redis.pool.lpush(&key, body).await;
        let expired: Result<bool, _> = self.redis.pool.pexpire(&key, LIST_TTL.as_millis() as i64, None).await;
        if let Err(e) = pushed.and(expired.map(|_| 0)) {
            tracing::warn!(command.id = %self.id, error = %e, "cannot answer a control command");
        }
    }
}

/// How long a stop waits for the control listener's blocking connection to close.
const QUIT_WAIT: Duration = Duration::from_secs(2);

/// Takes the commands of process `node` (role `role`) until shutdown: each goes to the returned
/// receiver with a [`Responder`]. A command that cannot be read is logged and dropped.
pub async fn listen(
    redis: &Redis,
    role: &str,
    node: &str,
    shutdown: &Shutdown,
) -> anyhow::Result<mpsc::Receiver<Incoming>> {
    let client = redis.blocking_client(&format!("control {node}")).await?;
    let (tx, rx) = mpsc::channel(16);
    let (redis, key, role, node, token) =
        (redis.clone(), redis.keys.control(role, node), role.to_owned(), node.to_owned(), shutdown.token.clone());
    shutdown.tracker.spawn(async move {
        while !token.is_cancelled() {
            let popped: Result<Option<(String, String)>, _> = tokio::select! {
                _ = token.cancelled() => break,
                r = client.brpop(&key, 1.0) => r,
            };
            match crate::queue::nil_is_none(popped) {
                Ok(Some((_, body))) => match serde_json::from_str::<Command>(&body) {
                    Ok(command) => {
                        tracing::info!(command.id = %command.id, command.cmd = %command.cmd, by = %command.by, "control command");
                        let responder =
                            Responder { redis: redis.clone(), id: command.id.clone(), node: node.clone(), role: role.clone() };
                        if tx.send(Incoming { command, responder }).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable control command dropped"),
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read control commands; retrying");
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        // The select above drops a waiting BRPOP's future, not the command: it still blocks the
        // connection on the server (up to its timeout), and QUIT would queue behind it. Interrupt
        // it first (CLIENT UNBLOCK through fred's backchannel; an error when nothing is blocked).
        // This client has no command timeout (it blocks by design): a stop waits for it at most
        // QUIT_WAIT, then drops it.
        let quit = async {
            let _ = client.unblock_self(None).await;
            let _ = client.quit().await;
        };
        if tokio::time::timeout(QUIT_WAIT, quit).await.is_err() {
            tracing::warn!(wait_ms = QUIT_WAIT.as_millis() as u64, "the control listener's connection did not close in time; dropped");
        }
    });
    Ok(rx)
}

/// What a handler of one command returns: (ok, detail), sent back as the [`Answer`].
pub type Handled = Pin<Box<dyn Future<Output = (bool, String)> + Send>>;

/// The commands a service handles beyond `drain`, by name. Cheap to clone.
///
/// ```ignore
/// let handlers = Handlers::new().on("reload", move |_cmd| {
///     let table = table.clone();
///     async move { match table.reload() { Ok(n) => (true, format!("{n} modules")), Err(e) => (false, e.to_string()) } }
/// });
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    by_name: HashMap<String, Arc<dyn Fn(Command) -> Handled + Send + Sync>>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        f.debug_struct("Handlers").field("commands", &names).finish()
    }
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Handles `cmd` with `f`. `drain` is always the built-in one and cannot be replaced.
    pub fn on<F, Fut>(mut self, cmd: &str, f: F) -> Handlers
    where
        F: Fn(Command) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (bool, String)> + Send + 'static,
    {
        self.by_name.insert(cmd.to_owned(), Arc::new(move |c| Box::pin(f(c))));
        self
    }

    /// The commands handled, besides `drain`.
    pub fn commands(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }
}

/// The command every service handles: start the graceful shutdown, as SIGTERM does.
pub const DRAIN: &str = "drain";

/// Answers the commands of the `role` service of process `node` until shutdown (one at a time, in
/// the order they came): `drain` answers ok "draining" and then cancels `shutdown`; a command in
/// `handlers` is answered with what its handler returns; any other with ok=false "unknown command".
/// Returns once listening has started (the dispatcher is a task on `shutdown.tracker`).
pub async fn serve(
    redis: &Redis,
    role: &str,
    node: &str,
    shutdown: &Shutdown,
    handlers: Handlers,
) -> anyhow::Result<()> {
    let mut incoming = listen(redis, role, node, shutdown).await?;
    let token = shutdown.token.clone();
    shutdown.tracker.spawn(async move {
        while let Some(Incoming { command, responder }) = incoming.recv().await {
            if command.cmd == DRAIN {
                tracing::info!(by = %command.by, "drain asked for: shutting down as on SIGTERM");
                responder.answer(true, "draining").await;
                token.cancel();
            } else if let Some(handler) = handlers.by_name.get(&command.cmd) {
                let (ok, detail) = handler(command).await;
                responder.answer(ok, detail).await;
            } else {
                tracing::warn!(command.cmd = %command.cmd, "unknown control command");
                responder.answer(false, "unknown command").await;
            }
        }
    });
    Ok(())
}
