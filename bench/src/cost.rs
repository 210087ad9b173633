//! What a measured window costs, from the counters of the processes themselves, read before and
//! after it: Redis's `INFO cpu` (user + sys CPU of redis-server) and `INFO commandstats` (calls
//! and µs per command), and this process's CPU split by thread (the services run on threads of
//! their own, [`SERVICE_THREADS`], so the load generator's share is the rest of the process).
//! From the deltas: Redis CPU µs, commands and script µs per request, each process's share of a
//! core, and which of them is the wall.
//!
//! On a Redis Cluster the counters are read from every primary: the report sums them and gives each
//! primary's share (its CPU, and its part of the commands), and Redis is the wall when its busiest
//! primary is.
//!
//! Redis's counters are server-wide: anything else using the same Redis during the window is
//! counted too (run benches on a quiet Redis).

use std::collections::BTreeMap;
use std::time::Instant;

use common::Redis;
use fred::prelude::*;
use fred::types::CustomCommand;
use serde::Serialize;

/// The name of the threads that run the in-process services (connect, logic, gm): their CPU is
/// counted apart from the load generator's.
pub const SERVICE_THREADS: &str = "md-services";

/// Commands Redis runs as scripts: their µs include the commands they call.
const SCRIPT_COMMANDS: &[&str] = &["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"];

/// Commands the measurement itself sends, left out of the counts.
const OWN_COMMANDS: &[&str] = &["info"];

/// Redis's counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct RedisCounters {
    /// used_cpu_user + used_cpu_sys, µs.
    pub cpu_us: f64,
    /// cmdstat calls and usec, by command (lower case, `cmdstat_` removed).
    pub commands: BTreeMap<String, (u64, u64)>,
}

/// Every primary's counters at one moment, by address (one entry on a single Redis).
#[derive(Debug, Clone, Default)]
pub struct PrimaryCounters(Vec<(String, RedisCounters)>);

impl PrimaryCounters {
    pub async fn read(redis: &Redis) -> anyhow::Result<PrimaryCounters> {
        let client = redis.pool.next();
        let mut out = Vec::new();
        for (node, route) in redis.primaries() {
            let info = CustomCommand::new_static("INFO", route, false);
            let cpu: String = client.custom(info.clone(), vec!["cpu"]).await?;
            let stats: String = client.custom(info, vec!["commandstats"]).await?;
            out.push((node, RedisCounters { cpu_us: parse_cpu_us(&cpu)?, commands: parse_commandstats(&stats) }));
        }
        Ok(PrimaryCounters(out))
    }

    /// Each primary's [`Totals`] since `before` (a primary not seen then counts from zero).
    fn since(&self, before: &PrimaryCounters) -> Vec<(String, Totals)> {
        let empty = RedisCounters::default();
        self.0
            .iter()
            .map(|(node, now)| {
                let then = before.0.iter().find(|(n, _)| n == node).map_or(&empty, |(_, c)| c);
                (node.clone(), now.since(then))
            })
            .collect()
    }
}

impl RedisCounters {
    /// Calls and script µs since `before`, per [`Totals`].
    fn since(&self, before: &RedisCounters) -> Totals {
        let mut t = Totals { cpu_us: (self.cpu_us - before.cpu_us).max(0.0), ..Totals::default() };
        for (name, (calls, usec)) in &self.commands {
            if OWN_COMMANDS.contains(&name.as_str()) {
                continue;
            }
            let (c0, u0) = before.commands.get(name).copied().unwrap_or((0, 0));
            let (calls, usec) = (calls.saturating_sub(c0), usec.saturating_sub(u0));
            t.commands += calls;
            if SCRIPT_COMMANDS.contains(&name.as_str()) {
                t.script_calls += calls;
                t.script_us += usec;
            }
        }
        t
    }
}

#[derive(Debug, Default)]
struct Totals {
    cpu_us: f64,
    commands: u64,
    script_calls: u64,
    script_us: u64,
}

fn parse_cpu_us(info: &str) -> anyhow::Result<f64> {
    let field = |name: &str| -> anyhow::Result<f64> {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("INFO cpu has no {name}"))
    };
    Ok((field("used_cpu_user")? + field("used_cpu_sys")?) * 1e6)
}

/// `cmdstat_hset:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0,failed_calls=0` lines.
fn parse_commandstats(info: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for line in info.lines() {
        let Some((name, rest)) = line.trim().strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else {
            continue;
        };
        let mut calls = None;
        let mut usec = None;
        for kv in rest.split(',') {
            match kv.split_once('=') {
                Some(("calls", v)) => calls = v.parse().ok(),
                Some(("usec", v)) => usec = v.parse().ok(),
                _ => {}
            }
        }
        if let (Some(c), Some(u)) = (calls, usec) {
            out.insert(name.to_ascii_lowercase(), (c, u));
        }
    }
    out
}

