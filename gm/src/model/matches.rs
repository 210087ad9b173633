//! Matches: creating and importing them, the staff view and list, odds changes and results.

use std::collections::HashMap;

use common::matches::{MatchOption, MatchRecord};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use protocol::fields::{MARKET_NAME_MAX, STREAM_URL_MAX};

use super::{MAX_COINS, MAX_ODDS};
use crate::error::ApiError;

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
    /// At least two, with unique keys: the options of the match's default market.
    pub options: Vec<OptionBody>,
    pub min_stake: i64,
    pub max_stake: i64,
    /// The default market's name (default "Match winner").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    /// More markets, created with the match (more can be added until it is finished).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markets: Vec<NewMarket>,
}

/// A new market of a match: its own options, and limits (the match's when left out).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NewMarket {
    /// What it is about, e.g. "Map 1 winner", "First blood" (1 to 100 characters).
    pub name: String,
    /// At least two, with unique keys.
    pub options: Vec<OptionBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stake: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stake: Option<i64>,
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
    /// The market's name (of a match: its default market's).
    pub market: String,
    /// Where the match is streamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_url: Option<String>,
    /// The record's version: every edit, state change and odds change raises it.
    pub ver: u64,
    /// The winner a data feed reports (datacenter), waiting for staff to confirm it as the result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_result: Option<String>,
    /// Every market of the match, its default market first (`match_id` = the market's id; the
    /// fields above are the default market's), each with its own state, odds, pool and actions
    /// (`/api/matches/{id}/markets/{market_id}/...`). Empty in a market's own entry.
    #[serde(default)]
    #[schema(no_recursion)]
    pub markets: Vec<GmMatch>,
}

