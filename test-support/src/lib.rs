//! # matchday-test-support
//!
//! Helpers for integration and end-to-end tests against the real Redis (from `MATCHDAY_TEST_REDIS`
//! or 127.0.0.1:6379). Each test gets its own key prefix and node ids, so tests run in parallel and
//! [`TestEnv`] deletes the prefix's keys when dropped.
//!
//! - [`app::App`]: one test world: its own prefix and MySQL database, every service in process,
//!   players, staff and matches; fails the test when frames are left in flight.
//! - [`TestEnv`]: a config with a fresh prefix, fast timers and cheap password hashing.
//! - [`Stack`]: connect (port 0) and logic running in-process, with their counters.
//! - [`Client`]: a WebSocket client speaking MessagePack or JSON frames.
//! - [`raw::RawWs`]: a hand-written WebSocket client over TCP for hostile input (split, fragmented,
//!   lying or malformed frames; a client that never reads).
//! - [`http::Gm`]: an HTTP client for the gm API, with the test staff tokens.
//! - [`proxy::Proxy`]: a TCP proxy that can cut and restore a connection (fault tests).
//! - [`process::Process`]: a service as a separate `matchday <role>` process, to send signals to.
//! - [`player::Player`]: a client that reconnects, resumes and resends until answered (fault tests).
//! - [`redis_server::RedisServer`]: a private redis-server (AOF, fsync always) a test may kill.
//! - [`eventually`]: poll a condition until it holds, with a deadline.

pub mod app;
pub mod client;
pub mod http;
pub mod player;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod redis_cluster;
pub mod redis_server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::config::{Role, StaffToken};
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use tokio::net::TcpListener;

pub use app::App;
pub use client::Client;
/// The SDK the test clients are built on, for tests that use it directly.
pub use matchday_client;

