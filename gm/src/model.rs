//! Request and response bodies of the API, and their validation.

use std::collections::HashMap;

use common::matches::{MatchOption, MatchRecord};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// The most coins one stake (a match's `max_stake`), grant or payment may move. With odds at most
/// [`MAX_ODDS`] every payout stays below 2^53, where the Lua scripts' arithmetic (doubles) is exact.
pub const MAX_COINS: i64 = 1_000_000_000_000;
/// The highest odds, in thousandths (1000.0).
pub const MAX_ODDS: i64 = 1_000_000;

/// A betting option as staff define it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OptionBody {
    /// Unique within the match, e.g. "a", "b", "draw".
    pub key: String,
    pub label: String,
    /// Decimal odds in thousandths: 1850 = 1.85. Must be greater than 1000.
    pub odds: i64,
}

/// A new match.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateMatch {
    /// The game title, one of `matches.types` (lol, dota2, cs2, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// Exactly two teams.
    pub teams: Vec<String>,
    /// Start time, Unix ms.
    pub start_at: u64,
    /// At least two, with unique keys.
    pub options: Vec<OptionBody>,
    pub min_stake: i64,
    pub max_stake: i64,
}

/// One match of an import feed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportItem {
    /// The feed's id of the match; importing it again creates nothing.
    pub external_id: String,
    #[serde(flatten)]
    pub spec: CreateMatch,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportBody {
    pub matches: Vec<ImportItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportedItem {
    pub external_id: String,
    pub match_id: u64,
    /// false when the feed had been imported before (nothing new was created).
    pub created: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    pub items: Vec<ImportedItem>,
}

/// A match as staff see it: the client `match` shape plus pool totals and bet count.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GmMatch {
    pub match_id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub teams: Vec<String>,
    pub start_at: u64,
    /// State code (-1 pending … 9 credited).
    pub state: i8,
    pub state_name: String,
    /// The match has started.
    pub live: bool,
    pub options: Vec<OptionBody>,
    pub odds_ver: u64,
    pub min_stake: i64,
    pub max_stake: i64,
    /// The winning option key, once set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Actions allowed now (approve, open, ...).
    pub actions: Vec<String>,
    /// Stake total per option key.
    pub pool: HashMap<String, i64>,
    pub bet_count: u64,
    /// Settlement progress: bets settled or refunded so far (of `bet_count`).
    pub settled: u64,
    pub created_at: u64,
    pub updated_at: u64,
}

impl GmMatch {
    pub fn new(m: MatchRecord, pool: HashMap<String, i64>, bet_count: u64) -> GmMatch {
        let actions = protocol::matches::allowed_from(m.state, m.live).into_iter().map(str::to_owned).collect();
        GmMatch {
            match_id: m.id,
            kind: m.kind,
            title: m.title,
            teams: m.teams.to_vec(),
            start_at: m.start_at,
            state: m.state.code(),
            state_name: m.state.name().to_owned(),
            live: m.live,
            options: m.options.into_iter().map(|o| OptionBody { key: o.key, label: o.label, odds: o.odds }).collect(),
            odds_ver: m.odds_ver,
            min_stake: m.min_stake,
            max_stake: m.max_stake,
            result: m.result,
            external_id: m.external_id,
            actions,
            pool,
            bet_count,
            settled: m.settled,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MatchList {
    pub items: Vec<GmMatch>,
}

/// Filters and paging of the match list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only matches in this state (code).
    pub state: Option<i8>,
    /// Only matches of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub offset: usize,
    /// At most `matches.max_page` (default 20).
    pub limit: Option<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OddsChange {
    pub key: String,
    pub odds: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SetOdds {
    pub options: Vec<OddsChange>,
}

/// `{ "winner": "a" }` settles on option "a"; `{ "winner": null }` ends the match with no result
/// (every stake refunded). The field is required.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SetResult {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = true)]
    pub winner: Option<Option<String>>,
}

/// Tells a missing field (None) from an explicit null (Some(None)).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Checks a new match; the error names the field (prefixed with `at`, e.g. "matches[2].").
pub fn validate(m: &CreateMatch, types: &[String], at: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{at}{name}");
    if !types.iter().any(|t| t == &m.kind) {
        return Err(ApiError::invalid(f("type"), format!("unknown type {:?}; known: {}", m.kind, types.join(", "))));
    }
    if m.title.trim().is_empty() || m.title.len() > 200 {
        return Err(ApiError::invalid(f("title"), "1 to 200 characters"));
    }
    if m.teams.len() != 2 || m.teams.iter().any(|t| t.trim().is_empty() || t.len() > 100) {
        return Err(ApiError::invalid(f("teams"), "exactly two team names of 1 to 100 characters"));
    }
    if m.options.len() < 2 || m.options.len() > 32 {
        return Err(ApiError::invalid(f("options"), "at least two options (and at most 32)"));
    }
    for (i, o) in m.options.iter().enumerate() {
        let key_ok = !o.key.is_empty()
            && o.key.len() <= 32
            && o.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            return Err(ApiError::invalid(f(&format!("options[{i}].key")), "1 to 32 characters of a-z, 0-9, '_', '-'"));
        }
        if m.options[..i].iter().any(|p| p.key == o.key) {
            return Err(ApiError::invalid(f(&format!("options[{i}].key")), format!("duplicate key {:?}", o.key)));
        }
        if o.label.trim().is_empty() || o.label.len() > 100 {
            return Err(ApiError::invalid(f(&format!("options[{i}].label")), "1 to 100 characters"));
        }
        if o.odds <= 1000 || o.odds > MAX_ODDS {
            return Err(ApiError::invalid(f(&format!("options[{i}].odds")), "from 1001 (1.001) to 1000000 (1000.0)"));
        }
    }
    if m.min_stake <= 0 {
        return Err(ApiError::invalid(f("min_stake"), "must be greater than 0"));
    }
    if m.max_stake < m.min_stake || m.max_stake > MAX_COINS {
        return Err(ApiError::invalid(f("max_stake"), "at least min_stake and at most 10^12"));
    }
    Ok(())
}

impl CreateMatch {
    /// The hash fields of the new match.
    pub fn fields(&self) -> Vec<String> {
        let options: Vec<MatchOption> = self
            .options
            .iter()
            .map(|o| MatchOption { key: o.key.clone(), label: o.label.clone(), odds: o.odds })
            .collect();
        MatchRecord::new_fields(
            &self.kind,
            &self.title,
            &[self.teams[0].clone(), self.teams[1].clone()],
            &options,
            self.min_stake,
            self.max_stake,
        )
    }
}

/// `GET /api/users?name=`.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindUser {
    /// The username (any case).
    pub name: String,
}

/// Who a staff token belongs to (`GET /api/whoami`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub name: String,
    /// viewer, operator or admin.
    pub role: String,
}

