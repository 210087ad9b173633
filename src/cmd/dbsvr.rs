//! `matchday dbsvr`: the outbox into MySQL (consumes q:outbox:{…}).

use common::{Config, Shutdown};

pub async fn run(w: super::Workers, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    // Ready while MySQL answers too: a dbsvr that cannot write holds the outbox.
    let needs = super::Needs { mysql: Some(dbsvr::MysqlProbe::new(&cfg.mysql.url)?), ..Default::default() };
    w.start(&mut cfg, |c| &mut c.dbsvr.workers, shutdown, needs).await?;
    dbsvr::run(cfg, shutdown.clone()).await
}
