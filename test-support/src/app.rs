//! [`App`]: one test world. Its own Redis prefix ([`TestEnv`]) and MySQL database ([`TestDb`]),
//! every service running in this process on port 0 (connect, logic, gm, resultcenter, pushsvr,
//! dbsvr), and the clients a test needs: players logged in over WebSocket, staff with a role's
//! token, matches opened through gm.
//!
//! A test ends with `app.finish().await`, which fails the test when anything is left in flight:
//! frames in a queue or an inflight list of `q:c2l`, `q:settle:{g}`, `q:notify:{…}` or `q:outbox:{…}` (of the
//! queues whose consumer runs in the app; it waits for them to drain first), or in any dead list
//! (`q:dead:*`). Then it stops the services. Dropping an app without `finish` fails the test too
//! (unless it is already failing). A test that leaves frames on purpose says so with
//! [`App::allow_leftovers`]; `finish` then only stops the services.
//!
//! ```ignore
//! let app = App::spawn().await;
//! let opened = app.open_match(&match_spec("lol")).await;
//! let mut neo = app.player("neo").await;
//! let staff = app.staff(Role::Viewer);
//! ...
//! app.finish().await;
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::config::Role;
use common::{Config, Shutdown};
use protocol::body::OptionView;
use serde_json::{Value, json};

use crate::http::Gm;
use crate::{
    ADMIN, Client, OPERATOR, TestDb, TestEnv, VIEWER, eventually, spawn_connect, spawn_dbsvr, spawn_gm, spawn_logic,
    spawn_pushsvr, spawn_resultcenter,
};

/// The password of every [`App::player`].
pub const PASSWORD: &str = "app-player-password";

/// How long [`App::finish`] waits for the queues to drain before it calls what is left a leftover.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// The services an app may run without (connect, logic and gm always run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Resultcenter,
    Pushsvr,
    Dbsvr,
}

type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

/// How to build an [`App`]: config changes, services left out, leftovers allowed.
#[derive(Default)]
#[must_use]
pub struct Builder {
    tweaks: Vec<Tweak>,
    without: Vec<Service>,
    leftovers: bool,
}

impl Builder {
    /// Changes the config every service of the app starts with (after [`crate::test_config`]).
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + Send + 'static) -> Builder {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Leaves `service` out: the test starts its own, or plays it (reads its queue). Its queue is
    /// then not checked by [`App::finish`]. Without dbsvr there is no MySQL database either.
    pub fn without(mut self, service: Service) -> Builder {
        self.without.push(service);
        self
    }

    /// See [`App::allow_leftovers`].
    pub fn allow_leftovers(mut self) -> Builder {
        self.leftovers = true;
        self
    }

    pub async fn spawn(self) -> App {
        let env = TestEnv::new().await;
        let runs = |s: Service| !self.without.contains(&s);
        let db = if runs(Service::Dbsvr) { Some(TestDb::new().await) } else { None };
        let mut cfg = env.node(1);
        if let Some(db) = &db {
            cfg.mysql.url = db.url.clone();
        }
        cfg.dbsvr.retry_max_ms = 200;
        for tweak in self.tweaks {
            tweak(&mut cfg);
        }
        let shutdown = Shutdown::new();
        let (addr, connect) = spawn_connect(cfg.clone(), &shutdown).await;
        let logic = spawn_logic(cfg.clone(), &shutdown);
        let gm_addr = spawn_gm(cfg.clone(), &shutdown).await;
        let web_addr = crate::spawn_web(cfg.clone(), &shutdown).await;
        let resultcenter = match runs(Service::Resultcenter) {
            true => spawn_resultcenter(cfg.clone(), &shutdown),
            false => Arc::default(),
        };
        let pushsvr = match runs(Service::Pushsvr) {
            true => spawn_pushsvr(cfg.clone(), &shutdown),
            false => Arc::default(),
        };
        let dbsvr = match runs(Service::Dbsvr) {
            true => spawn_dbsvr(cfg.clone(), &shutdown),
            false => Arc::default(),
        };
        App {
            env,
            db,
            cfg,
            addr,
            gm_addr,
            web_addr,
            connect,
            logic,
            resultcenter,
            pushsvr,
            dbsvr,
            shutdown,
            without: self.without,
            leftovers: self.leftovers,
            finished: false,
        }
    }
}