/// A user as staff see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct GmUser {
    pub user_id: u64,
    pub username: String,
    pub created_at: u64,
    pub balance: i64,
    pub online: bool,
    /// Banned by staff: cannot log in or resume (code 1009).
    pub banned: bool,
    /// The ban, while banned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<BanInfo>,
    /// Newest first, at most 20, in the client `bet` shape: { bet_id, match_id, option, stake,
    /// odds, state, payout?, ts }.
    pub recent_bets: Vec<serde_json::Value>,
    /// Newest first, at most 20: { delta, balance, reason, ref, ts }.
    pub recent_ledger: Vec<serde_json::Value>,
}

/// Why, by whom and when a user was banned.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanInfo {
    pub reason: String,
    /// The staff name.
    pub by: String,
    /// Unix ms.
    pub at: u64,
}

/// A ban or unban: why (kept with the ban and in the audit trail).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanRequest {
    /// 1 to 200 characters.
    pub reason: String,
    /// Optional, recorded in the audit trail (a repeated ban or unban changes nothing anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl BanRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        check_reason(&self.reason)?;
        check_request_id(self.request_id.as_deref())
    }
}

/// The user's ban state after a ban or unban.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BanResult {
    pub user_id: u64,
    pub banned: bool,
    /// false when the user already was in that state (nothing changed).
    pub changed: bool,
    /// The ban in force (a repeated ban keeps the first one's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban: Option<BanInfo>,
    /// Sessions (tokens) revoked by this call.
    pub sessions_revoked: u64,
    /// Live connections this call asked their connect node to close (1008 "banned").
    pub connections_closed: u64,
}

/// A staff reason: 1 to 200 characters, not blank.
pub fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.trim().is_empty() || reason.len() > 200 {
        return Err(ApiError::invalid("reason", "1 to 200 characters"));
    }
    Ok(())
}

/// A client-chosen request id: 1 to 64 characters of a-z, A-Z, 0-9, '_', '-', '.'.
pub fn check_request_id(id: Option<&str>) -> Result<(), ApiError> {
    if let Some(id) = id
        && (id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ApiError::invalid("request_id", "1 to 64 characters of a-z, A-Z, 0-9, '_', '-', '.'"));
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// Coins to add (negative to take away; the balance never goes below zero).
    pub amount: i64,
    pub reason: String,
    /// Optional: a retry with the same request id grants once and answers the same balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceResult {
    pub user_id: u64,
    pub balance: i64,
}

/// The payment provider's callback body (signed: `X-Signature` = hex HMAC-SHA256 of the raw body).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentCallback {
    pub order_id: String,
    pub user_id: u64,
    /// Coins to credit, > 0.
    pub amount: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentResult {
    pub order_id: String,
    pub user_id: u64,
    pub amount: i64,
    /// The balance right after this order was credited (the same on every repeat of the callback).
    pub balance: i64,
}

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
