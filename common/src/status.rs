//! What is running and how loaded it is: every live process (from its heartbeat) with its load, and
//! per group the backlog of the group's client queue. `GET /api/nodes` (gm) and `matchday status`
//! (the CLI) both show [`status`]; the table is [`Status`]'s `Display`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::Redis;
use crate::control;
use crate::service::depth_and_age;

/// Heartbeat fields shown as typed figures rather than as the strings the heartbeat holds.
const TYPED: &[&str] = &["uptime_s", "frames_per_s", "inflight", "handled"];

/// One live process.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NodeLoad {
    pub role: String,
    pub id: String,
    pub group: u32,
    /// Seconds since the process started.
    pub uptime_s: u64,
    /// Frames (jobs, events, records) handled per second over the last heartbeat interval; None
    /// for a role that does not count them (connect, gm).
    pub frames_per_s: Option<f64>,
    /// Frames taken and not yet acked; None for a role that takes none (connect, gm).
    pub inflight: Option<u64>,
    /// Frames handled since the start; None as for `frames_per_s`.
    pub handled: Option<u64>,
    /// Every other heartbeat field, as written (role, id, group, host, pid, metrics, version,
    /// started_at, listen, workers, queue, connections, …).
    pub fields: BTreeMap<String, String>,
}

impl NodeLoad {
    fn from_heartbeat(node: control::Node, now_ms: u64) -> NodeLoad {
        let f = &node.fields;
        let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
        let uptime_s = match num("started_at") {
            Some(at) => now_ms.saturating_sub(at) / 1000,
            None => num("uptime_s").unwrap_or(0),
        };
        NodeLoad {
            group: num("group").unwrap_or(0) as u32,
            uptime_s,
            frames_per_s: f.get("frames_per_s").and_then(|v| v.parse().ok()),
            inflight: num("inflight"),
            handled: num("handled"),
            fields: f
                .iter()
                .filter(|(k, _)| !TYPED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            role: node.role,
            id: node.id,
        }
    }

    /// A heartbeat field (`host`, `pid`, `version`, …), or "".
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// One group: its client queue `q:c2l:{group}` and who serves it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GroupLoad {
    pub group: u32,
    /// Frames waiting in the queue.
    pub depth: i64,
    /// How long the oldest waiting frame has waited, ms (0 when none waits).
    pub oldest_age_ms: u64,
    /// Live logic processes of the group.
    pub consumers: u32,
    /// Their workers (consumers of the queue) in all.
    pub workers: u64,
    /// Live connect nodes of the group.
    pub connect: u32,
}

/// Every live process and every group.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Status {
    /// Sorted by role, then id.
    pub nodes: Vec<NodeLoad>,
    /// Sorted by group: every group with a live logic or connect process or a client queue.
    pub groups: Vec<GroupLoad>,
}

/// Reads the heartbeats and the client queues (SCANs: for admin views, not hot paths).
pub async fn status(redis: &Redis) -> Result<Status, fred::error::Error> {
    let now = crate::time::now_ms();
    let nodes: Vec<NodeLoad> =
        control::nodes(redis).await?.into_iter().map(|n| NodeLoad::from_heartbeat(n, now)).collect();
    let mut groups: BTreeMap<u32, GroupLoad> = BTreeMap::new();
    fn group(groups: &mut BTreeMap<u32, GroupLoad>, g: u32) -> &mut GroupLoad {
        groups.entry(g).or_insert(GroupLoad {
            group: g,
            depth: 0,
            oldest_age_ms: 0,
            consumers: 0,
            workers: 0,
            connect: 0,
        })
    }
    for node in &nodes {
        match node.role.as_str() {
            "logic" => {
                let g = group(&mut groups, node.group);
                g.consumers += 1;
                g.workers += node.field("workers").parse::<u64>().unwrap_or(0);
            }
            "connect" => group(&mut groups, node.group).connect += 1,
            _ => {}
        }
    }
    for key in redis.scan(redis.keys.c2l_pattern()).await? {
        if let Some(g) = redis.keys.c2l_group(&key) {
            group(&mut groups, g);
        }
    }
    for g in groups.values_mut() {
        (g.depth, g.oldest_age_ms) = depth_and_age(redis, &redis.keys.c2l(g.group)).await?;
    }
    Ok(Status { nodes, groups: groups.into_values().collect() })
}

