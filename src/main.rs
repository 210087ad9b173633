//! `matchday`: one binary, one subcommand per service. Parses the command line, loads the config,
//! starts telemetry, and hands over to the subcommand (`cmd/`, one file each).

mod cmd;
mod local_deps;

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: per-frame allocations in connect and logic were ~12 % of the
/// bench process's CPU in glibc (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use common::Config;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
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
    match runtime.block_on(cmd::run(cli.command, cfg)) {
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