/// A match opened through gm by [`App::open_match`].
#[derive(Clone, Debug)]
pub struct Opened {
    pub id: u64,
    pub odds_ver: u64,
    pub options: Vec<OptionView>,
}

/// A match spec for `POST /api/matches` (docs/gm.md): type `kind`, teams A and B, options a (1.85)
/// and b (2.10), stakes 10 to 1000, starting in 2030.
pub fn match_spec(kind: &str) -> Value {
    json!({
        "type": kind, "title": "A vs B", "teams": ["A", "B"], "start_at": 1_900_000_000_000u64,
        "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}],
        "min_stake": 10, "max_stake": 1000
    })
}

/// The token of `role` in [`crate::test_config`].
pub fn token(role: Role) -> &'static str {
    match role {
        Role::Viewer => VIEWER,
        Role::Operator => OPERATOR,
        Role::Admin => ADMIN,
    }
}

/// One test world; see the module docs.
pub struct App {
    /// The Redis prefix (keys deleted when the app is dropped).
    pub env: TestEnv,
    /// The MySQL database (None without dbsvr; dropped with the app).
    pub db: Option<TestDb>,
    /// The config every service runs with (group 1).
    pub cfg: Config,
    /// connect's address.
    pub addr: SocketAddr,
    pub gm_addr: SocketAddr,
    /// The public read API (`matchday web`).
    pub web_addr: SocketAddr,
    /// The services' counters (all zero for a service left out).
    pub connect: Arc<connect::Stats>,
    pub logic: Arc<logic::Stats>,
    pub resultcenter: Arc<resultcenter::Stats>,
    pub pushsvr: Arc<pushsvr::Stats>,
    pub dbsvr: Arc<dbsvr::Stats>,
    /// Every service of the app; a test may start more on it ([`App::node`]).
    pub shutdown: Shutdown,
    without: Vec<Service>,
    leftovers: bool,
    finished: bool,
}

