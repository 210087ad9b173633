//! `matchday datacenter`: pulls the match feeds (datacenter.feeds) on a schedule and applies them
//! through gm's API (datacenter.gm_url, with datacenter.token).

use common::{Config, Shutdown};

pub async fn run(id: super::Identity, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    id.apply(&mut cfg);
    super::serve_admin(&cfg, shutdown, super::Needs::default()).await?;
    datacenter::run(cfg, shutdown.clone()).await
}