/// What Redis spent on a window, per request of the series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RedisCost {
    /// Requests (bets) in the window.
    pub requests: u64,
    /// Redis CPU (user + sys) per request, µs.
    pub us_per_request: f64,
    /// Commands Redis ran per request, counting those called from scripts.
    pub commands_per_request: f64,
    /// Scripts (EVALSHA, ...) per request.
    pub scripts_per_request: f64,
    /// Time inside scripts per request, µs (Redis's command timer: wall time while running).
    pub script_us_per_request: f64,
    /// Redis's CPU over the window, in cores (1.0: one core busy all the time; on a cluster, the
    /// primaries' sum). Redis runs commands on one thread, so a primary near 1.0 is the wall.
    pub cpu_share: f64,
    /// Each primary (one on a single Redis): what it spent.
    pub primaries: Vec<PrimaryCost>,
}

/// One primary's part of a window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PrimaryCost {
    /// Its address (host:port; "redis" on a single Redis).
    pub node: String,
    /// Its CPU over the window, in cores.
    pub cpu_share: f64,
    /// Its CPU per request of the series, µs.
    pub us_per_request: f64,
    /// Its part of all the commands the primaries ran, 0..1 (an even split over N is 1/N).
    pub commands_share: f64,
}

/// One process's (or part of a process's) CPU over the window, in cores.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CpuShare {
    pub process: String,
    pub cpu_share: f64,
}

/// This process's CPU at one moment: in all, and on the service threads; and the machine's.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCpu {
    pub total_us: f64,
    pub services_us: f64,
    /// The machine's CPU time since boot, all cores, and the idle part of it (/proc/stat, ticks).
    pub machine_ticks: u64,
    pub machine_idle_ticks: u64,
}

impl ProcessCpu {
    pub fn read() -> ProcessCpu {
        let (machine_ticks, machine_idle_ticks) = machine_ticks();
        ProcessCpu {
            total_us: process_cpu_us(),
            services_us: threads_cpu_us(SERVICE_THREADS),
            machine_ticks,
            machine_idle_ticks,
        }
    }
}

/// All and idle (idle + iowait) CPU ticks of the machine since boot, from /proc/stat's `cpu` line
/// (steal — time a virtual machine's host gave to others — counts as busy).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return (0, 0) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let all: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (all, idle)
}

/// User + sys CPU of this process, every thread it ever had, µs.
fn process_cpu_us() -> f64 {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let us = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e6 + t.tv_usec() as f64;
            us(u.user_time()) + us(u.system_time())
        }
        Err(_) => 0.0,
    }
}

/// CPU of this process's live threads named `name`, µs (from /proc/self/task/*/schedstat, ns).
fn threads_cpu_us(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let sched = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        ns += sched.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    ns as f64 / 1e3
}

/// What runs in this process during a window.
#[derive(Debug, Clone, Copy)]
pub enum Here {
    /// The load generator, and the services on their own threads ([`SERVICE_THREADS`]).
    LoadAndServices,
    /// One thing (the load generator of a ceiling, an in-process resultcenter, ...), named.
    Only(&'static str),
}

/// Counters at the start of a window.
pub struct Meter {
    redis: PrimaryCounters,
    process: ProcessCpu,
    at: Instant,
}

/// A window's cost: Redis per request, and each process's share of a core.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cost {
    pub secs: f64,
    pub redis: RedisCost,
    /// redis-server, then this process: its service threads (in-process runs) and the rest (the
    /// load generator).
    pub processes: Vec<CpuShare>,
    /// The cores of this machine.
    pub cores: usize,
    /// How many of them were busy over the window, whoever used them (the processes above, others,
    /// a virtual machine's host): 0..cores.
    pub machine_busy_cores: f64,
    /// Which side bounds the rate, from the shares (see [`Cost::wall`]).
    pub wall: String,
}

impl Meter {
    pub async fn start(redis: &Redis) -> anyhow::Result<Meter> {
        let process = ProcessCpu::read();
        let redis = PrimaryCounters::read(redis).await?;
        Ok(Meter { redis, process, at: Instant::now() })
    }

    /// The cost of the window since [`Meter::start`], which saw `requests` requests, with `here`
    /// running in this process.
    pub async fn finish(self, redis: &Redis, requests: u64, here: Here) -> anyhow::Result<Cost> {
        let secs = self.at.elapsed().as_secs_f64();
        let process = ProcessCpu::read();
        let after = PrimaryCounters::read(redis).await?;
        Ok(Cost::new(secs, requests, after.since(&self.redis), self.process, process, here))
    }
}

