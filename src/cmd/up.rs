//! `matchday up`: every service in one process, for development and demos. Starts private Redis
//! and MariaDB instances under `up.var_dir` when none answers at the configured address.

use common::{Config, Redis, Shutdown};
use fred::prelude::*;

use super::{redact, serve_admin};
use crate::local_deps::{self, Dependency};

/// What the command line asks of `up`.
pub struct Options {
    /// Run on the local Redis Cluster (scripts/cluster.sh's).
    pub redis_cluster: bool,
    /// Serve wss:// with a development certificate (when none is configured).
    pub tls: bool,
}

pub async fn run(mut cfg: Config, options: Options, shutdown: Shutdown) -> anyhow::Result<()> {
    if options.redis_cluster {
        cfg.redis.url = local_deps::local_cluster().await?;
    }
    let dev_ca = if options.tls && cfg.connect.tls_cert.is_empty() {
        let dev = common::tls::development(&cfg.up.var_dir.join("tls"), &["localhost", "127.0.0.1", "::1"])?;
        cfg.connect.tls_cert = dev.cert.display().to_string();
        cfg.connect.tls_key = dev.key.display().to_string();
        Some(dev.ca)
    } else {
        None
    };
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
        result = serve(cfg, dev_ca, &shutdown).await;
    }
    // Whatever happened, the services are down before their private servers stop.
    shutdown.shutdown(std::time::Duration::from_secs(10)).await;
    for p in private {
        p.stop().await;
    }
    result
}

/// The example Lua handler folder `matchday up` uses when logic.lua_dir is empty.
const EXAMPLE_LUA_DIR: &str = "logic/scripts";

/// Runs connect, logic, gm, web, resultcenter, pushsvr, dbsvr and datacenter (and the admin server) until shutdown or until one of them fails.
async fn serve(mut cfg: Config, dev_ca: Option<std::path::PathBuf>, shutdown: &Shutdown) -> anyhow::Result<()> {
    let generated = dev_credentials(&mut cfg);
    // What was configured passed at load; what was made here must pass the same rules.
    cfg.validate_secrets()?;
    // The example Lua handlers (docs/lua.md) when run from a checkout and none are configured.
    if cfg.logic.lua_dir.is_empty() && std::path::Path::new(EXAMPLE_LUA_DIR).is_dir() {
        cfg.logic.lua_dir = EXAMPLE_LUA_DIR.to_owned();
        println!("Lua handlers: {EXAMPLE_LUA_DIR} (set logic.lua_dir to use another folder)");
    }
    dbsvr::schema::migrate(&cfg.mysql.url).await?;
    let listener = super::bind(cfg.connect.listen, "connect.listen").await?;
    let ws = listener.local_addr()?;
    let gm_listeners = super::bind_gm(&cfg).await?;
    let gm_addr = gm_listeners.api.local_addr()?;
    let payments_addr = gm_listeners.payments.as_ref().map(|l| l.local_addr()).transpose()?;
    let web_listener = super::bind(cfg.web.listen, "web.listen").await?;
    let web_addr = web_listener.local_addr()?;
    // One process runs every role: ready while Redis, the reply list and MySQL answer.
    let needs = super::Needs {
        list: Some(common::keys::Keys::new(&cfg.redis.prefix).l2c(cfg.node.group, &cfg.node.id)),
        mysql: Some(dbsvr::MysqlProbe::new(&cfg.mysql.url)?),
    };
    let admin = serve_admin(&cfg, shutdown, needs).await?;

    let mut connect = tokio::spawn(connect::run(cfg.clone(), listener, shutdown.clone()));
    let mut logic = tokio::spawn(logic::run(cfg.clone(), shutdown.clone()));
    let mut gm = tokio::spawn(gm::run(cfg.clone(), gm_listeners, shutdown.clone()));
    let mut web = tokio::spawn(web::run(cfg.clone(), web_listener, shutdown.clone()));
    let mut resultcenter = tokio::spawn(resultcenter::run(cfg.clone(), shutdown.clone()));
    let mut pushsvr = tokio::spawn(pushsvr::run(cfg.clone(), shutdown.clone()));
    let mut dbsvr = tokio::spawn(dbsvr::run(cfg.clone(), shutdown.clone()));
    // The feeds, when configured, go through this process's gm (with its first token unless
    // datacenter.token is set).
    let mut datacenter = {
        use secrecy::ExposeSecret;
        let mut dc = cfg.clone();
        dc.datacenter.gm_url = format!("http://{gm_addr}");
        if dc.datacenter.token.expose_secret().is_empty()
            && let Some(t) = cfg.gm.tokens.first()
        {
            dc.datacenter.token = t.token.clone();
        }
        let s = shutdown.clone();
        tokio::spawn(async move {
            if dc.datacenter.feeds.is_empty() {
                s.cancelled().await;
                return Ok(());
            }
            datacenter::run(dc, s).await
        })
    };

    let host = if ws.ip().is_unspecified() { "127.0.0.1".to_owned() } else { ws.ip().to_string() };
    println!("matchday is up (node {}, group {})", cfg.node.id, cfg.node.group);
    let scheme = if cfg.connect.tls_cert.is_empty() { "ws" } else { "wss" };
    println!("  WebSocket  {scheme}://{host}:{}/ws   (MessagePack binary or JSON text frames)", ws.port());
    if let Some(ca) = &dev_ca {
        println!("  TLS CA     {}   (a development CA made for this run: trust it in clients)", ca.display());
    }
    println!("  gm API     http://{gm_addr}/api   (OpenAPI: http://{gm_addr}/openapi.json)");
    println!("  console    http://{gm_addr}/   (sign in with a gm token)");
    println!("  public API http://{web_addr}/api   (no login; OpenAPI: http://{web_addr}/openapi.json)");
    if let Some(p) = payments_addr {
        println!("  payments   http://{p}/api/payments/callback   (the provider's listener: gm.payments_listen)");
    }
    println!("  metrics    http://{admin}/metrics   health http://{admin}/healthz");
    if !cfg.datacenter.feeds.is_empty() {
        let names: Vec<&str> = cfg.datacenter.feeds.iter().map(|f| f.name.as_str()).collect();
        println!("  feeds      {}   (datacenter pulls them through gm)", names.join(", "));
    }
    for line in generated {
        println!("  {line}");
    }
    println!("  Redis      {}   prefix {}", redact(&cfg.redis.url), cfg.redis.prefix);
    println!("             {}", redis_durability(&cfg).await);
    println!("  MySQL      {}", redact(&cfg.mysql.url));
    println!("Press Ctrl-C to stop.");

    // A service that stops on its own (an error) stops the whole process; on shutdown all finish.
    let first = tokio::select! {
        r = &mut connect => Some(("connect", r)),
        r = &mut logic => Some(("logic", r)),
        r = &mut gm => Some(("gm", r)),
        r = &mut web => Some(("web", r)),
        r = &mut resultcenter => Some(("resultcenter", r)),
        r = &mut pushsvr => Some(("pushsvr", r)),
        r = &mut dbsvr => Some(("dbsvr", r)),
        r = &mut datacenter => Some(("datacenter", r)),
        _ = shutdown.cancelled() => None,
    };
    shutdown.token.cancel();
    let mut result = Ok(());
    let mut rest = vec![
        ("connect", connect),
        ("logic", logic),
        ("gm", gm),
        ("web", web),
        ("resultcenter", resultcenter),
        ("pushsvr", pushsvr),
        ("dbsvr", dbsvr),
        ("datacenter", datacenter),
    ];
    if let Some((name, r)) = first {
        rest.retain(|(n, _)| *n != name);
        result = flatten(name, r);
    }
    for (name, handle) in rest {
        result = result.and(flatten(name, handle.await));
    }
    result
}