impl App {
    /// Every service, with [`crate::test_config`]'s settings.
    pub async fn spawn() -> App {
        App::builder().spawn().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The config for another process of this app (same settings, its own node id).
    pub fn node(&self) -> Config {
        let mut cfg = self.cfg.clone();
        cfg.node.id = self.env.node(self.cfg.node.group).node.id;
        cfg
    }

    pub fn keys(&self) -> &common::Keys {
        self.env.keys()
    }

    pub fn redis(&self) -> &common::Redis {
        &self.env.redis
    }

    /// The MySQL database (panics for an app without dbsvr).
    pub fn db(&self) -> &TestDb {
        self.db.as_ref().expect("an app without dbsvr has no database")
    }

    /// connect's WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A new WebSocket connection, not logged in.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A new WebSocket connection of player `name`, registered (with [`PASSWORD`]) and logged in;
    /// `token()` resumes its session.
    pub async fn player(&self, name: &str) -> Client {
        let mut c = self.client().await;
        c.register(name, PASSWORD).await;
        c.login(name, PASSWORD).await;
        c
    }

    /// The SDK's gm client with `role`'s token.
    pub fn staff(&self, role: Role) -> matchday_client::Gm {
        matchday_client::Gm::new(&format!("http://{}", self.gm_addr)).with_token(token(role))
    }

    /// The public read API as tests check it: any status, headers as sent.
    pub fn web(&self) -> Gm {
        Gm::new(self.web_addr)
    }

    /// gm as tests check it: any status, the token per call.
    pub fn gm(&self) -> Gm {
        Gm::new(self.gm_addr)
    }

    /// Creates a match from `spec` as an operator; its id (pending approval).
    pub async fn create_match(&self, spec: &Value) -> u64 {
        self.staff(Role::Operator).create_match(spec).await.unwrap_or_else(|e| panic!("create a match: {e}"))
    }

    /// A lifecycle action on match `mid` as an operator (`approve`, `open`, `suspend`, `start`,
    /// `result` with `{"winner": …}`, `cancel`, …), which must succeed; the match as gm shows it.
    pub async fn act(&self, mid: u64, action: &str, body: Value) -> Value {
        let path = format!("/api/matches/{mid}/{action}");
        self.staff(Role::Operator).post(&path, &body).await.unwrap_or_else(|e| panic!("{action} match {mid}: {e}"))
    }

    /// A match created from `spec`, approved and opened through gm.
    pub async fn open_match(&self, spec: &Value) -> Opened {
        let id = self.create_match(spec).await;
        self.act(id, "approve", json!({})).await;
        let view = self.act(id, "open", json!({})).await;
        let odds_ver = view["odds_ver"].as_u64().expect("odds_ver");
        let options = serde_json::from_value(view["options"].clone()).expect("the options of the match");
        Opened { id, odds_ver, options }
    }

    /// Match `mid` as staff see it.
    pub async fn match_view(&self, mid: u64) -> Value {
        self.staff(Role::Viewer).match_view(mid).await.unwrap_or_else(|e| panic!("match {mid}: {e}"))
    }

    /// Waits until match `mid` is in `state`.
    pub async fn wait_state(&self, mid: u64, state: i64) {
        eventually(&format!("match {mid} reaches state {state}"), || async {
            (self.match_view(mid).await["state"].as_i64() == Some(state)).then_some(())
        })
        .await;
    }

    /// This test leaves frames in flight on purpose: [`App::finish`] does not check.
    pub fn allow_leftovers(&mut self) {
        self.leftovers = true;
    }

    /// The queues whose consumer runs in the app.
    fn consumed_queues(&self) -> Vec<String> {
        let k = self.keys();
        let mut queues = vec![k.c2l(self.cfg.node.group)];
        for (service, lanes) in [
            (Service::Resultcenter, vec![k.settle()]),
            (Service::Pushsvr, k.notifies()),
            (Service::Dbsvr, k.outboxes()),
        ] {
            if !self.without.contains(&service) {
                queues.extend(lanes);
            }
        }
        queues
    }

    /// What is left in flight now: `(list, frames)` for every consumed queue (with its inflight
    /// lists) and dead list that is not empty.
    pub async fn in_flight(&self) -> Vec<(String, i64)> {
        let mut left = Vec::new();
        for queue in self.consumed_queues() {
            let n = self.env.queued(&queue).await;
            if n > 0 {
                left.push((format!("{queue} (with its inflight lists)"), n));
            }
        }
        for key in self.env.scan("q:dead:*").await {
            if key.ends_with(":consumers") || key.ends_with(":deliveries") || key.ends_with(":reaper") {
                continue;
            }
            let n = self.env.llen(&key).await;
            if n > 0 {
                left.push((key, n));
            }
        }
        left
    }

    /// Waits (up to [`DRAIN_DEADLINE`]) for the consumed queues to drain; panics, naming each
    /// list, if frames are still in flight then or any dead list holds frames.
    pub async fn check(&self) {
        let deadline = tokio::time::Instant::now() + DRAIN_DEADLINE;
        loop {
            let left = self.in_flight().await;
            let dead = left.iter().any(|(key, _)| key.contains("q:dead:"));
            if left.is_empty() {
                return;
            }
            if dead || tokio::time::Instant::now() >= deadline {
                let lists: Vec<String> = left.iter().map(|(key, n)| format!("{key}: {n}")).collect();
                panic!(
                    "frames left in flight at the end of the test (App::allow_leftovers if on purpose):\n  {}",
                    lists.join("\n  ")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ends the test: [`App::check`] (unless leftovers are allowed), then stops every service.
    pub async fn finish(mut self) {
        if !self.leftovers {
            self.check().await;
        }
        self.finished = true;
        assert!(self.shutdown.shutdown(Duration::from_secs(10)).await, "the app's services did not stop in time");
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.token.cancel();
        if !self.finished && !std::thread::panicking() {
            panic!("an App was dropped without `app.finish().await`, which checks that nothing is left in flight");
        }
    }
}