/// How long [`eventually`] waits before it fails a test.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// With `MATCHDAY_TEST_LOG` set (a `RUST_LOG`-style filter, e.g. `debug` or `logic=debug`), the
/// services a test runs in its own process log to the test's captured output, shown when it fails.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("MATCHDAY_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// A test's own slice of Redis. Dropping it deletes every key under its prefix.
pub struct TestEnv {
    pub cfg: Config,
    pub redis: Redis,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        TestEnv::with_config(test_config()).await
    }

    /// A test's slice of the Redis at `url` (e.g. a [`redis_server::RedisServer`] of its own).
    pub async fn on(url: &str) -> TestEnv {
        let mut cfg = test_config();
        cfg.redis.url = url.to_owned();
        TestEnv::with_config(cfg).await
    }

    async fn with_config(cfg: Config) -> TestEnv {
        init_logs();
        let redis = Redis::new(&cfg.redis).expect("redis client");
        redis.ready().await.expect("Redis must be running for the tests (scripts/deps.sh starts it)");
        TestEnv { cfg, redis }
    }

    /// The config of another process of this test (same prefix, its own node id and group).
    pub fn node(&self, group: u32) -> Config {
        let mut cfg = self.cfg.clone();
        cfg.node.group = group;
        cfg.node.id = format!("n{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        cfg
    }

    pub fn keys(&self) -> &common::Keys {
        &self.redis.keys
    }

    /// Length of a list.
    pub async fn llen(&self, key: &str) -> i64 {
        self.redis.pool.llen(key).await.expect("LLEN")
    }

    /// Keys of this test matching `pattern` (after the prefix).
    pub async fn scan(&self, pattern: &str) -> Vec<String> {
        self.redis.scan(pattern).await.expect("SCAN")
    }

    /// Waits until `queue` and every inflight list of it are empty: everything queued so far has been
    /// taken and acked (a consumer acks only once it is done with a frame). See [`TestEnv::queued`].
    pub async fn queue_idle(&self, queue: &str) {
        eventually(&format!("{queue} and its inflight lists are empty"), || async {
            self.queued(queue).await.eq(&0).then_some(())
        })
        .await;
    }

    /// [`TestEnv::queue_idle`] for every lane of a sharded queue (`keys.outboxes()`, `keys.notifies()`).
    pub async fn lanes_idle(&self, lanes: &[String]) {
        eventually(&format!("{} lanes like {} and their inflight lists are empty", lanes.len(), lanes[0]), || async {
            for lane in lanes {
                if self.queued(lane).await > 0 {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }

    /// Every element of every lane (`keys.outboxes()`, `keys.notifies()`), each lane newest first.
    pub async fn lanes_lrange(&self, lanes: &[String]) -> Vec<bytes::Bytes> {
        let mut all = Vec::new();
        for lane in lanes {
            all.extend(self.redis.pool.lrange::<Vec<bytes::Bytes>, _>(lane, 0, -1).await.expect("LRANGE"));
        }
        all
    }

    /// Elements in all `lanes` together.
    pub async fn lanes_len(&self, lanes: &[String]) -> i64 {
        let mut n = 0;
        for lane in lanes {
            n += self.llen(lane).await;
        }
        n
    }

    /// Frames in `queue` and in the inflight lists of its registered consumers, at one instant.
    /// The lengths are read in one MULTI block (plain LLENs, atomic), so a frame moving from the
    /// queue to an inflight list cannot slip between two reads. The inflight lists are the
    /// registered consumers' (a consumer registers before it takes), not a SCAN, which misses a list
    /// created after it ran; the block reads the registrations again, and the read is repeated if a
    /// consumer registered meanwhile.
    pub async fn queued(&self, queue: &str) -> i64 {
        let consumers = self.keys().consumers(queue);
        let mut lists: Vec<String> = self.redis.pool.hkeys(&consumers).await.expect("HKEYS");
        loop {
            lists.sort();
            let trx = self.redis.pool.next().multi();
            let _: () = trx.llen(queue).await.expect("LLEN");
            for list in &lists {
                let _: () = trx.llen(list).await.expect("LLEN");
            }
            let _: () = trx.hkeys(&consumers).await.expect("HKEYS");
            let mut replies: Vec<Value> = trx.exec(true).await.expect("EXEC");
            let mut now: Vec<String> = replies.pop().expect("HKEYS reply").convert().expect("HKEYS");
            now.sort();
            if now == lists {
                return replies.into_iter().map(|n| n.convert::<i64>().expect("LLEN")).sum();
            }
            lists = now;
        }
    }

    /// Asserts that no client frame of this test is left unprocessed: none waiting in a group
    /// queue, none inflight, none dead. (Reply lists are drained by connect when one runs; the
    /// outbox by dbsvr.)
    pub async fn assert_queues_drained(&self) {
        let mut lists = self.scan("q:c2l:*").await;
        lists.extend(self.scan("q:dead:*").await);
        for key in lists {
            if key.ends_with(":consumers") || key.ends_with(":deliveries") || key.ends_with(":reaper") {
                continue;
            }
            let left = self.llen(&key).await;
            assert_eq!(left, 0, "{key} still holds {left} frame(s)");
        }
    }
}

impl Drop for TestEnv {
    /// Fails the test if any script it called touched keys of more than one slot (a Redis Cluster
    /// refuses such a call: docs/scaling.md), then deletes the test's keys.
    fn drop(&mut self) {
        let prefix = self.redis.keys.prefix().to_owned();
        let crossed: Vec<_> = common::store::scripts::cross_slot_calls()
            .into_iter()
            .filter(|c| c.keys.iter().any(|(key, _)| key.starts_with(&prefix)))
            .collect();
        let cfg = self.cfg.redis.clone();
        // Drop runs inside the test's runtime, which cannot block: clean up from a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let Ok(redis) = common::Redis::new(&cfg) else { return };
                // (A test's private Redis may be gone by now: give up rather than wait for it.)
                let clean = async {
                    redis.ready().await?;
                    anyhow::Ok(redis.delete_prefix().await?)
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(20), clean).await;
                redis.close().await;
            });
        })
        .join();
        if !crossed.is_empty() && !std::thread::panicking() {
            panic!("scripts called with keys of more than one slot (CROSSSLOT on a Redis Cluster): {crossed:?}");
        }
    }
}

