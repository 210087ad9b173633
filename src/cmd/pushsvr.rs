//! `matchday pushsvr`: the notification service (consumes q:notify:{…}, runs delayed events).

use common::{Config, Shutdown};

pub async fn run(w: super::Workers, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    w.start(&mut cfg, |c| &mut c.pushsvr.workers, shutdown, super::Needs::default()).await?;
    pushsvr::run(cfg, shutdown.clone()).await
}
