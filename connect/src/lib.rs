//! # matchday-connect
//!
//! The WebSocket gateway. Clients connect to `ws://HOST:PORT/ws` and send frames `[head, body]`
//! (MessagePack binary, or JSON text). connect checks each frame (well-formed, rate, logged in),
//! enriches the head (node, connection, bound user, group, address, time, trace id) and pushes it to
//! `q:c2l:{group}`, splicing the body bytes through; it writes replies and pushes from
//! `q:l2c:{group}:{node}` and `q:push:{node}` back to their connections.
//!
//! - [`run`] / [`Server`]: accept loop (at most `connect.max_connections` at once, and at most
//!   `connect.max_connections_per_addr` from one address group; beyond, the upgrade is refused with
//!   HTTP 503), heartbeat, reply consumer; returns on shutdown.
//! - `conn`: one connection (handshake, limits, login deadline, reader, batching writer).
//! - `per_addr`: connections per address group. `backlog`: the cap on the group queue's length.
//! - `pusher`: the node's pusher, which queues the frames of all its connections that are waiting
//!   in one LPUSH.
//! - `send_queue`: a connection's bounded outbound queue (no buffer while empty).
//! - `replies`: the reply/push consumer (bind/unbind, the inbox after a login or resume reply,
//!   closes asked for by a ban, drop-and-count for gone connections).
//! - `registry`, `stats`: the node's connections and counters.

mod backlog;
mod conn;
mod per_addr;
mod pusher;
mod registry;
mod replies;
mod send_queue;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::heartbeat::{Heartbeat, NodeInfo};
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use stats::Stats;

/// Connections over `connect.max_connections` (or the per-address cap) being answered 503 at once;
/// beyond this many, a connection is closed without an answer (a flood must not cost a task and a
/// buffer each).
const MAX_REFUSING: usize = 1024;

/// What every part of a connect node shares.
pub(crate) struct Node {
    pub cfg: Config,
    pub node_id: String,
    pub group: u32,
    pub redis: Redis,
    pub c2l: String,
    pub registry: registry::Registry,
    pub stats: Arc<Stats>,
    /// Whether `c2l` is at `connect.max_queue_depth`.
    pub backlog: backlog::Backlog,
    /// Queues the connections' frames on `c2l`.
    pub pusher: pusher::Pusher,
    /// The TLS of `wss://` (connect.tls_cert / tls_key); None = plain `ws://`.
    pub tls: Option<common::tls::TlsAcceptor>,
    /// Peers that speak for their clients (connect.trusted_proxies).
    pub proxies: common::proxy::TrustedProxies,
    /// Connections per client address group (`connect.max_connections_per_addr`).
    pub per_addr: Arc<per_addr::PerAddr>,
}

impl Node {
    /// Records (or forgets) that `uid` is online on this node through connection `conn`.
    pub async fn set_online(&self, uid: u64, conn: u64, online: bool) {
        let key = self.redis.keys.online(uid);
        let result: Result<i64, _> = if online {
            self.redis.pool.hset(&key, (conn.to_string(), self.node_id.as_str())).await
        } else {
            self.redis.pool.hdel(&key, conn.to_string()).await
        };
        if let Err(e) = result {
            tracing::warn!(user.id = uid, conn.id = conn, error = %e, "cannot update the online index");
        }
    }

    /// Records that `uid` is online through connection `conn`, then reads whether the user is
    /// banned (`user:{uid}` field `banned`), in that order on one connection. A ban (gm's
    /// `user_ban.lua`) marks the user and reads the online index in one atomic step, so either it
    /// saw this connection (and asked this node to close it) or this read sees the mark.
    pub async fn bind_online(&self, uid: u64, conn: u64) -> bool {
        let pipe = self.redis.pool.next().pipeline();
        let queued: Result<(), _> = async {
            let _: () = pipe.hset(self.redis.keys.online(uid), (conn.to_string(), self.node_id.as_str())).await?;
            pipe.hget(self.redis.keys.user(uid), "banned").await
        }
        .await;
        let result: Result<(i64, Option<String>), _> = match queued {
            Ok(()) => pipe.all().await,
            Err(e) => Err(e),
        };
        match result {
            Ok((_, banned)) => banned.as_deref() == Some("1"),
            Err(e) => {
                tracing::warn!(user.id = uid, conn.id = conn, error = %e, "cannot update the online index");
                false
            }
        }
    }
}

/// A connect node bound to its listener.
pub struct Server {
    node: Arc<Node>,
    listener: TcpListener,
    /// The pusher's task, spawned by [`Server::run`]; it ends once the node is dropped.
    push_loop: pusher::PushLoop,
}

