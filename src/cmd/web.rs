//! `matchday web`: the public read API (docs/web.md).

use std::net::SocketAddr;

use common::{Config, Shutdown};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    id: super::Identity,
    /// Listen address (overrides web.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub async fn run(args: Args, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    args.id.apply(&mut cfg);
    if let Some(l) = args.listen {
        cfg.web.listen = l;
    }
    cfg.validate()?;
    let listener = super::bind(cfg.web.listen, "web.listen").await?;
    super::serve_admin(&cfg, shutdown, super::Needs::default()).await?;
    ::web::run(cfg, listener, shutdown.clone()).await
}
