//! The subcommands, one file each with its arguments and its `run`; what they share is here: the
//! command line ([`Cli`]), a process's identity and worker count, the start of every service
//! (listeners, the admin server), and printing a report as text or JSON.

#[cfg(feature = "bench")]
mod bench;
mod connect;
mod datacenter;
mod dbsvr;
mod gm;
mod logic;
mod migrate;
mod pushsvr;
mod reload;
mod restore;
mod resultcenter;
mod schema;
mod status;
mod up;
mod verify;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use common::{Config, Redis, Shutdown};
use fred::prelude::*;
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(name = "matchday", version, about = "Live esports guessing backend: connect, logic and friends")]
pub struct Cli {
    /// A TOML file layered over config/default.toml (environment MATCHDAY__SECTION__KEY wins over both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the WebSocket gateway of one group.
    Connect(connect::Args),
    /// Run the logic workers of one group.
    Logic(Workers),
    /// Run the staff HTTP API (gm).
    Gm(gm::Args),
    /// Run the public read API (matches, results, leaderboards, notices; no login).
    Web(web::Args),
    /// Run the settlement service (consumes q:settle:{g}).
    Resultcenter(Workers),
    /// Run the notification service (consumes q:notify:{…}, runs delayed events).
    Pushsvr(Workers),
    /// Flush the outbox into MySQL (dbsvr).
    Dbsvr(Workers),
    /// Pull the match feeds (datacenter.feeds) and apply them through gm's API.
    Datacenter(Identity),
    /// Create the MySQL database if it is missing and apply the migrations in sql/.
    Migrate,
    /// Compare Redis (redis.prefix) with MySQL (mysql.url): users, wallets, ledger sums, bets,
    /// matches. Prints every difference; exit status 1 if there is any.
    Verify(verify::Args),
    /// Rebuild the Redis state from MySQL into redis.prefix, which must hold no key (disaster
    /// recovery; run it with every service of the deployment stopped).
    Restore,
    /// Every live process (role, group, host, pid, version, uptime, frames/s, inflight) and per
    /// group the client queue's depth and oldest-frame age: what `GET /api/nodes` shows.
    Status(status::Args),
    /// Every logic process loads its Lua handler folder (logic.lua_dir) again; prints each one's
    /// answer. Exit status 1 when any kept its old handlers (the error names file:line) or did not answer.
    Reload(reload::Args),
    /// Print the client protocol's machine-readable description (JSON Schema with the message
    /// catalogue), as docs/schema/protocol.json holds it.
    Schema,
    /// Measure: `matchday bench bets|ceiling|settle|flush|idle`. Uses the configured Redis under a
    /// fresh key prefix, removed afterwards.
    #[cfg(feature = "bench")]
    Bench {
        #[command(subcommand)]
        scenario: bench::Scenario,
    },
    /// Measure (not in this build: `cargo build --release --features bench`, docs/benchmarks.md).
    #[cfg(not(feature = "bench"))]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Run every service in one process (starting private Redis/MariaDB under ./var when needed).
    Up {
        #[command(flatten)]
        id: Identity,
        /// Run on the local Redis Cluster (3 primaries, 3 replicas on ports 7380-7385), started with
        /// scripts/cluster.sh up when it is not running; overrides redis.url.
        #[arg(long)]
        redis_cluster: bool,
        /// Serve wss:// with a development certificate made under up.var_dir/tls (a throwaway CA
        /// whose ca.pem clients trust), unless connect.tls_cert is configured.
        #[arg(long)]
        tls: bool,
    },
}

impl Command {
    /// Whether it serves (and so needs the open-files limit raised) rather than runs and exits.
    fn serves(&self) -> bool {
        !matches!(
            self,
            Command::Migrate
                | Command::Verify(_)
                | Command::Restore
                | Command::Bench { .. }
                | Command::Status(_)
                | Command::Reload(_)
                | Command::Schema
        )
    }
}

