//! `matchday logic`: the logic workers of one group (consume q:c2l:{group}).

use common::{Config, Shutdown};

pub async fn run(w: super::Workers, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    w.start(&mut cfg, |c| &mut c.logic.workers, shutdown, super::Needs::default()).await?;
    logic::run(cfg, shutdown.clone()).await
}