impl Status {
    /// The same figures as JSON (pretty-printed), for scripts.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a status serializes")
    }
}

impl fmt::Display for Status {
    /// Two tables: processes, then groups.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let mut rows = vec![
            ["ROLE", "ID", "GROUP", "HOST", "PID", "METRICS", "VERSION", "UPTIME", "FRAMES/S", "INFLIGHT", "HANDLED"]
                .map(String::from)
                .to_vec(),
        ];
        for n in &self.nodes {
            rows.push(vec![
                n.role.clone(),
                n.id.clone(),
                n.group.to_string(),
                n.field("host").to_owned(),
                n.field("pid").to_owned(),
                opt((!n.field("metrics").is_empty()).then(|| n.field("metrics").to_owned())),
                n.field("version").to_owned(),
                uptime(n.uptime_s),
                opt(n.frames_per_s.map(|v| format!("{v:.1}"))),
                opt(n.inflight.map(|v| v.to_string())),
                opt(n.handled.map(|v| v.to_string())),
            ]);
        }
        table(f, &rows)?;
        if self.nodes.is_empty() {
            writeln!(f, "(no live process)")?;
        }
        writeln!(f)?;
        let mut rows = vec![["GROUP", "DEPTH", "OLDEST_MS", "LOGIC", "WORKERS", "CONNECT"].map(String::from).to_vec()];
        for g in &self.groups {
            rows.push(vec![
                g.group.to_string(),
                g.depth.to_string(),
                g.oldest_age_ms.to_string(),
                g.consumers.to_string(),
                g.workers.to_string(),
                g.connect.to_string(),
            ]);
        }
        table(f, &rows)
    }
}

fn uptime(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        86400.. => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

fn table(f: &mut fmt::Formatter<'_>, rows: &[Vec<String>]) -> fmt::Result {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(f, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn node(fields: &[(&str, &str)]) -> control::Node {
        let fields: HashMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        control::Node { role: fields["role"].clone(), id: fields["id"].clone(), fields }
    }

    #[test]
    fn heartbeat_fields_become_typed_figures() {
        let n = NodeLoad::from_heartbeat(
            node(&[
                ("role", "logic"),
                ("id", "n1"),
                ("group", "3"),
                ("host", "h"),
                ("started_at", "1000"),
                ("frames_per_s", "12.5"),
                ("inflight", "4"),
                ("handled", "99"),
                ("uptime_s", "1"),
            ]),
            61_500,
        );
        assert_eq!(
            (n.group, n.uptime_s, n.frames_per_s, n.inflight, n.handled),
            (3, 60, Some(12.5), Some(4), Some(99))
        );
        assert_eq!(n.field("host"), "h");
        assert!(!n.fields.contains_key("inflight"), "typed figures are not repeated as strings");
        let gm = NodeLoad::from_heartbeat(node(&[("role", "gm"), ("id", "g"), ("uptime_s", "7")]), 0);
        assert_eq!((gm.uptime_s, gm.frames_per_s, gm.inflight), (7, None, None));
    }

    #[test]
    fn the_table_has_a_row_per_node_and_group() {
        let s = Status {
            nodes: vec![NodeLoad::from_heartbeat(node(&[("role", "logic"), ("id", "n1"), ("inflight", "2")]), 0)],
            groups: vec![GroupLoad { group: 1, depth: 5, oldest_age_ms: 40, consumers: 1, workers: 4, connect: 2 }],
        };
        let text = s.to_string();
        assert!(text.lines().any(|l| l.starts_with("logic") && l.contains("n1")), "{text}");
        assert!(
            text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "5", "40", "1", "4", "2"]),
            "{text}"
        );
        assert_eq!(uptime(3725), "1h02m");
    }
}
