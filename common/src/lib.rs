//! # matchday-common
//!
//! The runtime pieces that two or more services share. No service logic lives here.
//!
//! - [`bets`]: bets as stored in Redis, read back.
//! - [`control`]: commands to running processes (reload, drain) and their answers.
//! - [`config`]: layered, typed settings (`config/default.toml`, `--config FILE`, `MATCHDAY__…`).
//! - [`events`]: jobs and events between services (q:settle:{g}, q:notify:{…}, sched).
//! - [`ids`]: ids from a Redis counter, a block per round trip (bet ids).
//! - [`keys`]: the one place Redis key names are built.
//! - [`leaderboard`]: the boards settlement keeps (net winnings, correct picks; day, week, all time).
//! - [`limits`]: the open-files limit, raised at start by every server.
//! - [`matches`]: matches as stored in Redis, read back.
//! - [`orders`]: players' deposit orders as stored in Redis, read back.
//! - [`net`]: client addresses as limits count them (IPv4 alone, IPv6 by /64).
//! - [`redis`]: the pool and dedicated blocking clients, with reconnects.
//! - [`service`]: the start/stop shape of every queue-consuming service.
//! - [`shards`]: the logical shards (hash tags) that let the keys live on a Redis Cluster.
//! - [`store`]: the typed store: one binding per Lua script (`Args` in, `Outcome` out), the script
//!   registry (load at start, EVALSHA, reload on NOSCRIPT) and [`store::StoreError`].
//! - [`queue`]: the reliable queue (consumer with inflight list, ack, reaper, dead list).
//! - [`acker`]: a consumer's acks, gathered into one `ack.lua` call per batch by its flusher task.
//! - [`consumer`]: the consumer runtime (take, handle, ack, back off, drain) every consuming
//!   service runs its handler in.
//! - [`retry`]: the one retry policy (jittered exponential backoff).
//! - [`heartbeat`]: `node:{role}:{id}` liveness keys.
//! - [`telemetry`]: tracing, Prometheus metrics, and the `/metrics` `/healthz` `/readyz` server.
//! - [`shutdown`]: cancellation token + task tracker + grace timeout.
//! - [`status`]: live processes with their load, and each group's backlog (`GET /api/nodes`,
//!   `matchday status`).
//! - [`time`]: clock helpers.
//! - [`users`]: users as stored in Redis, read back (display names).

pub mod acker;
pub mod bets;
pub mod config;
pub mod consumer;
pub mod control;
pub mod events;
pub mod heartbeat;
pub mod http;
pub mod ids;
pub mod keys;
pub mod leaderboard;
pub mod limits;
pub mod matches;
pub mod mysql;
pub mod net;
pub mod notices;
pub mod orders;
pub mod proxy;
pub mod push_lists;
pub mod queue;
pub mod records;
pub mod redis;
pub mod retry;
pub mod service;
pub mod shards;
pub mod shutdown;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tls;
pub mod users;
pub mod written;

pub use config::Config;
pub use keys::Keys;
pub use redis::Redis;
pub use shutdown::Shutdown;
