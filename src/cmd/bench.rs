//! `matchday bench`: the measurements of docs/benchmarks.md, one scenario each.

use clap::{Args, Subcommand};
use common::Config;

#[derive(Subcommand, Debug)]
pub enum Scenario {
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
        /// Repeat it for several connect nodes: the clients are spread evenly over them.
        #[arg(long, requires_all = ["gm", "token"])]
        addr: Vec<String>,
        /// In process: run a connect and a logic for each of these groups (e.g. --groups 3,1,4)
        /// and spread the clients over them. On a cluster, pick groups whose queues (hash tag
        /// `{group}`) sit on different primaries (`redis-cli cluster keyslot '{3}'`).
        #[arg(long, value_delimiter = ',', conflicts_with = "addr")]
        groups: Vec<u32>,
        /// That deployment's gm (e.g. http://10.0.0.5:7002).
        #[arg(long, requires = "addr")]
        gm: Option<String>,
        /// A gm admin token of that deployment (the bench creates a match and grants coins).
        #[arg(long, requires = "addr", env = "MATCHDAY_BENCH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
        /// Afterwards, flush the run into a scratch MySQL database (`mysql.url`'s server) with
        /// dbsvr, `verify` it, `restore` it into a fresh prefix and verify that (in process only).
        #[arg(long, conflicts_with = "addr")]
        verify: bool,
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
        /// Afterwards, flush the run into a scratch MySQL database with dbsvr, `verify` it,
        /// `restore` it into a fresh prefix and verify that.
        #[arg(long)]
        verify: bool,
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
pub struct Load {
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

pub async fn run(scenario: Scenario, cfg: Config) -> anyhow::Result<()> {
    match scenario {
        Scenario::Bets { load, ceiling, rate, addr, groups, gm, token, json, verify } => {
            let target = match (gm, token) {
                (Some(gm), Some(token)) if !addr.is_empty() => Some(bench::Target { ws: addr, gm, token }),
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
                verify,
                groups,
            };
            let report = bench::bets(cfg, opts).await?;
            print_report(json, &report, || report.to_json())?;
            anyhow::ensure!(report.is_correct(), "the bets run was not correct (see the report)");
        }
        Scenario::Ceiling { load, json } => {
            let report = bench::ceiling(cfg, load.clients * load.window.max(1), load.seconds, load.bets).await?;
            print_report(json, &report, || report.to_json())?;
            if !json {
                println!(
                    "RESULT ceiling_per_sec={:.0} p50_us={} p99_us={}",
                    report.bets_per_sec, report.p50_us, report.p99_us
                );
            }
        }
        Scenario::Settle { bets, batch, verify } => {
            let report = bench::settle(cfg, bets, batch, verify).await?;
            println!("{report}");
            anyhow::ensure!(
                report.durable.as_ref().is_none_or(bench::DurableReport::is_clean),
                "the settled run does not verify against MySQL (see the report)"
            );
        }
        Scenario::Flush { bets, rate, seconds } => println!("{}", bench::flush(cfg, bets, rate, seconds).await?),
        Scenario::Lua { load, json } => {
            anyhow::ensure!(load.bets.is_none(), "bench lua runs for --seconds; --bets is for bench bets and ceiling");
            let report = bench::lua(cfg, load.clients, load.window, load.seconds).await?;
            print_report(json, &report, || report.to_json())?;
            anyhow::ensure!(report.is_correct(), "the lua run was not correct (see the report)");
        }
        Scenario::Idle { connections, seconds, json } => {
            let opts = bench::IdleOptions { connections, seconds, program: None, progress: !json };
            let report = bench::idle(cfg, opts).await?;
            print_report(json, &report, || report.to_json())?;
            anyhow::ensure!(report.is_correct(), "not every connection was opened and held (see the report)");
        }
    }
    Ok(())
}

/// Prints a report: as JSON with `json`, else as text.
fn print_report(
    json: bool,
    report: &dyn std::fmt::Display,
    as_json: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    if json {
        println!("{}", as_json()?);
    } else {
        println!("{report}");
    }
    Ok(())
}
