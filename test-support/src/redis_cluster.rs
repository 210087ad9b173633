//! A private Redis Cluster for tests that fail a primary over: 3 primaries and 3 replicas on free
//! ports, each in its own directory, no persistence (the replicas and `redis.wait_replicas` are what
//! keeps an answered change), a short `cluster-node-timeout` (1 s) so a replica takes over in a
//! couple of seconds, and `cluster-require-full-coverage no` so the other primaries keep serving
//! while one is down (what an operator runs). The shared `scripts/cluster.sh` cluster is for the
//! tests that do not kill anything.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long a failover may take before the test fails: the node timeout, the election, and a
/// loaded machine's slack.
const FAILOVER_DEADLINE: Duration = Duration::from_secs(30);

pub struct RedisCluster {
    nodes: Vec<Node>,
}

struct Node {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// A node as `CLUSTER NODES` lists it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub port: u16,
    pub id: String,
    pub primary: bool,
    /// Failed (`fail` or `fail?` in its flags).
    pub failed: bool,
    /// For a replica, its primary's id.
    pub primary_id: Option<String>,
    /// For a primary, its slot ranges.
    pub slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts six nodes and joins them into a cluster of 3 primaries with a replica each; returns
    /// once every slot is served and every replica is in sync.
    pub async fn start() -> RedisCluster {
        let mut nodes = Vec::with_capacity(6);
        for port in free_ports(6) {
            let mut node = Node { port, dir: tempfile::tempdir().expect("a directory for a node"), child: None };
            node.spawn().await;
            nodes.push(node);
        }
        let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .await
            .expect("run redis-cli --cluster create");
        assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = RedisCluster { nodes };
        cluster.wait_healthy().await;
        cluster
    }

    /// The URL for `redis.url` (three seed nodes).
    pub fn url(&self) -> String {
        let p: Vec<u16> = self.nodes.iter().map(|n| n.port).collect();
        format!("redis-cluster://127.0.0.1:{}?node=127.0.0.1:{}&node=127.0.0.1:{}", p[0], p[1], p[2])
    }

    /// The cluster as a live node sees it.
    pub async fn nodes(&self) -> Vec<NodeInfo> {
        for n in &self.nodes {
            if n.child.is_some()
                && let Some(text) = cli(n.port, &["cluster", "nodes"]).await
            {
                return parse_nodes(&text);
            }
        }
        panic!("no node of the cluster answers");
    }

