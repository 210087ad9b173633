//! `matchday reload`: every logic process loads its Lua handler folder again (docs/lua.md); prints
//! each process's answer. Fails (exit 1) when any kept its old handlers or did not answer in time.

use std::time::Duration;

use common::{Config, control};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How long to wait for the answers, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
}

pub async fn run(cfg: &Config, timeout: Duration) -> anyhow::Result<()> {
    let redis = common::Redis::new(&cfg.redis)?;
    redis.ready().await?;
    let result = reload(&redis, timeout).await;
    redis.close().await;
    result
}

async fn reload(redis: &common::Redis, timeout: Duration) -> anyhow::Result<()> {
    let nodes: Vec<control::Node> = control::nodes(redis).await?.into_iter().filter(|n| n.role == "logic").collect();
    if nodes.is_empty() {
        println!("no logic process is running (no heartbeat under prefix {:?})", redis.keys.prefix());
        return Ok(());
    }
    let mut answers = control::send(redis, &nodes, "reload", "cli", timeout).await?;
    answers.sort_by(|a, b| a.node.cmp(&b.node));
    for a in &answers {
        println!("{}\t{}\t{}", a.node, if a.ok { "ok" } else { "FAILED" }, a.detail);
    }
    let missing: Vec<&str> =
        nodes.iter().filter(|n| !answers.iter().any(|a| a.node == n.id)).map(|n| n.id.as_str()).collect();
    for node in &missing {
        println!("{node}\tNO ANSWER\tdid not answer within {} ms", timeout.as_millis());
    }
    let failed = answers.iter().filter(|a| !a.ok).count();
    anyhow::ensure!(
        failed == 0 && missing.is_empty(),
        "{failed} logic process(es) kept their old handlers and {} did not answer, of {}",
        missing.len(),
        nodes.len()
    );
    Ok(())
}
