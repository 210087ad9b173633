//! `matchday restore`: rebuilds the Redis state from MySQL into an empty prefix.

use common::Config;

pub async fn run(cfg: &Config) -> anyhow::Result<()> {
    let (redis, pool) = dbsvr::verify::connect(cfg).await?;
    let options = dbsvr::restore::Options::from_config(cfg);
    let report = dbsvr::restore::run_with(&redis, &pool, &options).await;
    redis.close().await;
    pool.close().await;
    println!("{}", report?);
    Ok(())
}