/// Where a process sits: its group and node id.
#[derive(Args, Debug)]
pub struct Identity {
    /// The group to serve (overrides node.group).
    #[arg(long)]
    group: Option<u32>,
    /// A stable node id (overrides node.id; default: generated, unique per start).
    #[arg(long)]
    node_id: Option<String>,
}

impl Identity {
    fn apply(&self, cfg: &mut Config) {
        if let Some(g) = self.group {
            cfg.node.group = g;
        }
        if let Some(id) = &self.node_id {
            cfg.node.id = id.clone();
        }
        if cfg.node.id.is_empty() {
            cfg.node.id = common::heartbeat::generate_node_id();
        }
    }
}

/// The identity and consumer count of a queue-consuming service (logic, resultcenter, pushsvr, dbsvr).
#[derive(Args, Debug)]
pub struct Workers {
    #[command(flatten)]
    id: Identity,
    /// Consumers in this process (overrides the role's `workers` setting, e.g. logic.workers).
    #[arg(long)]
    workers: Option<usize>,
}

impl Workers {
    /// Applies the identity and the worker count (to the setting `workers` picks), checks the
    /// config, and starts the admin server.
    async fn start(
        &self,
        cfg: &mut Config,
        workers: fn(&mut Config) -> &mut usize,
        shutdown: &Shutdown,
        needs: Needs,
    ) -> anyhow::Result<()> {
        self.id.apply(cfg);
        if let Some(n) = self.workers {
            *workers(cfg) = n;
        }
        cfg.validate()?;
        serve_admin(cfg, shutdown, needs).await?;
        Ok(())
    }
}

/// Runs `command` until it ends (or, for a service, until SIGINT/SIGTERM), then stops what it started.
pub async fn run(command: Command, mut cfg: Config) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    shutdown.cancel_on_signals();
    if command.serves()
        && let Err(e) = common::limits::raise_open_files()
    {
        // Every connection is an open file; without the limit the server still starts.
        tracing::warn!(error = %e, "cannot read the open-files limit");
    }
    let result = match command {
        Command::Connect(args) => connect::run(args, cfg, &shutdown).await,
        Command::Logic(w) => logic::run(w, cfg, &shutdown).await,
        Command::Gm(args) => gm::run(args, cfg, &shutdown).await,
        Command::Web(args) => web::run(args, cfg, &shutdown).await,
        Command::Resultcenter(w) => resultcenter::run(w, cfg, &shutdown).await,
        Command::Pushsvr(w) => pushsvr::run(w, cfg, &shutdown).await,
        Command::Dbsvr(w) => dbsvr::run(w, cfg, &shutdown).await,
        Command::Datacenter(id) => datacenter::run(id, cfg, &shutdown).await,
        Command::Migrate => migrate::run(&cfg).await,
        Command::Verify(args) => verify::run(args, &cfg).await,
        Command::Restore => restore::run(&cfg).await,
        Command::Status(args) => status::run(args, &cfg).await,
        Command::Reload(args) => reload::run(&cfg, Duration::from_millis(args.timeout_ms)).await,
        Command::Schema => schema::run(),
        #[cfg(feature = "bench")]
        Command::Bench { scenario } => bench::run(scenario, cfg).await,
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => Err(anyhow::anyhow!(
            "this matchday was built without the bench: build it with `cargo build --release --features bench`"
        )),
        Command::Up { id, redis_cluster, tls } => {
            id.apply(&mut cfg);
            up::run(cfg, up::Options { redis_cluster, tls }, shutdown.clone()).await
        }
    };
    shutdown.shutdown(Duration::from_secs(10)).await;
    result
}

/// Binds a listener, naming the setting to change when the port is taken.
async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}; set {setting} to a free address"))
}

/// Binds gm's staff listener and, when `gm.payments_listen` is set, the payment provider's.
async fn bind_gm(cfg: &Config) -> anyhow::Result<::gm::Listeners> {
    let api = bind(cfg.gm.listen, "gm.listen").await?;
    let payments = match cfg.gm.payments_listen {
        Some(addr) => Some(bind(addr, "gm.payments_listen").await?),
        None => None,
    };
    Ok(::gm::Listeners { api, payments })
}

