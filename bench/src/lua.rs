//! What a Lua handler costs: one read, the caller's balance, answered by the built-in Rust handler
//! (202) and by a Lua module doing the same with `ctx.balance()` (msg id [`LUA_MSG`], written to a
//! temporary folder that logic loads), through the same connect and logic in this process, the same
//! N WebSocket clients with W requests in flight each. The phases alternate (Rust, Lua, Rust, Lua,
//! `seconds` / 2 each) so that drift of the machine falls on both alike. Every answer is checked:
//! its own seq, code 0, and the client's true balance.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use common::Config;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use matchday_client::Client;
use protocol::body::{BalanceReply, Empty};
use protocol::msg;
use serde::Serialize;
use tokio::time::Instant;

use crate::ceiling::new_histogram;
use crate::load::BenchClient;
use crate::services::{in_process_config, with_services};

/// The msg id the bench's Lua module serves (outside the protocol's ids; only in the bench).
pub const LUA_MSG: u16 = 650;

/// The module: 202's balance read, in Lua.
fn module() -> String {
    format!(
        "-- matchday bench: the balance read of 202, as a Lua handler module.
return {{
  msg_ids = {{ {LUA_MSG} }},
  handle = function(ctx, head, body)
    return {{ balance = ctx.balance() }}
  end,
}}
"
    )
}

/// One handler's figures over its phases.
#[derive(Debug, Clone, Serialize)]
pub struct LuaPhase {
    pub handler: &'static str,
    pub msg_id: u16,
    pub requests: u64,
    pub secs: f64,
    pub per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Replies with a non-zero code, by code.
    pub errors: BTreeMap<u16, u64>,
    /// Replies that matched no request in flight, requests never answered, and answers with a
    /// balance other than the client's.
    pub wrong: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LuaReport {
    pub clients: usize,
    pub window: usize,
    pub rust: LuaPhase,
    pub lua: LuaPhase,
}

impl LuaReport {
    /// Lua requests/s over Rust requests/s.
    pub fn ratio(&self) -> f64 {
        self.lua.per_sec / self.rust.per_sec
    }

    /// Every request answered once, with code 0 and the right balance.
    pub fn is_correct(&self) -> bool {
        [&self.rust, &self.lua].iter().all(|p| p.requests > 0 && p.errors.is_empty() && p.wrong == 0)
    }

    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

impl std::fmt::Display for LuaReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "lua: {} clients, closed loop, window {}; the caller's balance read", self.clients, self.window)?;
        for p in [&self.rust, &self.lua] {
            writeln!(
                f,
                "  {:<5} ({}) {} requests in {:.2} s = {:.0}/s  p50 {} µs  p99 {} µs  errors {:?}  wrong {}",
                p.handler, p.msg_id, p.requests, p.secs, p.per_sec, p.p50_us, p.p99_us, p.errors, p.wrong
            )?;
        }
        writeln!(f, "  ratio {:.3} (Lua / Rust)", self.ratio())?;
        write!(
            f,
            "RESULT rust_per_sec={:.0} lua_per_sec={:.0} ratio={:.3} rust_p99_us={} lua_p99_us={} correct={}",
            self.rust.per_sec,
            self.lua.per_sec,
            self.ratio(),
            self.rust.p99_us,
            self.lua.p99_us,
            self.is_correct()
        )
    }
}

/// Runs `bench lua` in process under a fresh prefix (keys and the module's folder removed after).
pub async fn lua(cfg: Config, clients: usize, window: usize, seconds: u64) -> anyhow::Result<LuaReport> {
    let (mut cfg, _token) = in_process_config(cfg)?;
    let dir = std::env::temp_dir().join(format!("matchday-bench-lua-{}", &cfg.redis.prefix[6..14]));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("bench_balance.lua"), module())?;
    cfg.logic.lua_dir = dir.display().to_string();
    let result =
        with_services(
            &cfg,
            &[],
            |ws, _gm| async move { run(&ws[0], clients.max(1), window.max(1), seconds.max(2)).await },
        )
        .await;
    remove(dir);
    result
}

