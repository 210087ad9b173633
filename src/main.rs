//! `matchday`: one binary, one subcommand per service. Parses the command line, loads the config,
//! starts telemetry, and hands over to the service's `run`.

mod local_deps;
mod reload;
mod up;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use common::{Config, Shutdown};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(name = "matchday", version, about = "Live esports guessing backend: connect, logic and friends")]
struct Cli {
    /// A TOML file layered over config/default.toml (environment MATCHDAY__SECTION__KEY wins over both).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the WebSocket gateway of one group.
    Connect {
        #[command(flatten)]
        id: Identity,
        /// Listen address (overrides connect.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the logic workers of one group.
    Logic {
        #[command(flatten)]
        id: Identity,
        /// Consumers in this process (overrides logic.workers).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run the staff HTTP API (gm).
    Gm {
        #[command(flatten)]
        id: Identity,
        /// Listen address (overrides gm.listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the settlement service (consumes q:settle).
    Resultcenter {
        #[command(flatten)]
        id: Identity,
        /// Consumers in this process (overrides resultcenter.workers).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Run the notification service (consumes q:notify, runs delayed events).
    Pushsvr {
        #[command(flatten)]
        id: Identity,
        /// Consumers in this process (overrides pushsvr.workers).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Flush the outbox into MySQL (dbsvr).
    Dbsvr {
        #[command(flatten)]
        id: Identity,
        /// Consumers in this process (overrides dbsvr.workers).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Create the MySQL database if it is missing and apply the migrations in sql/.
    Migrate,
    /// Compare Redis (redis.prefix) with MySQL (mysql.url): users, wallets, ledger sums, bets,
    /// matches. Prints every difference; exit status 1 if there is any.
    Verify {
        /// Compare N random users (with their wallets and ledgers), N random bets and N random
        /// matches instead of all of them.
        #[arg(long, value_name = "N")]
        sample: Option<u64>,
        /// Seed of the random sample (printed in the summary, to compare the same sample again).
        #[arg(long, requires = "sample")]
        seed: Option<u64>,
    },
    /// Rebuild the Redis state from MySQL into redis.prefix, which must hold no key (disaster
    /// recovery; run it with every service of the deployment stopped).
    Restore,
    /// Every live process (role, group, host, pid, version, uptime, frames/s, inflight) and per
    /// group the client queue's depth and oldest-frame age: what `GET /api/nodes` shows.
    Status {
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every logic process loads its Lua handler folder (logic.lua_dir) again; prints each one's
    /// answer. Exit status 1 when any kept its old handlers (the error names file:line) or did not answer.
    Reload {
        /// How long to wait for the answers, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// Measure: `matchday bench bets|ceiling|settle|flush|idle`. Uses the configured Redis under a
    /// fresh key prefix, removed afterwards.
    Bench {
        #[command(subcommand)]
        scenario: Scenario,
    },
    /// Run every service in one process (starting private Redis/MariaDB under ./var when needed).
    Up {
        #[command(flatten)]
        id: Identity,
    },
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Place-bet throughput and latency end to end (connect and logic in this process, N WebSocket
    /// clients, closed loop), with the money check; `--ceiling` also runs `bench ceiling`.
    Bets {
        #[command(flatten)]
        load: Load,
        /// Also measure the Redis-only ceiling with the same requests in flight, and print the ratio.
        #[arg(long)]
        ceiling: bool,
        /// Fixed arrival rate: this many bets per second in all, spread over the clients, instead of
        /// the closed loop (--window is then the most a client lets wait; more are skipped, counted).
        #[arg(long)]
        rate: Option<u64>,
        /// Drive a running deployment at this WebSocket address (e.g. ws://10.0.0.5:7001/ws)
        /// instead of starting connect, logic and gm in this process; needs --gm and --token.
        #[arg(long, requires_all = ["gm", "token"])]
        addr: Option<String>,
        /// That deployment's gm (e.g. http://10.0.0.5:7002).
        #[arg(long, requires = "addr")]
        gm: Option<String>,
        /// A gm admin token of that deployment (the bench creates a match and grants coins).
        #[arg(long, requires = "addr", env = "MATCHDAY_BENCH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What Redis alone sustains with one bet's commands (queue in, claim, place-bet script, ack,
    /// reply out, reply claim), with clients × window loops.
    Ceiling {
        #[command(flatten)]
        load: Load,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The settle rate of resultcenter (bets/s), next to the settle script alone.
    Settle {
        /// Bets in the match.
        #[arg(long, default_value_t = 10_000)]
        bets: usize,
        /// Bets per settle script call.
        #[arg(long, default_value_t = 200)]
        batch: usize,
    },
    /// dbsvr's flush rate (records/s) next to MySQL writes alone, and its lag at a steady load.
    Flush {
        /// Bets in the backlog (each makes 3 change records).
        #[arg(long, default_value_t = 10_000)]
        bets: usize,
        /// Steady load, bets per second.
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        /// How long the steady load runs, seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// What a Lua handler costs: the caller's balance read by the built-in Rust handler (202) and by
    /// a Lua module (ctx.balance()), same clients, alternating phases; the ratio of the two.
    Lua {
        #[command(flatten)]
        load: Load,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// connect's resident memory per idle WebSocket connection: connect as a child process, N
    /// clients from several 127.0.0.x addresses (capped by the open-files limit), RSS before and after.
    Idle {
        /// Idle connections to open (the target is 100,000 at ≤ 6 KiB each).
        #[arg(long, default_value_t = 100_000)]
        connections: usize,
        /// Time limit of the opening phase, seconds.
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The load of `bench bets`, `bench ceiling` and `bench lua` (requests, for lua).
#[derive(Args, Debug)]
struct Load {
    /// WebSocket clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Bets in flight per client.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// How long the load runs, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many bets in all instead of after --seconds.
    #[arg(long)]
    bets: Option<u64>,
}

/// Where a process sits: its group and node id.
#[derive(Args, Debug)]
struct Identity {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match Config::load(cli.config.as_deref()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("matchday: {e:#}");
            return ExitCode::from(2);
        }
    };
    common::telemetry::init(cfg.log.format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("matchday: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        // `verify` found differences: they are printed; the exit status says so.
        Err(e) if e.downcast_ref::<dbsvr::verify::Differences>().is_some() => ExitCode::from(1),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "matchday failed");
            eprintln!("matchday: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, mut cfg: Config) -> anyhow::Result<()> {
    let shutdown = Shutdown::new();
    shutdown.cancel_on_signals();
    let serves = !matches!(
        command,
        Command::Migrate
            | Command::Verify { .. }
            | Command::Restore
            | Command::Bench { .. }
            | Command::Status { .. }
            | Command::Reload { .. }
    );
    if serves && let Err(e) = common::limits::raise_open_files() {
        // Every connection is an open file; without the limit the server still starts.
        tracing::warn!(error = %e, "cannot read the open-files limit");
    }
    let result = match command {
        Command::Connect { id, listen } => {
            id.apply(&mut cfg);
            if let Some(l) = listen {
                cfg.connect.listen = l;
            }
            let listener = bind(cfg.connect.listen, "connect.listen").await?;
            up::serve_admin(&cfg, &shutdown).await?;
            connect::run(cfg, listener, shutdown.clone()).await
        }
        Command::Logic { id, workers } => {
            id.apply(&mut cfg);
            if let Some(w) = workers {
                cfg.logic.workers = w;
            }
            cfg.validate()?;
            up::serve_admin(&cfg, &shutdown).await?;
            logic::run(cfg, shutdown.clone()).await
        }
        Command::Gm { id, listen } => {
            id.apply(&mut cfg);
            if let Some(l) = listen {
                cfg.gm.listen = l;
            }
            let listener = bind(cfg.gm.listen, "gm.listen").await?;
            up::serve_admin(&cfg, &shutdown).await?;
            gm::run(cfg, listener, shutdown.clone()).await
        }
        Command::Resultcenter { id, workers } => {
            id.apply(&mut cfg);
            if let Some(w) = workers {
                cfg.resultcenter.workers = w;
            }
            cfg.validate()?;
            up::serve_admin(&cfg, &shutdown).await?;
            resultcenter::run(cfg, shutdown.clone()).await
        }
        Command::Pushsvr { id, workers } => {
            id.apply(&mut cfg);
            if let Some(w) = workers {
                cfg.pushsvr.workers = w;
            }
            cfg.validate()?;
            up::serve_admin(&cfg, &shutdown).await?;
            pushsvr::run(cfg, shutdown.clone()).await
        }
        Command::Dbsvr { id, workers } => {
            id.apply(&mut cfg);
            if let Some(w) = workers {
                cfg.dbsvr.workers = w;
            }
            cfg.validate()?;
            up::serve_admin(&cfg, &shutdown).await?;
            dbsvr::run(cfg, shutdown.clone()).await
        }
        Command::Migrate => {
            dbsvr::schema::migrate(&cfg.mysql.url).await?;
            println!("schema is up to date ({})", up::redact(&cfg.mysql.url));
            Ok(())
        }
        Command::Verify { sample, seed } => {
            let (redis, pool) = dbsvr::verify::connect(&cfg).await?;
            let report = dbsvr::verify::run(&redis, &pool, dbsvr::verify::Options { sample, seed }).await;
            redis.close().await;
            pool.close().await;
            let report = report?;
            for line in report.lines() {
                println!("{line}");
            }
            println!("{}", report.summary());
            if report.is_clean() { Ok(()) } else { Err(dbsvr::verify::Differences(report.differences.len()).into()) }
        }
        Command::Status { json } => {
            let redis = common::Redis::new(&cfg.redis)?;
            redis.ready().await?;
            let status = common::status::status(&redis).await;
            redis.close().await;
            let status = status?;
            if json {
                println!("{}", status.to_json());
            } else {
                print!("{status}");
            }
            Ok(())
        }
        Command::Reload { timeout_ms } => reload::run(&cfg, Duration::from_millis(timeout_ms)).await,
        Command::Restore => {
            let (redis, pool) = dbsvr::verify::connect(&cfg).await?;
            let options = dbsvr::restore::Options { reminder_before_ms: cfg.pushsvr.reminder_before_ms };
            let report = dbsvr::restore::run_with(&redis, &pool, &options).await;
            redis.close().await;
            pool.close().await;
            println!("{}", report?);
            Ok(())
        }
        Command::Bench { scenario: Scenario::Bets { load, ceiling, rate, addr, gm, token, json } } => {
            let target = match (addr, gm, token) {
                (Some(ws), Some(gm), Some(token)) => Some(bench::Target { ws, gm, token }),
                _ => None,
            };
            let opts = bench::BetsOptions {
                clients: load.clients,
                window: load.window,
                seconds: load.seconds,
                bets: load.bets,
                rate,
                ceiling,
                progress: !json,
                target,
            };
            let report = bench::bets(cfg, opts).await?;
            if json {
                println!("{}", report.to_json()?);
            } else {
                println!("{report}");
            }
            anyhow::ensure!(report.is_correct(), "the bets run was not correct (see the report)");
            Ok(())
        }
        Command::Bench { scenario: Scenario::Ceiling { load, json } } => {
            let report = bench::ceiling(cfg, load.clients * load.window.max(1), load.seconds, load.bets).await?;
            if json {
                println!("{}", report.to_json()?);
            } else {
                println!("{report}");
                println!(
                    "RESULT ceiling_per_sec={:.0} p50_us={} p99_us={}",
                    report.bets_per_sec, report.p50_us, report.p99_us
                );
            }
            Ok(())
        }
        Command::Bench { scenario: Scenario::Settle { bets, batch } } => {
            let report = bench::settle(cfg, bets, batch).await?;
            println!("{report}");
            Ok(())
        }
        Command::Bench { scenario: Scenario::Flush { bets, rate, seconds } } => {
            let report = bench::flush(cfg, bets, rate, seconds).await?;
            println!("{report}");
            Ok(())
        }
        Command::Bench { scenario: Scenario::Lua { load, json } } => {
            anyhow::ensure!(load.bets.is_none(), "bench lua runs for --seconds; --bets is for bench bets and ceiling");
            let report = bench::lua(cfg, load.clients, load.window, load.seconds).await?;
            if json {
                println!("{}", report.to_json()?);
            } else {
                println!("{report}");
            }
            anyhow::ensure!(report.is_correct(), "the lua run was not correct (see the report)");
            Ok(())
        }
        Command::Bench { scenario: Scenario::Idle { connections, seconds, json } } => {
            let opts = bench::IdleOptions { connections, seconds, program: None, progress: !json };
            let report = bench::idle(cfg, opts).await?;
            if json {
                println!("{}", report.to_json()?);
            } else {
                println!("{report}");
            }
            anyhow::ensure!(report.is_correct(), "not every connection was opened and held (see the report)");
            Ok(())
        }
        Command::Up { id } => {
            id.apply(&mut cfg);
            up::run(cfg, shutdown.clone()).await
        }
    };
    shutdown.shutdown(Duration::from_secs(10)).await;
    result
}

/// Binds a listener, naming the setting to change when the port is taken.
pub(crate) async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}; set {setting} to a free address"))
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
            Command::Logic { id, workers } => assert_eq!((id.group, workers), (Some(2), Some(3))),
            other => panic!("parsed as {other:?}"),
        }
    }
}