impl Server {
    /// Builds the node for `cfg` (node id and group from `cfg.node`) on `listener`.
    pub fn new(cfg: Config, listener: TcpListener) -> anyhow::Result<Server> {
        anyhow::ensure!(!cfg.node.id.is_empty(), "node.id must be set before starting connect");
        let redis = Redis::new(&cfg.redis)?;
        let c2l = redis.keys.c2l(cfg.node.group);
        let stats = Arc::new(Stats::default());
        let (pusher, push_loop) = pusher::pusher(&redis, &c2l, stats.clone());
        let tls = common::tls::acceptor("connect", &cfg.connect.tls_cert, &cfg.connect.tls_key)?;
        let proxies = common::proxy::TrustedProxies::parse("connect.trusted_proxies", &cfg.connect.trusted_proxies)?;
        let node = Node {
            tls,
            proxies,
            per_addr: per_addr::PerAddr::new(cfg.connect.max_connections_per_addr),
            node_id: cfg.node.id.clone(),
            group: cfg.node.group,
            c2l,
            redis,
            registry: registry::Registry::new(),
            stats,
            backlog: backlog::Backlog::new(cfg.connect.max_queue_depth),
            pusher,
            cfg,
        };
        Ok(Server { node: Arc::new(node), listener, push_loop })
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.node.stats.clone()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until shutdown; then every connection is closed with 1001.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let node = self.node;
        shutdown.tracker.spawn(self.push_loop.run());
        let addr = self.listener.local_addr()?;
        let info = NodeInfo {
            role: "connect",
            id: node.node_id.clone(),
            group: node.group,
            extra: vec![("listen".into(), addr.to_string())],
            live: Some(live_fields(node.stats.clone())),
        };
        // Clients are served even while Redis is away (they get code 6); the heartbeat waits for it.
        let (n2, s2) = (node.clone(), shutdown.clone());
        let heartbeat = shutdown.tracker.spawn(async move {
            let interval = Duration::from_millis(n2.cfg.queue.heartbeat_interval_ms);
            let ttl = Duration::from_millis(n2.cfg.queue.heartbeat_ttl_ms);
            let beating = Heartbeat::start(&n2.redis, info, interval, ttl, &s2).await;
            // `drain` stops the node as SIGTERM does.
            let handlers = common::control::Handlers::new();
            if let Err(e) = common::control::serve(&n2.redis, "connect", &n2.node_id, &s2, handlers).await {
                tracing::warn!(error = format!("{e:#}"), "cannot take control commands; drain with SIGTERM");
            }
            beating.stopped().await;
        });
        shutdown.tracker.spawn(replies::run(node.clone(), shutdown.clone()));
        // Give Redis a moment at start, so the first clients are not refused for nothing; if it
        // does not come, serve anyway (clients get code 6 until it does).
        let wait = Duration::from_millis(node.cfg.redis.command_timeout_ms);
        if tokio::time::timeout(wait, node.redis.pool.wait_for_connect()).await.is_err() {
            tracing::warn!("Redis is not answering; serving clients with code 6 until it does");
        }
        let scheme = if node.tls.is_some() { "wss" } else { "ws" };
        tracing::info!(node = %node.node_id, group = node.group, listen = %addr, "connect listening on {scheme}://{addr}/ws");

        // One slot per connection, and one of its address group's, taken at accept (so connections
        // still in their handshake count) and given back when it has closed.
        let slots = Arc::new(Semaphore::new(node.cfg.connect.max_connections.min(Semaphore::MAX_PERMITS)));
        let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let refusal = match slots.clone().try_acquire_owned() {
                            // A trusted proxy's connection is counted by its client's address,
                            // which its header gives (conn::serve).
                            Ok(slot) => match if node.proxies.contains(peer.ip()) {
                                Some(None)
                            } else {
                                node.per_addr.try_acquire(peer.ip()).map(Some)
                            } {
                                Some(addr_slot) => {
                                    let slots = conn::Slots { _node: slot, _addr: addr_slot };
                                    let token = shutdown.token.clone();
                                    shutdown.tracker.spawn(conn::serve(node.clone(), tcp, peer, token, slots));
                                    continue;
                                }
                                None => {
                                    node.stats.refused_per_addr();
                                    conn::Refusal::PerAddr
                                }
                            },
                            Err(_) => {
                                node.stats.refused_at_limit();
                                conn::Refusal::Limit
                            }
                        };
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            shutdown.tracker.spawn(conn::refuse_busy(tcp, node.tls.clone(), peer, refusal, permit));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        tracing::info!(node = %node.node_id, connections = node.registry.len(), "connect stopping");
        // Connections close themselves (1001) and leave the online index; then let Redis go.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while node.stats.connections.load(std::sync::atomic::Ordering::Relaxed) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = heartbeat.await;
        node.redis.close().await;
        Ok(())
    }
}

/// The heartbeat's live fields of a connect node: its open connections.
fn live_fields(stats: Arc<Stats>) -> common::heartbeat::LiveFields {
    Arc::new(move || {
        let open = stats.connections.load(std::sync::atomic::Ordering::Relaxed);
        Box::pin(std::future::ready(vec![("connections".to_owned(), open.to_string())]))
    })
}

/// Runs a connect node on `listener` until shutdown.
pub async fn run(cfg: Config, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    Server::new(cfg, listener)?.run(shutdown).await
}
