//! The services a bench runs in its own process: connect and logic for each group asked for, and gm,
//! for one config under a fresh prefix, with the limits lifted that a load from one host would trip.

use std::time::Duration;

use common::config::{Role, StaffToken};
use common::{Config, Redis, Shutdown};

/// Starts a connect and a logic for each of `groups` (`cfg.node.group` when empty) and one gm, for
/// `cfg` (made by [`in_process_config`]) in this process, on a runtime of their own (threads named
/// [`crate::cost::SERVICE_THREADS`]), runs `f` with the WebSocket addresses (one per group, in
/// order) and gm's, then stops them and removes the run's keys.
pub(crate) async fn with_services<T, Fut>(
    cfg: &Config,
    groups: &[u32],
    f: impl FnOnce(Vec<String>, String) -> Fut,
) -> anyhow::Result<T>
where
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    // The services get threads of their own, named, so that their CPU is told apart from the load
    // generator's (crate::cost); as many as the bench's own runtime has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .thread_name(crate::cost::SERVICE_THREADS)
        .enable_all()
        .build()?;
    let shutdown = Shutdown::new();
    let result = async {
        let (c, s) = (cfg.clone(), shutdown.clone());
        let groups = if groups.is_empty() { vec![cfg.node.group] } else { groups.to_vec() };
        let (ws, gm) = runtime.spawn(async move { spawn_services(&c, &groups, &s).await }).await??;
        f(ws, gm).await
    }
    .await;
    shutdown.shutdown(Duration::from_secs(10)).await;
    runtime.shutdown_background();
    crate::cleanup(&redis).await;
    redis.close().await;
    result
}

/// `cfg` for services run in the bench's process: a fresh prefix and node id, ports picked by the
/// OS, no rate limit, cheap password hashing, and a one-off gm admin token (returned) without a
/// daily grant limit.
pub(crate) fn in_process_config(mut cfg: Config) -> anyhow::Result<(Config, String)> {
    cfg.redis.prefix = crate::fresh_prefix();
    cfg.node.id = format!("bench{}", &cfg.redis.prefix[6..14]);
    cfg.connect.listen = "127.0.0.1:0".parse()?;
    cfg.connect.rate_burst = 1_000_000;
    cfg.connect.rate_per_sec = 1_000_000;
    cfg.logic.argon2_memory_kib = 64;
    cfg.logic.argon2_iterations = 1;
    // Every bench client signs up and logs in from this host: lift the per-address limits.
    let l = &mut cfg.logic;
    (l.password_attempts_per_addr_per_min, l.password_hashes_per_sec) = (u64::MAX / 2, u64::MAX / 2);
    (l.register_max_per_addr, l.login_max_failures_per_addr) = (u64::MAX / 2, u64::MAX / 2);
    l.max_queued_hashes = 1_000_000; // every client signs up at once
    cfg.gm.listen = "127.0.0.1:0".parse()?;
    let token = format!("{:032x}", rand::random::<u128>());
    cfg.gm.tokens = vec![StaffToken { name: "bench".into(), token: token.clone().into(), role: Role::Admin }];
    // The bench funds every client with one grant: no daily grant limit for its one-off token, and no
    // second admin to approve it.
    (cfg.gm.grant_daily_limit, cfg.gm.grant_approval_above) = (0, 0);
    cfg.validate()?;
    Ok((cfg, token))
}

/// Starts a connect and a logic per group (node `{id}g{group}` each) and one gm; returns the
/// WebSocket addresses (in the order of `groups`) and gm's.
async fn spawn_services(cfg: &Config, groups: &[u32], shutdown: &Shutdown) -> anyhow::Result<(Vec<String>, String)> {
    let mut ws = Vec::with_capacity(groups.len());
    for &group in groups {
        let mut cfg = cfg.clone();
        cfg.node.id = format!("{}g{group}", cfg.node.id);
        cfg.node.group = group;
        let listener = tokio::net::TcpListener::bind(cfg.connect.listen).await?;
        let server = connect::Server::new(cfg.clone(), listener)?;
        ws.push(format!("ws://{}/ws", server.local_addr()?));
        let s = shutdown.clone();
        shutdown.tracker.spawn(async move {
            if let Err(e) = server.run(s).await {
                tracing::error!(error = format!("{e:#}"), group, "bench: connect failed");
            }
        });
        let s = shutdown.clone();
        shutdown.tracker.spawn(async move {
            if let Err(e) = logic::run(cfg, s).await {
                tracing::error!(error = format!("{e:#}"), group, "bench: logic failed");
            }
        });
    }
    let gm_listener = tokio::net::TcpListener::bind(cfg.gm.listen).await?;
    let gm = format!("http://{}", gm_listener.local_addr()?);
    let (c, s) = (cfg.clone(), shutdown.clone());
    shutdown.tracker.spawn(async move {
        if let Err(e) = gm::run(c, gm_listener, s).await {
            tracing::error!(error = format!("{e:#}"), "bench: gm failed");
        }
    });
    Ok((ws, gm))
}
