//! `matchday connect`: the WebSocket gateway of one group.

use std::net::SocketAddr;

use common::{Config, Shutdown};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    id: super::Identity,
    /// Listen address (overrides connect.listen).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

pub async fn run(args: Args, mut cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    args.id.apply(&mut cfg);
    if let Some(l) = args.listen {
        cfg.connect.listen = l;
    }
    let listener = super::bind(cfg.connect.listen, "connect.listen").await?;
    // Ready while the primary of its reply list answers too (on a cluster, not only some node).
    let replies = common::keys::Keys::new(&cfg.redis.prefix).l2c(cfg.node.group, &cfg.node.id);
    super::serve_admin(&cfg, shutdown, super::Needs { list: Some(replies), ..Default::default() }).await?;
    connect::run(cfg, listener, shutdown.clone()).await
}
