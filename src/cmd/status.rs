//! `matchday status`: every live process with its load, and each group's backlog.

use common::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print it as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, cfg: &Config) -> anyhow::Result<()> {
    let redis = common::Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let status = common::status::status(&redis).await;
    redis.close().await;
    let status = status?;
    if args.json {
        println!("{}", status.to_json());
    } else {
        print!("{status}");
    }
    Ok(())
}