/// Defaults tuned for tests: a unique prefix and node id, port 0 everywhere, short timers,
/// cheap argon2 (the cost is a setting; production keeps OWASP's).
pub fn test_config() -> Config {
    let mut cfg = Config::defaults();
    let id = uuid::Uuid::new_v4().simple().to_string();
    if let Ok(url) = std::env::var("MATCHDAY_TEST_REDIS") {
        cfg.redis.url = url;
    }
    cfg.redis.prefix = format!("test:{}:", &id[..12]);
    cfg.redis.command_timeout_ms = 2000;
    cfg.node.id = format!("n{}", &id[..8]);
    cfg.connect.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.metrics.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.logic.workers = 2;
    cfg.logic.block_timeout_ms = 200;
    cfg.logic.argon2_memory_kib = 64;
    cfg.logic.argon2_iterations = 1;
    // Every test client connects from 127.0.0.1: the per-address limits of sign-ups and logins are
    // lifted and the hashing queue made long (tests/it/auth.rs sets them where it tests them).
    lift_password_limits(&mut cfg);
    cfg.queue.heartbeat_interval_ms = 100;
    cfg.queue.heartbeat_ttl_ms = 600;
    cfg.queue.reap_interval_ms = 100;
    cfg.gm.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.gm.payment_secret = PAYMENT_SECRET.into();
    cfg.logic.avatar_url_prefixes = vec!["https://cdn.test/avatars/".to_owned()];
    // Uploads (206) go to the system's temporary folder, not the checkout.
    cfg.logic.avatar_dir = std::env::temp_dir().join("matchday-test-avatars").to_string_lossy().into_owned();
    cfg.logic.avatar_public_url = "https://cdn.test/uploads/".to_owned();
    cfg.orders.channels =
        [("card".to_owned(), "https://pay.test/checkout?order={order_id}&amount={amount}&via={channel}".to_owned())]
            .into();
    cfg.gm.tokens = [("vera", VIEWER, Role::Viewer), ("otto", OPERATOR, Role::Operator), ("ada", ADMIN, Role::Admin)]
        .into_iter()
        .map(|(name, token, role)| StaffToken { name: name.into(), token: token.into(), role })
        .collect();
    cfg
}

/// Lifts the per-address and deployment-wide limits of sign-ups and logins and lengthens the hashing
/// queue (a load from one address, all at once).
pub fn lift_password_limits(cfg: &mut Config) {
    let l = &mut cfg.logic;
    l.password_attempts_per_addr_per_min = 1_000_000_000;
    l.password_hashes_per_sec = 1_000_000_000;
    l.register_max_per_addr = 1_000_000_000;
    l.login_max_failures_per_addr = 1_000_000_000;
    l.max_queued_hashes = 1_000_000;
}

/// Staff tokens of [`test_config`].
/// Each is at least `common::config::MIN_SECRET_BYTES` long, as every process requires.
pub const VIEWER: &str = "viewer-token-0123456789abcdef0123456789";
pub const OPERATOR: &str = "operator-token-0123456789abcdef0123456789";
pub const ADMIN: &str = "admin-token-0123456789abcdef0123456789";
/// The payment provider's secret of [`test_config`].
pub const PAYMENT_SECRET: &str = "payment-secret-for-tests-0123456789abcdef";

/// connect and logic of one group, running in this process.
pub struct Stack {
    pub addr: SocketAddr,
    pub connect: Arc<connect::Stats>,
    pub logic: Arc<logic::Stats>,
    pub shutdown: Shutdown,
    pub cfg: Config,
}

impl Stack {
    /// Starts connect on port 0 and logic, both for `cfg` (its group and node id).
    pub async fn spawn(cfg: Config) -> Stack {
        let shutdown = Shutdown::new();
        let (addr, connect) = spawn_connect(cfg.clone(), &shutdown).await;
        let logic = spawn_logic(cfg.clone(), &shutdown);
        Stack { addr, connect, logic, shutdown, cfg }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Stops both services and waits for them.
    pub async fn stop(self) {
        assert!(self.shutdown.shutdown(Duration::from_secs(10)).await, "services did not stop in time");
    }
}

/// Starts a connect node for `cfg` on port 0; returns its address and counters.
pub async fn spawn_connect(cfg: Config, shutdown: &Shutdown) -> (SocketAddr, Arc<connect::Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = connect::Server::new(cfg, listener).expect("connect");
    let (addr, stats) = (server.local_addr().expect("addr"), server.stats());
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move { server.run(s).await.expect("connect failed") });
    (addr, stats)
}