    /// The primary serving `slot` now (its port).
    pub async fn primary_of(&self, slot: u16) -> u16 {
        let nodes = self.nodes().await;
        nodes
            .iter()
            .find(|n| n.primary && !n.failed && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .map(|n| n.port)
            .unwrap_or_else(|| panic!("no live primary serves slot {slot}: {nodes:?}"))
    }

    /// The replica of the primary on `port` (its port).
    pub async fn replica_of(&self, port: u16) -> u16 {
        let nodes = self.nodes().await;
        let id = nodes.iter().find(|n| n.port == port).map(|n| n.id.clone()).expect("the primary is known");
        nodes
            .iter()
            .find(|n| n.primary_id.as_deref() == Some(&id) && !n.failed)
            .map(|n| n.port)
            .unwrap_or_else(|| panic!("the primary on {port} has no live replica: {nodes:?}"))
    }

    /// SIGSTOP the node on `port`: it holds its connections and answers nothing (a stalled replica).
    pub fn pause(&mut self, port: u16) {
        self.node(port).signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// SIGCONT after [`RedisCluster::pause`].
    pub fn resume(&mut self, port: u16) {
        self.node(port).signal(nix::sys::signal::Signal::SIGCONT);
    }

    /// SIGKILL the node on `port`.
    pub async fn kill(&mut self, port: u16) {
        let node = self.node(port);
        if let Some(mut child) = node.child.take() {
            child.kill().await.expect("kill a redis-server");
        }
    }

    /// Waits until a live primary serves `slot` again other than `dead` (its replica took over) and
    /// every slot is served; returns the new primary's port.
    pub async fn wait_failover(&self, dead: u16, slot: u16) -> u16 {
        let deadline = Instant::now() + FAILOVER_DEADLINE;
        loop {
            if let Some(text) = self.live_answer(dead, &["cluster", "nodes"]).await {
                let nodes = parse_nodes(&text);
                let serving = nodes.iter().find(|n| {
                    n.primary && !n.failed && n.port != dead && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
                });
                if let Some(new) = serving
                    && self.state_ok(dead).await
                {
                    return new.port;
                }
            }
            assert!(Instant::now() < deadline, "no replica took over slot {slot} from the node on {dead}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Starts the node on `port` again (its nodes.conf kept): it learns that its slots moved and
    /// joins as a replica of the node that took them; returns once it is in sync.
    pub async fn restart_as_replica(&mut self, port: u16) {
        self.node(port).spawn().await;
        let deadline = Instant::now() + FAILOVER_DEADLINE;
        loop {
            let info = cli(port, &["info", "replication"]).await.unwrap_or_default();
            if info.contains("role:slave") && info.contains("master_link_status:up") {
                return;
            }
            assert!(Instant::now() < deadline, "the node on {port} did not rejoin as a replica: {info}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + FAILOVER_DEADLINE;
        loop {
            if self.state_ok(0).await {
                let nodes = self.nodes().await;
                let mut synced = 0;
                for n in nodes.iter().filter(|n| !n.primary) {
                    let info = cli(n.port, &["info", "replication"]).await.unwrap_or_default();
                    synced += usize::from(info.contains("master_link_status:up"));
                }
                if synced == 3 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the private cluster did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether every node but `except` that answers says `cluster_state:ok`.
    async fn state_ok(&self, except: u16) -> bool {
        for n in self.nodes.iter().filter(|n| n.port != except && n.child.is_some()) {
            match cli(n.port, &["cluster", "info"]).await {
                Some(info) if info.contains("cluster_state:ok") => {}
                _ => return false,
            }
        }
        true
    }

    async fn live_answer(&self, except: u16, args: &[&str]) -> Option<String> {
        for n in self.nodes.iter().filter(|n| n.port != except && n.child.is_some()) {
            if let Some(text) = cli(n.port, args).await {
                return Some(text);
            }
        }
        None
    }

    fn node(&mut self, port: u16) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.port == port).unwrap_or_else(|| panic!("no node on port {port}"))
    }
}

impl Node {
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.as_ref().and_then(Child::id).expect("the node is running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).expect("signal redis-server");
    }

    async fn spawn(&mut self) {
        let dir = self.dir.path().to_str().expect("utf-8 path").to_owned();
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--dir", &dir])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"])
            .args(["--cluster-require-full-coverage", "no", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server (scripts/deps.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + crate::DEADLINE;
        while cli(self.port, &["ping"]).await.as_deref() != Some("PONG") {
            assert!(Instant::now() < deadline, "the cluster node on {} did not start", self.port);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `redis-cli -p port args…`'s output (None when the node does not answer in a second).
async fn cli(port: u16, args: &[&str]) -> Option<String> {
    let run = Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).kill_on_drop(true).output();
    let out = tokio::time::timeout(Duration::from_secs(1), run).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty() && !text.starts_with("Could not connect")).then_some(text)
}

fn parse_nodes(text: &str) -> Vec<NodeInfo> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let port = f.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
            let flags = f.get(2)?;
            let primary = flags.contains("master");
            let slots = f
                .iter()
                .skip(8)
                .filter(|r| !r.starts_with('['))
                .filter_map(|r| match r.split_once('-') {
                    Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                    None => r.parse().ok().map(|s| (s, s)),
                })
                .collect();
            Some(NodeInfo {
                port,
                id: f[0].to_owned(),
                primary,
                failed: flags.contains("fail"),
                primary_id: (!primary && f.get(3) != Some(&"-")).then(|| f[3].to_owned()),
                slots,
            })
        })
        .collect()
}

/// `n` free ports whose cluster bus ports (+10000) are free too.
fn free_ports(n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        if port < 55_000 && !out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            out.push(port);
        }
    }
    out
}
