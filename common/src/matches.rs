//! Matches as stored in Redis (`match:{mid}` hash) and read back: one place that knows the fields,
//! used by gm (staff views) and logic (client lists and details); and each shard's copy of a match
//! and its part of the pools, open bets and settlement (docs/scaling.md).

use std::collections::HashMap;

use fred::prelude::*;
use protocol::body::{MarketView, MatchView, OptionView};
use protocol::matches::{Index, MatchState};
use serde::{Deserialize, Serialize};

use crate::redis::Redis;
use crate::retry::Backoff;
use crate::shards::SHARDS;
use crate::store::match_transition::{self, Outcome as Transitioned};
use crate::store::{StoreError, match_copy};
use protocol::matches::{Action, transition};

/// One betting option: a key, a label, and odds in thousandths (1850 = 1.85).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchOption {
    pub key: String,
    pub label: String,
    pub odds: i64,
}

/// The name of a match's default market when staff gave none (and of every match made before
/// markets).
pub const DEFAULT_MARKET: &str = "Match winner";

/// A match as stored — or one market of a match: a market other than a match's default one is a
/// record of its own (`parent` names the match), with its own options, odds, limits, state and
/// result, so that bets, settlement and refunds work on it as on a match; it is in no index (the
/// match lists its `markets`), and its type, start time and liveness follow the match's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRecord {
    pub id: u64,
    /// For a market: the match it belongs to.
    pub parent: Option<u64>,
    /// The market's name (a match: its default market's).
    pub market: String,
    /// A match's other markets, in the order they were added.
    pub markets: Vec<u64>,
    pub kind: String,
    pub title: String,
    pub teams: [String; 2],
    pub start_at: u64,
    pub state: MatchState,
    /// The match has started (betting before it, if any, is over).
    pub live: bool,
    pub options: Vec<MatchOption>,
    pub odds_ver: u64,
    pub min_stake: i64,
    pub max_stake: i64,
    /// The winning option key, once set.
    pub result: Option<String>,
    pub external_id: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    /// Bets settled or refunded so far (resultcenter's progress).
    pub settled: u64,
    /// Where the match is streamed.
    pub stream_url: Option<String>,
    /// The winner a data feed reports, waiting for staff to confirm it as the result.
    pub feed_result: Option<String>,
    /// The record's version (each change raises it).
    pub ver: u64,
}

impl MatchRecord {
    /// The hash fields a new match is created with (the script adds state, versions and times).
    pub fn new_fields(
        kind: &str,
        title: &str,
        teams: &[String; 2],
        options: &[MatchOption],
        min_stake: i64,
        max_stake: i64,
    ) -> Vec<String> {
        let mut fields = flat([("type", kind), ("title", title), ("team_a", &teams[0]), ("team_b", &teams[1])]);
        fields.extend(betting_fields(options, min_stake, max_stake));
        fields
    }

    /// The hash fields a new market of a match is created with (market_create.lua adds the rest:
    /// the match's type, start time and liveness, state, versions and times).
    pub fn market_fields(name: &str, options: &[MatchOption], min_stake: i64, max_stake: i64) -> Vec<String> {
        let mut fields = flat([("market", name)]);
        fields.extend(betting_fields(options, min_stake, max_stake));
        fields
    }

