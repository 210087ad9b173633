//! `matchday dbsvr`: the outbox into MySQL (consumes q:outbox:{…}).

use common::{Config, Shutdown};

pub async fn run(w: super::Workers, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    w.start(&mut cfg, |c| &mut c.dbsvr.workers, shutdown).await?;
    dbsvr::run(cfg, shutdown.clone()).await
}
