//! Operations: announcements, daily figures, live nodes and groups, draining, queue depths.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Announcement {
    pub text: String,
    /// When to deliver it (Unix ms); now if absent or past.
    pub at: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AnnouncementQueued {
    pub id: String,
    /// Absent when delivered now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DayFigures {
    pub today: i64,
    pub yesterday: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub registrations: DayFigures,
    pub bets: DayFigures,
    /// Coins staked.
    pub volume: DayFigures,
    pub users_online: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeList {
    /// One per live process, sorted by role then id.
    pub items: Vec<NodeItem>,
    /// One per group (with a live logic or connect process, or a client queue), sorted.
    pub groups: Vec<GroupItem>,
}

/// A live process: its heartbeat fields as strings (role, id, group, host, pid, version,
/// started_at, and per role listen, workers, queue, connections), plus its load as numbers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeItem {
    /// Every heartbeat field but the figures below, as the heartbeat holds it (strings).
    #[serde(flatten)]
    pub fields: std::collections::BTreeMap<String, String>,
    /// Seconds since the process started.
    pub uptime_s: u64,
    /// Frames (logic), jobs (resultcenter), events (pushsvr) or records (dbsvr) handled per second
    /// over the last heartbeat interval; null for connect and gm.
    pub frames_per_s: Option<f64>,
    /// Taken from the queue and not yet acked; null for connect and gm.
    pub inflight: Option<u64>,
    /// Handled since the process started; null for connect and gm.
    pub handled: Option<u64>,
}

impl From<common::status::NodeLoad> for NodeItem {
    fn from(n: common::status::NodeLoad) -> NodeItem {
        NodeItem {
            fields: n.fields,
            uptime_s: n.uptime_s,
            frames_per_s: n.frames_per_s,
            inflight: n.inflight,
            handled: n.handled,
        }
    }
}

/// A group's client queue `q:c2l:{group}` and who serves it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupItem {
    pub group: u32,
    /// Client frames waiting.
    pub depth: i64,
    /// How long the oldest waiting frame has waited, ms (0 when none waits).
    pub oldest_age_ms: u64,
    /// Live logic processes of the group.
    pub consumers: u32,
    /// Their workers in all.
    pub workers: u64,
    /// Live connect nodes of the group.
    pub connect: u32,
}

impl From<common::status::GroupLoad> for GroupItem {
    fn from(g: common::status::GroupLoad) -> GroupItem {
        GroupItem {
            group: g.group,
            depth: g.depth,
            oldest_age_ms: g.oldest_age_ms,
            consumers: g.consumers,
            workers: g.workers,
            connect: g.connect,
        }
    }
}

/// Which process to drain.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// The node id (`id` in `GET /api/nodes`).
    pub node: String,
    /// Only its process of this role (`matchday up` runs every role under one node id); default:
    /// every live process with that id.
    #[serde(default)]
    pub role: Option<String>,
}

/// What the drained processes answered.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DrainResult {
    pub node: String,
    /// One per process that answered in time (a process that runs several roles, as `matchday up`
    /// does, is asked once, through its first role): `ok` true and `detail` "draining" when it has
    /// begun its graceful shutdown.
    pub answers: Vec<ControlAnswer>,
    /// Processes asked that did not answer in time (roles).
    pub silent: Vec<String>,
}

/// One process's answer to a control command.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ControlAnswer {
    pub node: String,
    pub role: String,
    pub ok: bool,
    pub detail: String,
}

impl From<common::control::Answer> for ControlAnswer {
    fn from(a: common::control::Answer) -> ControlAnswer {
        ControlAnswer { node: a.node, role: a.role, ok: a.ok, detail: a.detail }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueDepth {
    pub name: String,
    /// Elements waiting (list length, or zset size for `sched`).
    pub depth: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueList {
    pub items: Vec<QueueDepth>,
}

/// Every dead list with frames.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLists {
    pub items: Vec<DeadList>,
}

/// A dead list: frames of `queue` that could never be handled.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadList {
    /// The list (`q:dead:{queue}`), as `/api/dead/entries` and `/api/dead/requeue` take it.
    pub name: String,
    /// The queue its frames died on, and go back to when requeued.
    pub queue: String,
    pub depth: i64,
}

/// Which dead list to read, paged (newest first).
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadQuery {
    /// The list's name from `GET /api/dead`.
    pub list: String,
    #[serde(default)]
    pub offset: usize,
    /// At most 200 (default 20).
    pub limit: Option<usize>,
}

/// Frames of a dead list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadEntries {
    pub list: String,
    pub depth: i64,
    pub items: Vec<DeadEntry>,
}

/// One dead frame, decoded: a client frame `[head, body]`, an event or job, or dbsvr's `{reason,
/// record, ts}` with its change record; passwords, password hashes and tokens show as "***".
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadEntry {
    /// Its position, 0 = the newest.
    pub index: usize,
    /// Bytes.
    pub size: usize,
    #[schema(value_type = Object)]
    pub frame: serde_json::Value,
}

/// Requeue the oldest `count` frames of a dead list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadRequeue {
    pub list: String,
    /// 1 to 1000 (default 1).
    pub count: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadRequeued {
    pub list: String,
    /// Frames moved back to their queue.
    pub moved: u64,
}

/// A notice to publish (`POST /api/notices`): for everyone, one user or the bettors of a match;
/// now, or scheduled with `at`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NewNotice {
    /// At most 100 characters (optional).
    #[serde(default)]
    pub title: Option<String>,
    /// 1 to 2000 characters.
    pub text: String,
    /// `all` (the default), `user` or `match`.
    #[serde(default)]
    pub target: Option<String>,
    /// The user id (`user`) or match id (`match`).
    #[serde(default)]
    pub target_id: Option<u64>,
    /// When it goes on the board and is pushed (Unix ms); now if absent or past.
    #[serde(default)]
    pub at: Option<u64>,
}

/// A notice as staff see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeInfo {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    /// all, user or match.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<u64>,
    /// On the board (and pushed) from then, Unix ms.
    pub publish_at: u64,
    pub created_at: u64,
    pub created_by: String,
    /// scheduled (publish_at to come), live, or withdrawn.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_by: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeList {
    /// Newest publish time first.
    pub items: Vec<NoticeInfo>,
}

/// A page of the notices (newest first).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    #[serde(default)]
    pub offset: usize,
    /// At most 200 (default 50).
    pub limit: Option<usize>,
}