    /// Reads a match from its hash; Err names the field that is missing or malformed.
    pub fn from_hash(h: &HashMap<String, String>) -> Result<MatchRecord, String> {
        let s = |k: &str| h.get(k).cloned().ok_or_else(|| format!("match field {k} missing"));
        let n =
            |k: &str| -> Result<i64, String> { s(k)?.parse().map_err(|_| format!("match field {k} is not a number")) };
        let state = MatchState::from_code(n("state")?).ok_or("match field state is not a state")?;
        let options: Vec<MatchOption> =
            serde_json::from_str(&s("options")?).map_err(|e| format!("match field options: {e}"))?;
        let opt = |k: &str| h.get(k).filter(|v| !v.is_empty()).cloned();
        let parent = opt("parent").map(|p| p.parse().map_err(|_| "match field parent is not an id")).transpose()?;
        let markets = opt("markets")
            .map(|list| {
                list.split(',').map(|id| id.parse().map_err(|_| "match field markets is not a list of ids")).collect()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(MatchRecord {
            id: n("id")? as u64,
            parent,
            market: opt("market").unwrap_or_else(|| DEFAULT_MARKET.to_owned()),
            markets,
            kind: s("type")?,
            title: s("title")?,
            teams: [s("team_a")?, s("team_b")?],
            start_at: n("start_at")? as u64,
            state,
            live: n("live")? == 1,
            options,
            odds_ver: n("odds_ver")? as u64,
            min_stake: n("min_stake")?,
            max_stake: n("max_stake")?,
            result: opt("result"),
            external_id: opt("external_id"),
            created_at: n("created_at")? as u64,
            updated_at: n("updated_at")? as u64,
            settled: h.get("settled").and_then(|v| v.parse().ok()).unwrap_or(0),
            stream_url: opt("stream_url"),
            feed_result: opt("feed_result"),
            ver: n("ver")? as u64,
        })
    }

    pub fn option(&self, key: &str) -> Option<&MatchOption> {
        self.options.iter().find(|o| o.key == key)
    }

    /// Whether clients may see it as a match: approved (not pending), and a match rather than one
    /// of its markets (a market's own id names no match for them).
    pub fn is_for_clients(&self) -> bool {
        self.state != MatchState::Pending && self.parent.is_none()
    }

    /// The match's id: its own, or for a market its parent's.
    pub fn match_id(&self) -> u64 {
        self.parent.unwrap_or(self.id)
    }

    /// The client view of this match with its markets (`markets`: the records of its other
    /// markets, [`markets_of`]).
    pub fn view(&self, markets: &[MatchRecord]) -> MatchView {
        MatchView {
            match_id: self.id,
            kind: self.kind.clone(),
            title: self.title.clone(),
            teams: self.teams.to_vec(),
            start_at: self.start_at,
            state: self.state.code(),
            state_name: self.state.name().to_owned(),
            options: self.option_views(),
            odds_ver: self.odds_ver,
            min_stake: self.min_stake,
            max_stake: self.max_stake,
            result: self.result.clone(),
            stream_url: self.stream_url.clone(),
            ver: self.ver,
            markets: std::iter::once(self).chain(markets).map(MatchRecord::market_view).collect(),
        }
    }

    /// The client view of this record as a market.
    pub fn market_view(&self) -> MarketView {
        MarketView {
            market_id: self.id,
            name: self.market.clone(),
            state: self.state.code(),
            state_name: self.state.name().to_owned(),
            options: self.option_views(),
            odds_ver: self.odds_ver,
            min_stake: self.min_stake,
            max_stake: self.max_stake,
            result: self.result.clone(),
        }
    }

    fn option_views(&self) -> Vec<OptionView> {
        self.options.iter().map(|o| OptionView { key: o.key.clone(), label: o.label.clone(), odds: o.odds }).collect()
    }
}

/// Applies `action` to match (or market) `mid`: a [`Action::match_wide`] action on a match whose
/// state allows it is first applied to each of its markets that allows it (the others are skipped:
/// a market already settled stays settled), then to the match; so a retry after a failure half-way
/// finishes the markets left. `audit` is recorded with the match's change.
pub async fn act(
    redis: &Redis,
    mid: u64,
    action: Action,
    winner: Option<&str>,
    audit: &[u8],
) -> Result<Transitioned, StoreError> {
    if action.match_wide()
        && let Some(m) = load(redis, mid).await?
        && !m.markets.is_empty()
    {
        if !transition(action).allows(m.state, m.live) {
            return Ok(Transitioned::Illegal { state: m.state, live: m.live });
        }
        for market in &m.markets {
            match_transition::transition(redis, *market, action, None, &[]).await?;
        }
    }
    match_transition::transition(redis, mid, action, winner, audit).await
}

/// Field, value, ... of what a bet is checked against: options (JSON), stake limits.
fn betting_fields(options: &[MatchOption], min_stake: i64, max_stake: i64) -> Vec<String> {
    let options = serde_json::to_string(options).expect("options serialize");
    flat([("options", options.as_str()), ("min_stake", &min_stake.to_string()), ("max_stake", &max_stake.to_string())])
}

fn flat<const N: usize>(pairs: [(&str, &str); N]) -> Vec<String> {
    pairs.into_iter().flat_map(|(k, v)| [k.to_owned(), v.to_owned()]).collect()
}

/// The other markets of each match of `matches` (in the same order), read in one round trip.
pub async fn markets_of(redis: &Redis, matches: &[MatchRecord]) -> Result<Vec<Vec<MatchRecord>>, StoreError> {
    let ids: Vec<u64> = matches.iter().flat_map(|m| m.markets.iter().copied()).collect();
    let mut all = load_many(redis, &ids).await?.into_iter().map(|m| (m.id, m)).collect::<HashMap<_, _>>();
    Ok(matches.iter().map(|m| m.markets.iter().filter_map(|id| all.remove(id)).collect()).collect())
}

/// The client views of `matches`, each with its markets (one more round trip for all of them).
pub async fn views(redis: &Redis, matches: &[MatchRecord]) -> Result<Vec<MatchView>, StoreError> {
    let markets = markets_of(redis, matches).await?;
    Ok(matches.iter().zip(&markets).map(|(m, markets)| m.view(markets)).collect())
}

/// Loads one match; None if there is no such match. A Redis failure is a [`StoreError`] (transient
/// while Redis is away); a hash that is not a well-formed match is a permanent one.
pub async fn load(redis: &Redis, mid: u64) -> Result<Option<MatchRecord>, StoreError> {
    let h: HashMap<String, String> = redis.pool.hgetall(redis.keys.match_(mid)).await?;
    if h.is_empty() {
        return Ok(None);
    }
    Ok(Some(MatchRecord::from_hash(&h).map_err(|e| malformed(mid, e))?))
}

/// Loads several matches in one round trip, in the order given; ids without a match are skipped.
pub async fn load_many(redis: &Redis, ids: &[u64]) -> Result<Vec<MatchRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let pipe = redis.pool.next().pipeline();
    for id in ids {
        let _: () = pipe.hgetall(redis.keys.match_(*id)).await?;
    }
    let hashes: Vec<HashMap<String, String>> = Redis::each(pipe).await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, h) in ids.iter().zip(hashes) {
        if !h.is_empty() {
            out.push(MatchRecord::from_hash(&h).map_err(|e| malformed(*id, e))?);
        }
    }
    Ok(out)
}