impl Cost {
    fn new(secs: f64, requests: u64, nodes: Vec<(String, Totals)>, p0: ProcessCpu, p1: ProcessCpu, here: Here) -> Cost {
        let per = |x: f64| if requests == 0 { 0.0 } else { x / requests as f64 };
        let share = |us: f64| if secs > 0.0 { us / 1e6 / secs } else { 0.0 };
        let mut t = Totals::default();
        for (_, n) in &nodes {
            t.cpu_us += n.cpu_us;
            t.commands += n.commands;
            t.script_calls += n.script_calls;
            t.script_us += n.script_us;
        }
        let primaries: Vec<PrimaryCost> = nodes
            .iter()
            .map(|(node, n)| PrimaryCost {
                node: node.clone(),
                cpu_share: share(n.cpu_us),
                us_per_request: per(n.cpu_us),
                commands_share: if t.commands == 0 { 0.0 } else { n.commands as f64 / t.commands as f64 },
            })
            .collect();
        let redis = RedisCost {
            requests,
            us_per_request: per(t.cpu_us),
            commands_per_request: per(t.commands as f64),
            scripts_per_request: per(t.script_calls as f64),
            script_us_per_request: per(t.script_us as f64),
            cpu_share: share(t.cpu_us),
            primaries,
        };
        let total = (p1.total_us - p0.total_us).max(0.0);
        let svc = (p1.services_us - p0.services_us).clamp(0.0, total);
        let mut processes: Vec<CpuShare> = match redis.primaries.as_slice() {
            [one] => vec![CpuShare { process: "redis-server".into(), cpu_share: one.cpu_share }],
            many => many
                .iter()
                .map(|p| CpuShare { process: format!("redis-server {}", p.node), cpu_share: p.cpu_share })
                .collect(),
        };
        let servers = processes.len();
        match here {
            Here::LoadAndServices => {
                processes.push(CpuShare { process: "services (connect, logic, gm)".into(), cpu_share: share(svc) });
                processes.push(CpuShare { process: "load generator".into(), cpu_share: share(total - svc) });
            }
            Here::Only(name) => processes.push(CpuShare { process: name.into(), cpu_share: share(total) }),
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let ticks = p1.machine_ticks.saturating_sub(p0.machine_ticks);
        let idle = p1.machine_idle_ticks.saturating_sub(p0.machine_idle_ticks).min(ticks);
        let machine_busy_cores = if ticks == 0 {
            processes.iter().map(|p| p.cpu_share).sum()
        } else {
            cores as f64 * (ticks - idle) as f64 / ticks as f64
        };
        let wall = wall(&processes, servers, cores, machine_busy_cores);
        Cost { secs, redis, processes, cores, machine_busy_cores, wall }
    }

    /// The sum of the shares: how many of the machine's cores the run kept busy.
    pub fn busy_cores(&self) -> f64 {
        self.processes.iter().map(|p| p.cpu_share).sum()
    }
}

/// Redis runs commands on one thread: a Redis server (the first `servers` of `processes`: one, or
/// each primary of a cluster) at 85 % of a core or more is the wall. Otherwise, when the machine's
/// cores are 90 % busy (by anyone), the cores are, and their biggest user is named; otherwise
/// nothing is saturated and the requests in flight bound the rate.
fn wall(processes: &[CpuShare], servers: usize, cores: usize, machine_busy_cores: f64) -> String {
    let top = processes.iter().max_by(|a, b| a.cpu_share.total_cmp(&b.cpu_share));
    let busiest = processes[..servers.min(processes.len())].iter().max_by(|a, b| a.cpu_share.total_cmp(&b.cpu_share));
    match (busiest, top) {
        (Some(redis), _) if redis.cpu_share >= 0.85 && servers == 1 => "Redis (its command thread is busy)".into(),
        (Some(redis), _) if redis.cpu_share >= 0.85 => {
            format!("Redis: the primary {} (its command thread is busy)", redis.process)
        }
        (_, Some(top)) if machine_busy_cores >= 0.9 * cores as f64 => {
            format!("the machine's {cores} cores (the biggest user: {}, {:.2} cores)", top.process, top.cpu_share)
        }
        _ => "none saturated (the requests in flight bound the rate)".into(),
    }
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.redis;
        write!(
            f,
            "Redis {:.1} µs CPU / request, {:.1} commands ({:.1} scripts, {:.1} µs in scripts); cpu",
            r.us_per_request, r.commands_per_request, r.scripts_per_request, r.script_us_per_request
        )?;
        for p in &self.processes {
            write!(f, " {} {:.2}", p.process, p.cpu_share)?;
        }
        write!(f, "; machine {:.2} of {} cores busy; wall: {}", self.machine_busy_cores, self.cores, self.wall)?;
        if r.primaries.len() > 1 {
            write!(f, "\n    per primary:")?;
            for p in &r.primaries {
                write!(
                    f,
                    " {} {:.2} cores, {:.1} µs/request, {:.0} % of commands;",
                    p.node,
                    p.cpu_share,
                    p.us_per_request,
                    p.commands_share * 100.0
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_and_cpu_parse_and_the_measurement_leaves_itself_out() {
        let before = RedisCounters {
            cpu_us: parse_cpu_us(
                "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.000000\r\nused_cpu_sys_children:9\r\n",
            )
            .unwrap(),
            commands: parse_commandstats(
                "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=4,usec=40\r\n",
            ),
        };
        assert_eq!(before.cpu_us, 3_500_000.0);
        let after = RedisCounters {
            cpu_us: 4_500_000.0,
            commands: parse_commandstats(
                "cmdstat_evalsha:calls=30,usec=1500,usec_per_call=50.00\r\ncmdstat_hset:calls=60,usec=120\r\ncmdstat_info:calls=6,usec=60\r\n",
            ),
        };
        let t = after.since(&before);
        assert_eq!((t.cpu_us, t.commands, t.script_calls, t.script_us), (1_000_000.0, 80, 20, 1000));
        let p0 = ProcessCpu { total_us: 0.0, services_us: 0.0, machine_ticks: 1000, machine_idle_ticks: 500 };
        let p1 = ProcessCpu {
            total_us: 1_500_000.0,
            services_us: 1_000_000.0,
            machine_ticks: 1400,
            machine_idle_ticks: 700,
        };
        let c = Cost::new(2.0, 20, vec![("redis".into(), t)], p0, p1, Here::LoadAndServices);
        assert_eq!(c.redis.us_per_request, 50_000.0);
        assert_eq!(c.redis.commands_per_request, 4.0);
        assert_eq!(c.redis.scripts_per_request, 1.0);
        assert_eq!(c.redis.script_us_per_request, 50.0);
        assert_eq!(c.redis.cpu_share, 0.5);
        let shares: Vec<f64> = c.processes.iter().map(|p| p.cpu_share).collect();
        assert_eq!(shares, vec![0.5, 0.5, 0.25]);
        assert!((c.busy_cores() - 1.25).abs() < 1e-9);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        assert!((c.machine_busy_cores - cores * 0.5).abs() < 1e-9, "200 of 400 ticks idle: half the cores busy");
    }

    #[test]
    fn a_cluster_window_sums_the_primaries_and_gives_each_its_part() {
        let node = |cpu_us: f64, commands: u64| Totals { cpu_us, commands, script_calls: 0, script_us: 0 };
        let nodes = vec![
            ("10.0.0.1:7000".to_owned(), node(300_000.0, 600)),
            ("10.0.0.2:7000".to_owned(), node(100_000.0, 200)),
        ];
        let p = ProcessCpu::default();
        let c = Cost::new(1.0, 100, nodes, p, p, Here::Only("load"));
        assert!((c.redis.cpu_share - 0.4).abs() < 1e-9 && (c.redis.us_per_request - 4_000.0).abs() < 1e-9);
        assert_eq!(c.redis.commands_per_request, 8.0);
        let parts: Vec<(f64, f64)> = c.redis.primaries.iter().map(|p| (p.commands_share, p.us_per_request)).collect();
        assert_eq!(parts, vec![(0.75, 3_000.0), (0.25, 1_000.0)]);
        let names: Vec<&str> = c.processes.iter().map(|p| p.process.as_str()).collect();
        assert_eq!(names, vec!["redis-server 10.0.0.1:7000", "redis-server 10.0.0.2:7000", "load"]);
    }

    #[test]
    fn the_wall_is_redis_then_the_cores_then_none() {
        let s = |v: &[f64]| -> Vec<CpuShare> {
            v.iter().enumerate().map(|(i, x)| CpuShare { process: format!("p{i}"), cpu_share: *x }).collect()
        };
        assert!(wall(&s(&[0.9, 0.5, 0.3]), 1, 2, 1.7).starts_with("Redis"));
        assert!(wall(&s(&[0.6, 0.9, 0.3]), 1, 2, 1.9).contains("(the biggest user: p1, 0.90 cores)"));
        assert!(wall(&s(&[0.6, 0.7, 0.3]), 1, 2, 1.6).starts_with("none saturated"));
        // A cluster: the busiest primary is the wall, named.
        assert_eq!(wall(&s(&[0.3, 0.88, 0.4, 0.5]), 3, 8, 2.1), "Redis: the primary p1 (its command thread is busy)");
        assert!(wall(&s(&[0.3, 0.5, 0.4, 0.95]), 3, 8, 2.2).starts_with("none saturated"), "p3 is not a Redis");
    }
}
