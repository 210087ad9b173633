//! `matchday resultcenter`: the settlement service (consumes q:settle:{g}).

use common::{Config, Shutdown};

pub async fn run(w: super::Workers, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    w.start(&mut cfg, |c| &mut c.resultcenter.workers, shutdown, super::Needs::default()).await?;
    resultcenter::run(cfg, shutdown.clone()).await
}
