//! `matchday gm`: the staff HTTP API (and, with `gm.payments_listen`, the payment provider's listener).

use std::net::SocketAddr;

use common::{Config, Shutdown};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    id: super::Identity,
    /// Listen address (overrides gm.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub async fn run(args: Args, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    args.id.apply(&mut cfg);
    if let Some(l) = args.listen {
        cfg.gm.listen = l;
    }
    let listeners = super::bind_gm(&cfg).await?;
    super::serve_admin(&cfg, shutdown, super::Needs::default()).await?;
    gm::run(cfg, listeners, shutdown.clone()).await
}
