//! Matches as stored in Redis (`match:{mid}` hash) and read back: one place that knows the fields,
//! used by gm (staff views) and logic (client lists and details).

use std::collections::HashMap;

use fred::prelude::*;
use protocol::matches::MatchState;
use serde::{Deserialize, Serialize};

use crate::redis::Redis;

/// One betting option: a key, a label, and odds in thousandths (1850 = 1.85).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchOption {
    pub key: String,
    pub label: String,
    pub odds: i64,
}

/// A match as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRecord {
    pub id: u64,
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
        let options = serde_json::to_string(options).expect("options serialize");
        [
            ("type", kind.to_owned()),
            ("title", title.to_owned()),
            ("team_a", teams[0].clone()),
            ("team_b", teams[1].clone()),
            ("options", options),
            ("min_stake", min_stake.to_string()),
            ("max_stake", max_stake.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
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
        Ok(MatchRecord {
            id: n("id")? as u64,
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
        })
    }

    pub fn option(&self, key: &str) -> Option<&MatchOption> {
        self.options.iter().find(|o| o.key == key)
    }
}

/// Loads one match; None if there is no such match.
pub async fn load(redis: &Redis, mid: u64) -> anyhow::Result<Option<MatchRecord>> {
    let h: HashMap<String, String> = redis.pool.hgetall(redis.keys.match_(mid)).await?;
    if h.is_empty() {
        return Ok(None);
    }
    Ok(Some(MatchRecord::from_hash(&h).map_err(|e| anyhow::anyhow!("match {mid}: {e}"))?))
}

/// Loads several matches in one round trip, in the order given; ids without a match are skipped.
pub async fn load_many(redis: &Redis, ids: &[u64]) -> anyhow::Result<Vec<MatchRecord>> {
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
            out.push(MatchRecord::from_hash(&h).map_err(|e| anyhow::anyhow!("match {id}: {e}"))?);
        }
    }
    Ok(out)
}