fn remove(dir: PathBuf) {
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "bench lua: could not remove the module folder");
    }
}

async fn run(ws: &str, clients: usize, window: usize, seconds: u64) -> anyhow::Result<LuaReport> {
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let mut conns: Vec<(Client, i64)> = futures_util::stream::iter(0..clients)
        .map(|i| async move {
            let (BenchClient { mut c, .. }, _uid) = BenchClient::signed_up(ws, &format!("l{run_id}x{i}")).await?;
            let balance = c.balance().await?;
            anyhow::Ok((c, balance))
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let phase = Duration::from_secs_f64(seconds as f64 / 2.0);
    let mut rust = Tally::new("rust", msg::BALANCE);
    let mut lua = Tally::new("lua", LUA_MSG);
    for _round in 0..2 {
        for tally in [&mut rust, &mut lua] {
            let started = Instant::now();
            let deadline = started + phase;
            let id = tally.msg_id;
            let handles: Vec<_> = conns
                .drain(..)
                .map(|(mut c, balance)| {
                    tokio::spawn(async move {
                        let out = closed_loop(&mut c, id, window, deadline, balance).await;
                        (c, balance, out)
                    })
                })
                .collect();
            for h in handles {
                let (c, balance, out) = h.await?;
                tally.add(out?)?;
                conns.push((c, balance));
            }
            tally.secs += started.elapsed().as_secs_f64();
        }
    }
    Ok(LuaReport { clients, window, rust: rust.report(), lua: lua.report() })
}

/// A handler's counts, summed over its phases and clients.
struct Tally {
    handler: &'static str,
    msg_id: u16,
    ok: u64,
    wrong: u64,
    errors: BTreeMap<u16, u64>,
    hist: Histogram<u64>,
    secs: f64,
}

impl Tally {
    fn new(handler: &'static str, msg_id: u16) -> Tally {
        Tally { handler, msg_id, ok: 0, wrong: 0, errors: BTreeMap::new(), hist: new_histogram(), secs: 0.0 }
    }

    fn add(&mut self, out: Tally) -> anyhow::Result<()> {
        self.ok += out.ok;
        self.wrong += out.wrong;
        for (code, n) in out.errors {
            *self.errors.entry(code).or_insert(0) += n;
        }
        Ok(self.hist.add(&out.hist)?)
    }

    fn report(self) -> LuaPhase {
        LuaPhase {
            handler: self.handler,
            msg_id: self.msg_id,
            requests: self.ok,
            secs: self.secs,
            per_sec: self.ok as f64 / self.secs,
            p50_us: self.hist.value_at_quantile(0.5),
            p99_us: self.hist.value_at_quantile(0.99),
            errors: self.errors,
            wrong: self.wrong,
        }
    }
}

/// Keeps `window` requests `id` in flight until `deadline`, then drains; checks every answer.
async fn closed_loop(c: &mut Client, id: u16, window: usize, deadline: Instant, balance: i64) -> anyhow::Result<Tally> {
    let mut out = Tally::new("", id);
    let mut in_flight: HashMap<u32, Instant> = HashMap::with_capacity(window);
    for _ in 0..window {
        in_flight.insert(c.send(id, &Empty {}).await?, Instant::now());
    }
    c.flush().await?;
    while !in_flight.is_empty() {
        let reply = match c.next_reply().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "bench lua: {} requests unanswered", in_flight.len());
                out.wrong += in_flight.len() as u64;
                break;
            }
        };
        let Some(sent) = in_flight.remove(&reply.head.seq).filter(|_| reply.head.id == id) else {
            out.wrong += 1;
            continue;
        };
        out.hist.record(sent.elapsed().as_micros().max(1) as u64)?;
        if !reply.is_ok() {
            *out.errors.entry(reply.code()).or_insert(0) += 1;
        } else if reply.decode::<BalanceReply>()?.balance == balance {
            out.ok += 1;
        } else {
            out.wrong += 1;
        }
        if Instant::now() < deadline {
            in_flight.insert(c.send(id, &Empty {}).await?, Instant::now());
            c.flush().await?;
        }
    }
    Ok(out)
}
