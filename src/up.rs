//! `matchday up`: every service in one process, for development and demos. Starts private Redis
//! and MariaDB instances under `up.var_dir` when none answers at the configured address.

use std::sync::Arc;

use common::{Config, Redis, Shutdown};
use fred::prelude::*;

use crate::local_deps::{self, Dependency};

pub async fn run(mut cfg: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut private = Vec::new();
    let mut result = Ok(());
    for dep in [Dependency::Redis, Dependency::Mysql] {
        match local_deps::ensure(dep, &mut cfg).await {
            Ok(Some(p)) => private.push(p),
            Ok(None) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = serve(cfg, &shutdown).await;
    }
    // Whatever happened, the services are down before their private servers stop.
    shutdown.shutdown(std::time::Duration::from_secs(10)).await;
    for p in private {
        p.stop().await;
    }
    result
}

/// Runs connect and logic (and the admin server) until shutdown or until one of them fails.
async fn serve(cfg: Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    let listener = crate::bind(cfg.connect.listen, "connect.listen").await?;
    let ws = listener.local_addr()?;
    let admin = serve_admin(&cfg, shutdown).await?;

    let mut connect = tokio::spawn(connect::run(cfg.clone(), listener, shutdown.clone()));
    let mut logic = tokio::spawn(logic::run(cfg.clone(), shutdown.clone()));

    let host = if ws.ip().is_unspecified() { "127.0.0.1".to_owned() } else { ws.ip().to_string() };
    println!("matchday is up (node {}, group {})", cfg.node.id, cfg.node.group);
    println!("  WebSocket  ws://{host}:{}/ws   (MessagePack binary or JSON text frames)", ws.port());
    println!("  metrics    http://{admin}/metrics   health http://{admin}/healthz");
    println!("  Redis      {}   prefix {}", redact(&cfg.redis.url), cfg.redis.prefix);
    println!("Press Ctrl-C to stop.");

    // A service that stops on its own (an error) stops the whole process; on shutdown both finish.
    tokio::select! {
        r = &mut connect => {
            shutdown.token.cancel();
            let other = logic.await;
            flatten("connect", r).and(flatten("logic", other))
        }
        r = &mut logic => {
            shutdown.token.cancel();
            let other = connect.await;
            flatten("logic", r).and(flatten("connect", other))
        }
        _ = shutdown.cancelled() => {
            let (c, l) = tokio::join!(connect, logic);
            flatten("connect", c).and(flatten("logic", l))
        }
    }
}

fn flatten(name: &str, r: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.context(format!("{name} failed"))),
        Err(e) => Err(anyhow::anyhow!("{name} crashed: {e}")),
    }
}

/// Starts the `/metrics`, `/healthz`, `/readyz` server on `metrics.listen`; returns its address.
pub async fn serve_admin(cfg: &Config, shutdown: &Shutdown) -> anyhow::Result<std::net::SocketAddr> {
    let listener = crate::bind(cfg.metrics.listen, "metrics.listen").await?;
    let addr = listener.local_addr()?;
    let redis = Redis::new(&cfg.redis)?;
    let redis_for_close = redis.clone();
    let ready: common::telemetry::ReadyCheck = Arc::new(move || {
        let redis = redis.clone();
        Box::pin(async move {
            let pong: Result<String, _> = redis.pool.ping(None).await;
            pong.map(|_| ()).map_err(|e| format!("Redis: {e}"))
        })
    });
    let s = shutdown.clone();
    shutdown.tracker.spawn(async move {
        if let Err(e) = common::telemetry::serve_admin(listener, ready, s).await {
            tracing::error!(error = format!("{e:#}"), "admin server failed");
        }
        redis_for_close.close().await;
    });
    Ok(addr)
}

/// A URL without its password, for printing.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_credentials() {
        assert_eq!(super::redact("redis://:pw@h:1/0"), "redis://***@h:1/0");
        assert_eq!(super::redact("redis://h:1/0"), "redis://h:1/0");
    }
}