/// The fields of the catalogue record that each shard's copy holds: what place_bet.lua and
/// settle_batch.lua read (state, odds, limits, result), besides every `odds:{key}`.
const COPIED: &[&str] =
    &["id", "parent", "type", "state", "live", "odds_ver", "options", "min_stake", "max_stake", "result", "ver"];

/// Whether a shard's copy of a match holds catalogue field `field` (restore writes the copies).
pub fn is_copied(field: &str) -> bool {
    COPIED.contains(&field) || field.starts_with("odds:")
}

/// Attempts at each shard's copy before [`copy_to_shards`] gives up (with jittered backoff between).
const COPY_ATTEMPTS: u32 = 3;

/// Copies match `mid`'s catalogue record, as it is now, to every shard (match_copy.lua, all shards
/// at once): after a transition or an odds change, a bet in any shard sees it. A copy only moves
/// forward, so a repeat, or a copy racing a newer one, changes nothing. Ok(false) if there is no
/// such match. A shard that cannot be reached is retried with jittered backoff, then the error is
/// returned (transient: the caller answers "unavailable"; the change is in the catalogue, and the
/// next copy of the match — a retried action, resultcenter's job — brings the lagging shard up).
pub async fn copy_to_shards(redis: &Redis, mid: u64) -> Result<bool, StoreError> {
    let h: HashMap<String, String> = redis.pool.hgetall(redis.keys.match_(mid)).await?;
    if h.is_empty() {
        return Ok(false);
    }
    let ver: u64 = h.get("ver").and_then(|v| v.parse().ok()).ok_or_else(|| malformed(mid, "no version".into()))?;
    let fields: Vec<(String, String)> = h.into_iter().filter(|(f, _)| f != "ver" && is_copied(f)).collect();
    let copies = (0..SHARDS).map(|shard| copy_one(redis, match_copy::Args { shard, mid, ver, fields: &fields }));
    futures_util::future::try_join_all(copies).await?;
    Ok(true)
}