/// Ports above a taken `metrics.listen` tried before the OS picks one.
const ADMIN_PORT_MOVES: u16 = 20;

/// Binds the admin server on `addr` (`metrics.listen`). A port that is taken — another matchday
/// process on this host — moves to the next free one above it (up to [`ADMIN_PORT_MOVES`]), then to
/// one the OS picks; port 0 asks the OS at once. The address bound is logged and advertised in the
/// heartbeat (`metrics`), so `matchday status` and gm's node list show where to scrape.
async fn bind_admin(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let taken = match TcpListener::bind(addr).await {
        Ok(listener) => return Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => e,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot listen on {addr}; set metrics.listen to a free address"));
        }
    };
    let above = (1..=ADMIN_PORT_MOVES).filter_map(|d| addr.port().checked_add(d));
    for port in above.chain([0]) {
        if let Ok(listener) = TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            tracing::warn!(
                configured = %addr,
                listen = %listener.local_addr()?,
                "metrics.listen is taken (another process on this host?); the admin server moved"
            );
            return Ok(listener);
        }
    }
    Err(taken).with_context(|| format!("cannot listen on {addr} nor on a free port of {}", addr.ip()))
}

/// What a process's `/readyz` checks besides Redis answering a PING.
#[derive(Default)]
pub struct Needs {
    /// A list this process reads (connect: its reply list): on a Redis Cluster the primary of its
    /// slot, not only some node, must answer.
    pub list: Option<String>,
    /// MySQL (dbsvr): `SELECT 1` must answer.
    pub mysql: Option<::dbsvr::MysqlProbe>,
}

/// Starts the `/metrics`, `/healthz`, `/readyz` server on `metrics.listen` (or the free port it
/// moved to, [`bind_admin`]); returns its address. `/readyz` answers 200 while Redis and what
/// `needs` names answer, else 503 naming what does not.
async fn serve_admin(cfg: &Config, shutdown: &Shutdown, needs: Needs) -> anyhow::Result<SocketAddr> {
    let listener = bind_admin(cfg.metrics.listen).await?;
    let addr = listener.local_addr()?;
    common::telemetry::set_admin_addr(addr);
    let scheme = if cfg.metrics.tls_cert.is_empty() { "http" } else { "https" };
    tracing::info!(listen = %addr, "admin server on {scheme}://{addr} (/metrics /healthz /readyz)");
    let redis = Redis::new(&cfg.redis)?;
    let redis_for_close = redis.clone();
    let needs = Arc::new(needs);
    let ready: common::telemetry::ReadyCheck = Arc::new(move || {
        let (redis, needs) = (redis.clone(), needs.clone());
        Box::pin(async move {
            let pong: Result<String, _> = redis.pool.ping(None).await;
            pong.map_err(|e| format!("Redis: {e}"))?;
            if let Some(list) = &needs.list {
                let len: Result<u64, _> = redis.pool.llen(list).await;
                len.map_err(|e| format!("Redis (the primary of {list}): {e}"))?;
            }
            if let Some(mysql) = &needs.mysql {
                mysql.check().await.map_err(|e| format!("MySQL: {e}"))?;
            }
            Ok(())
        })
    });
    let m = &cfg.metrics;
    let front = common::http::Front::new("metrics", &m.tls_cert, &m.tls_key, &[], false)?;
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move {
        common::telemetry::serve_admin(listener, front, ready, s).await;
        redis_for_close.close().await;
    });
    Ok(addr)
}

/// A URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["matchday", "logic", "--group", "2", "--workers", "3", "--config", "x.toml"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("x.toml")));
        match cli.command {
            Command::Logic(w) => assert_eq!((w.id.group, w.workers), (Some(2), Some(3))),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn redact_hides_credentials() {
        assert_eq!(redact("redis://:pw@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
    }
}