impl GmMatch {
    pub fn new(m: MatchRecord, pool: HashMap<String, i64>, bet_count: u64) -> GmMatch {
        let actions = protocol::matches::allowed_from(m.state, m.live).into_iter().map(str::to_owned).collect();
        GmMatch {
            market: m.market,
            stream_url: m.stream_url,
            ver: m.ver,
            feed_result: m.feed_result,
            markets: Vec::new(),
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
    /// Only matches whose title or a team's name contains this text (any case).
    pub q: Option<String>,
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

/// Checks a new market; the error names the field (prefixed with `at`, e.g. "markets[1].").
pub fn validate_market(m: &NewMarket, at: &str) -> Result<(), ApiError> {
    if m.name.trim().is_empty() || m.name.len() > MARKET_NAME_MAX {
        return Err(ApiError::invalid(format!("{at}name"), format!("1 to {MARKET_NAME_MAX} characters")));
    }
    validate_options(&m.options, at)?;
    validate_limits(m.min_stake.unwrap_or(1), m.max_stake.unwrap_or(MAX_COINS), at)
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
    validate_options(&m.options, at)?;
    validate_limits(m.min_stake, m.max_stake, at)?;
    if let Some(name) = &m.market
        && (name.trim().is_empty() || name.len() > MARKET_NAME_MAX)
    {
        return Err(ApiError::invalid(f("market"), format!("1 to {MARKET_NAME_MAX} characters")));
    }
    if m.markets.len() > MAX_MARKETS {
        return Err(ApiError::invalid(f("markets"), format!("at most {MAX_MARKETS} more markets")));
    }
    for (i, market) in m.markets.iter().enumerate() {
        validate_market(market, &f(&format!("markets[{i}].")))?;
    }
    Ok(())
}

/// An edit of a match (`PATCH /api/matches/{id}`): only the fields given change. Descriptive
/// fields in any state but closed; `start_at` and `type` before the match starts; the betting
/// terms of its default market (`options`, `min_stake`, `max_stake`) before betting ever opened.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Exactly two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    /// Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<u64>,
    /// One of `matches.types`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// An http(s) link to the stream; "" removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_url: Option<String>,
    /// The default market's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    /// The winner a data feed reports, for staff to confirm (an option key; "" removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_result: Option<String>,
    /// The default market's options, replaced whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stake: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stake: Option<i64>,
}

/// An edit of one market (`PATCH /api/matches/{id}/markets/{market_id}`): its name in any state
/// but closed, its betting terms before betting on it ever opened.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMarket {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replaced whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionBody>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_stake: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stake: Option<i64>,
}

/// The fields an edit writes, checked against the record as it is: (fields, whether they change the
/// betting terms). The error names the field.
pub fn edit_fields(
    current: &MatchRecord,
    name: Option<&String>,
    options: Option<&Vec<OptionBody>>,
    min_stake: Option<i64>,
    max_stake: Option<i64>,
) -> Result<(Vec<String>, bool), ApiError> {
    let mut fields = Vec::new();
    if let Some(name) = name {
        if name.trim().is_empty() || name.len() > MARKET_NAME_MAX {
            return Err(ApiError::invalid("name", format!("1 to {MARKET_NAME_MAX} characters")));
        }
        fields.extend(["market".to_owned(), name.clone()]);
    }
    let terms = options.is_some() || min_stake.is_some() || max_stake.is_some();
    if let Some(options) = options {
        validate_options(options, "")?;
        let options = serde_json::to_string(&options_of(options)).expect("options serialize");
        fields.extend(["options".to_owned(), options]);
    }
    if min_stake.is_some() || max_stake.is_some() {
        let (min, max) = (min_stake.unwrap_or(current.min_stake), max_stake.unwrap_or(current.max_stake));
        validate_limits(min, max, "")?;
        fields.extend(["min_stake".to_owned(), min.to_string(), "max_stake".to_owned(), max.to_string()]);
    }
    Ok((fields, terms))
}

impl EditMatch {
    /// Checks the descriptive fields; their hash fields, name and value in turn.
    pub fn descriptive_fields(&self, types: &[String]) -> Result<Vec<String>, ApiError> {
        let mut fields = Vec::new();
        if let Some(title) = &self.title {
            if title.trim().is_empty() || title.len() > 200 {
                return Err(ApiError::invalid("title", "1 to 200 characters"));
            }
            fields.extend(["title".to_owned(), title.clone()]);
        }
        if let Some(teams) = &self.teams {
            if teams.len() != 2 || teams.iter().any(|t| t.trim().is_empty() || t.len() > 100) {
                return Err(ApiError::invalid("teams", "exactly two team names of 1 to 100 characters"));
            }
            fields.extend(["team_a".to_owned(), teams[0].clone(), "team_b".to_owned(), teams[1].clone()]);
        }
        if let Some(url) = &self.stream_url {
            let ok = url.is_empty()
                || ((url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() <= STREAM_URL_MAX
                    && !url.contains(char::is_whitespace));
            if !ok {
                return Err(ApiError::invalid(
                    "stream_url",
                    format!("an http(s) URL of at most {STREAM_URL_MAX} characters, or \"\" to remove it"),
                ));
            }
            fields.extend(["stream_url".to_owned(), url.clone()]);
        }
        if let Some(kind) = &self.kind
            && !types.iter().any(|t| t == kind)
        {
            return Err(ApiError::invalid("type", format!("unknown type {kind:?}; known: {}", types.join(", "))));
        }
        Ok(fields)
    }

    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.teams.is_none()
            && self.start_at.is_none()
            && self.kind.is_none()
            && self.stream_url.is_none()
            && self.market.is_none()
            && self.feed_result.is_none()
            && self.options.is_none()
            && self.min_stake.is_none()
            && self.max_stake.is_none()
    }
}

/// The most markets a match has besides its default one.
pub const MAX_MARKETS: usize = 32;

fn validate_options(options: &[OptionBody], at: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{at}{name}");
    if options.len() < 2 || options.len() > 32 {
        return Err(ApiError::invalid(f("options"), "at least two options (and at most 32)"));
    }
    for (i, o) in options.iter().enumerate() {
        let key_ok = !o.key.is_empty()
            && o.key.len() <= 32
            && o.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !key_ok {
            return Err(ApiError::invalid(f(&format!("options[{i}].key")), "1 to 32 characters of a-z, 0-9, '_', '-'"));
        }
        if options[..i].iter().any(|p| p.key == o.key) {
            return Err(ApiError::invalid(f(&format!("options[{i}].key")), format!("duplicate key {:?}", o.key)));
        }
        if o.label.trim().is_empty() || o.label.len() > 100 {
            return Err(ApiError::invalid(f(&format!("options[{i}].label")), "1 to 100 characters"));
        }
        if o.odds <= 1000 || o.odds > MAX_ODDS {
            return Err(ApiError::invalid(f(&format!("options[{i}].odds")), "from 1001 (1.001) to 1000000 (1000.0)"));
        }
    }
    Ok(())
}

fn validate_limits(min_stake: i64, max_stake: i64, at: &str) -> Result<(), ApiError> {
    let f = |name: &str| format!("{at}{name}");
    if min_stake <= 0 {
        return Err(ApiError::invalid(f("min_stake"), "must be greater than 0"));
    }
    if max_stake < min_stake || max_stake > MAX_COINS {
        return Err(ApiError::invalid(f("max_stake"), "at least min_stake and at most 10^12"));
    }
    Ok(())
}

fn options_of(options: &[OptionBody]) -> Vec<MatchOption> {
    options.iter().map(|o| MatchOption { key: o.key.clone(), label: o.label.clone(), odds: o.odds }).collect()
}

impl CreateMatch {
    /// The hash fields of the new match.
    pub fn fields(&self) -> Vec<String> {
        let mut fields = MatchRecord::new_fields(
            &self.kind,
            &self.title,
            &[self.teams[0].clone(), self.teams[1].clone()],
            &options_of(&self.options),
            self.min_stake,
            self.max_stake,
        );
        if let Some(name) = &self.market {
            fields.extend(["market".to_owned(), name.clone()]);
        }
        fields
    }
}

impl NewMarket {
    /// The hash fields of the new market; limits left out are the match's.
    pub fn fields(&self, min_stake: i64, max_stake: i64) -> Vec<String> {
        MatchRecord::market_fields(
            &self.name,
            &options_of(&self.options),
            self.min_stake.unwrap_or(min_stake),
            self.max_stake.unwrap_or(max_stake),
        )
    }
}