/// Starts gm for `cfg` on port 0; returns its address.
pub async fn spawn_gm(cfg: Config, shutdown: &Shutdown) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move { gm::run(cfg, listener, s).await.expect("gm failed") });
    addr
}

/// Starts the public read API (`matchday web`) for `cfg` on port 0; returns its address.
pub async fn spawn_web(cfg: Config, shutdown: &Shutdown) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move { web::run(cfg, listener, s).await.expect("web failed") });
    addr
}

/// Starts a resultcenter for `cfg`; returns its counters.
pub fn spawn_resultcenter(cfg: Config, shutdown: &Shutdown) -> Arc<resultcenter::Stats> {
    let stats = Arc::new(resultcenter::Stats::default());
    let (s, st) = (shutdown.clone(), stats.clone());
    shutdown.tracker.spawn(async move { resultcenter::run_with(cfg, s, st).await.expect("resultcenter failed") });
    stats
}

/// Starts a datacenter for `cfg` (its feeds, and the gm it applies them through); returns its
/// counters.
pub fn spawn_datacenter(cfg: Config, shutdown: &Shutdown) -> Arc<datacenter::Stats> {
    let stats = Arc::new(datacenter::Stats::default());
    let (s, st) = (shutdown.clone(), stats.clone());
    shutdown.tracker.spawn(async move { datacenter::run_with(cfg, s, st).await.expect("datacenter failed") });
    stats
}

/// Starts a pushsvr for `cfg`; returns its counters.
pub fn spawn_pushsvr(cfg: Config, shutdown: &Shutdown) -> Arc<pushsvr::Stats> {
    let stats = Arc::new(pushsvr::Stats::default());
    let (s, st) = (shutdown.clone(), stats.clone());
    shutdown.tracker.spawn(async move { pushsvr::run_with(cfg, s, st).await.expect("pushsvr failed") });
    stats
}

/// Starts a dbsvr for `cfg`; returns its counters.
pub fn spawn_dbsvr(cfg: Config, shutdown: &Shutdown) -> Arc<dbsvr::Stats> {
    let stats = Arc::new(dbsvr::Stats::default());
    let (s, st) = (shutdown.clone(), stats.clone());
    shutdown.tracker.spawn(async move { dbsvr::run_with(cfg, s, st).await.expect("dbsvr failed") });
    stats
}

/// A test's own MySQL database (migrated); dropped with the value.
pub struct TestDb {
    pub url: String,
    pub pool: sqlx::MySqlPool,
    name: String,
    server: String,
}

impl TestDb {
    /// Creates and migrates `mdt_<random>` on the test MySQL (MATCHDAY_TEST_MYSQL or
    /// mysql://root@127.0.0.1:3306).
    pub async fn new() -> TestDb {
        let server = std::env::var("MATCHDAY_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let name = format!("mdt_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let url = format!("{server}/{name}");
        dbsvr::schema::migrate(&url).await.expect("MariaDB must be running for the tests (scripts/deps.sh starts it)");
        let pool = common::mysql::pool(&url, 4).expect("pool");
        TestDb { url, pool, name, server }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, name) = (format!("{}/", self.server), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::MySqlConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// Starts a logic process for `cfg`; returns its counters.
pub fn spawn_logic(cfg: Config, shutdown: &Shutdown) -> Arc<logic::Stats> {
    spawn_logic_with(cfg, shutdown, logic::Dispatch::default())
}

/// Starts a logic process for `cfg` with its own dispatch table; returns its counters.
pub fn spawn_logic_with(cfg: Config, shutdown: &Shutdown, dispatch: logic::Dispatch) -> Arc<logic::Stats> {
    let extras = logic::Extras { stats: Arc::new(logic::Stats::default()), dispatch };
    let (s, stats) = (shutdown.clone(), extras.stats.clone());
    shutdown.tracker.spawn(async move { logic::run_with(cfg, s, extras).await.expect("logic failed") });
    stats
}

/// Polls `check` until it returns Some, failing the test after [`DEADLINE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
