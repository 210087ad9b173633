//! `matchday verify`: compares Redis with MySQL and prints every difference (exit status 1 if any).

use common::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Compare N random users (with their wallets and ledgers), N random bets and N random
    /// matches instead of all of them.
    #[arg(long, value_name = "N")]
    sample: Option<u64>,
    /// Seed of the random sample (printed in the summary, to compare the same sample again).
    #[arg(long, requires = "sample")]
    seed: Option<u64>,
}

pub async fn run(args: Args, cfg: &Config) -> anyhow::Result<()> {
    let (redis, pool) = dbsvr::verify::connect(cfg).await?;
    let options = dbsvr::verify::Options { sample: args.sample, seed: args.seed };
    let report = dbsvr::verify::run(&redis, &pool, options).await;
    redis.close().await;
    pool.close().await;
    let report = report?;
    for line in report.lines() {
        println!("{line}");
    }
    println!("{}", report.summary());
    if report.is_clean() { Ok(()) } else { Err(dbsvr::verify::Differences(report.differences.len()).into()) }
}