async fn copy_one(redis: &Redis, args: match_copy::Args<'_>) -> Result<(), StoreError> {
    let mut backoff = Backoff::redis();
    for attempt in 1.. {
        match match_copy::call(redis, &args).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() && attempt < COPY_ATTEMPTS => {
                tracing::warn!(match_id = args.mid, shard = args.shard, error = %e, "copying a match to a shard failed; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// What the shards hold of one match besides its copy: the stakes per option, the open bets, and
/// what settlement has settled and paid so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardTotals {
    pub pool: HashMap<String, i64>,
    pub open: u64,
    pub settled: u64,
    pub paid: u64,
}

/// Sums each match's pools, open bets and settlement counters over the shards, for `mids` in
/// order, in one pipeline (3 reads per shard and match).
pub async fn shard_totals(redis: &Redis, mids: &[u64]) -> Result<Vec<ShardTotals>, StoreError> {
    if mids.is_empty() {
        return Ok(Vec::new());
    }
    let k = &redis.keys;
    let pipe = redis.pool.next().pipeline();
    for mid in mids {
        for shard in 0..SHARDS {
            let _: () = pipe.hgetall(k.match_pool(shard, *mid)).await?;
            let _: () = pipe.hlen(k.match_open(shard, *mid)).await?;
            let _: () = pipe.hmget(k.match_copy(shard, *mid), vec!["settled", "paid"]).await?;
        }
    }
    let replies: Vec<fred::types::Value> = Redis::each(pipe).await?;
    let mut replies = replies.into_iter();
    let mut next = || replies.next().ok_or_else(|| malformed(0, "a reply missing from the pipeline".into()));
    let mut out = Vec::with_capacity(mids.len());
    for _ in mids {
        let mut t = ShardTotals::default();
        for _ in 0..SHARDS {
            let pool: HashMap<String, i64> = next()?.convert()?;
            for (option, stake) in pool {
                *t.pool.entry(option).or_default() += stake;
            }
            t.open += next()?.convert::<u64>()?;
            let counters: Vec<Option<u64>> = next()?.convert()?;
            t.settled += counters.first().copied().flatten().unwrap_or(0);
            t.paid += counters.get(1).copied().flatten().unwrap_or(0);
        }
        out.push(t);
    }
    Ok(out)
}

/// A `match:{mid}` hash that is not a match (a field missing or malformed): permanent, no retry
/// cures it.
fn malformed(mid: u64, why: String) -> StoreError {
    let e = fred::error::Error::new(fred::error::ErrorKind::Parse, format!("match {mid}: {why}"));
    StoreError::from(e)
}

/// Which matches a listing walks, in order: the index families, and the filters.
#[derive(Clone, Debug)]
pub struct Listing {
    pub families: Vec<Index>,
    /// A game type, or None for all.
    pub kind: Option<String>,
    /// Only this state, if set.
    pub state: Option<MatchState>,
    /// Only matches whose title or a team's name contains this, in any case (lowercase it).
    pub text: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// One page of matches: walks the families' indexes (upcoming and live by start time, finished
/// newest first) in chunks, keeps those that pass the filters, skips `offset`, returns `limit`.
pub async fn page(redis: &Redis, listing: &Listing) -> Result<Vec<MatchRecord>, StoreError> {
    const CHUNK: i64 = 200;
    let keep = |m: &MatchRecord| {
        listing.state.is_none_or(|s| m.state == s)
            && listing.kind.as_ref().is_none_or(|k| &m.kind == k)
            && listing.text.as_ref().is_none_or(|t| {
                std::iter::once(&m.title).chain(&m.teams).any(|s| s.to_lowercase().contains(t.as_str()))
            })
    };
    let (mut skipped, mut found) = (0usize, Vec::new());
    if listing.limit == 0 {
        return Ok(found);
    }
    for family in &listing.families {
        let key = match family {
            Index::Pending => redis.keys.matches_pending(),
            f => redis.keys.matches_index(f.name(), listing.kind.as_deref().unwrap_or("all")),
        };
        let newest_first = *family == Index::Finished;
        let mut start = 0i64;
        loop {
            let ids: Vec<u64> = if newest_first {
                redis.pool.zrevrange(&key, start, start + CHUNK - 1, false).await?
            } else {
                redis.pool.zrange(&key, start, start + CHUNK - 1, None, false, None, false).await?
            };
            if ids.is_empty() {
                break;
            }
            start += ids.len() as i64;
            for m in load_many(redis, &ids).await? {
                if !keep(&m) {
                    continue;
                }
                if skipped < listing.offset {
                    skipped += 1;
                    continue;
                }
                found.push(m);
                if found.len() >= listing.limit {
                    return Ok(found);
                }
            }
        }
    }
    Ok(found)
}

/// The index families where a match in `state` can be (one or two, depending on liveness).
pub fn families_of(state: MatchState) -> Vec<Index> {
    let (a, b) = (state.index(false), state.index(true));
    if a == b { vec![a] } else { vec![a, b] }
}