/// What the Redis in use does with acknowledged writes (its AOF settings), in words; a warning is
/// logged when a crash would lose them.
async fn redis_durability(cfg: &Config) -> String {
    let read = async {
        let redis = Redis::new(&cfg.redis)?;
        redis.ready().await?;
        let cmd = || fred::types::CustomCommand::new_static("CONFIG", fred::types::ClusterHash::Random, false);
        let aof: Vec<String> = redis.pool.next().custom(cmd(), vec!["GET", "appendonly"]).await?;
        let fsync: Vec<String> = redis.pool.next().custom(cmd(), vec!["GET", "appendfsync"]).await?;
        redis.close().await;
        anyhow::Ok((aof.get(1).cloned().unwrap_or_default(), fsync.get(1).cloned().unwrap_or_default()))
    };
    match read.await {
        Ok((aof, fsync)) if aof == "yes" && fsync == "always" => {
            "durability appendonly yes, appendfsync always: no acknowledged write is lost".into()
        }
        Ok((aof, fsync)) if aof == "yes" => {
            format!(
                "durability appendonly yes, appendfsync {fsync}: a crash can lose up to ~1 s of acknowledged writes"
            )
        }
        Ok(_) => {
            tracing::warn!("this Redis keeps no append-only file: a restart loses every coin and bet since it started");
            "durability appendonly no: a Redis restart loses everything (not for real money; see docs/operations.md)"
                .into()
        }
        Err(e) => format!("durability unknown (CONFIG GET refused: {e})"),
    }
}

/// On a developer's machine with no staff tokens or payment secret configured, makes one-off ones
/// (32 random bytes, 64 hex characters) so the API can be tried at once; returns what to print.
fn dev_credentials(cfg: &mut Config) -> Vec<String> {
    use secrecy::ExposeSecret;
    let mut lines = Vec::new();
    if cfg.gm.tokens.is_empty() {
        let token = random_hex();
        lines.push(format!("gm token   {token}   (admin, made for this run: no gm.tokens configured)"));
        cfg.gm.tokens.push(common::config::StaffToken {
            name: "up-admin".into(),
            token: token.into(),
            role: common::config::Role::Admin,
        });
    }
    if cfg.gm.payment_secret.expose_secret().is_empty() {
        let secret = random_hex();
        lines.push(format!("payments   secret {secret}   (made for this run: gm.payment_secret is empty)"));
        cfg.gm.payment_secret = secret.into();
    }
    lines
}

/// 32 random bytes as 64 hex characters.
fn random_hex() -> String {
    format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>())
}

fn flatten(name: &str, r: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.context(format!("{name} failed"))),
        Err(e) => Err(anyhow::anyhow!("{name} crashed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn made_credentials_pass_the_secret_rules() {
        let mut cfg = common::Config::defaults();
        assert_eq!(super::dev_credentials(&mut cfg).len(), 2);
        cfg.validate_secrets().expect("the one-off token and payment secret are long enough");
        assert_eq!(super::random_hex().len(), 64);
    }
}
