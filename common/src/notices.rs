//! The notice board (docs/protocol.md "Notices"): what staff publish (gm), what a player lists
//! (214) and marks read (215), what the public web pages show, and what pushsvr pushes when a
//! notice is due (903 with its id). A notice is for everyone, for one user, or for the bettors of
//! one match; it may be scheduled (on the board, and pushed, from its publish time) and withdrawn
//! (off the board; a push not yet sent is dropped). Notices are kept [`KEEP_MS`].
//!
//! Keys (`{g}`, see [`crate::keys`]): `notice:{id}` the notice, `notices` every one for gm,
//! `notices:{audience}` the live ones of each audience — `all`, `user:{uid}`, and `match` (those
//! of every match: a reader sees the ones of matches they bet on) — all scored by publish time;
//! and per user `notices_read:{uid}` in the user's shard.

use std::collections::{HashMap, HashSet};

use fred::prelude::*;
use protocol::body::NoticeView;

use crate::Redis;
use crate::store::StoreError;

/// How long a notice is kept (listed, and then gone with its read marks): 90 days.
pub const KEEP_MS: u64 = 90 * 86_400_000;
/// The newest notices a player's board holds (the list of 214, of each audience).
pub const LIST_MAX: usize = 100;
/// A title's and a text's most characters.
pub const TITLE_MAX: usize = 100;
pub const TEXT_MAX: usize = 2000;

/// Who a notice is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    All,
    User(u64),
    /// The bettors of a match (of any of its markets).
    Match(u64),
}

impl Target {
    /// From the names gm takes and the hash keeps: `all`, `user` with a user id, `match` with a
    /// match id.
    pub fn parse(kind: &str, id: Option<u64>) -> Option<Target> {
        match (kind, id) {
            ("all", None) => Some(Target::All),
            ("user", Some(uid)) => Some(Target::User(uid)),
            ("match", Some(mid)) => Some(Target::Match(mid)),
            _ => None,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Target::All => "all",
            Target::User(_) => "user",
            Target::Match(_) => "match",
        }
    }

    pub fn id(self) -> Option<u64> {
        match self {
            Target::All => None,
            Target::User(id) | Target::Match(id) => Some(id),
        }
    }

    /// The index of the live notices it belongs to (`keys.notices_for`).
    pub fn audience(self) -> String {
        match self {
            Target::User(uid) => format!("user:{uid}"),
            other => other.kind().to_owned(),
        }
    }
}

/// A notice as its hash holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: String,
    pub title: Option<String>,
    pub text: String,
    pub target: Target,
    pub publish_at: u64,
    pub created_at: u64,
    pub created_by: String,
    /// When and by whom it was withdrawn.
    pub withdrawn: Option<(u64, String)>,
}

impl Notice {
    /// None for a hash that is gone (expired) or not a notice.
    pub fn from_hash(h: &HashMap<String, String>) -> Option<Notice> {
        let num = |k: &str| h.get(k).and_then(|v| v.parse::<u64>().ok());
        let target = Target::parse(h.get("target")?, num("target_id"))?;
        let withdrawn = match h.get("state").map(String::as_str) {
            Some("withdrawn") => {
                Some((num("withdrawn_at").unwrap_or(0), h.get("withdrawn_by").cloned().unwrap_or_default()))
            }
            _ => None,
        };
        Some(Notice {
            id: h.get("id")?.clone(),
            title: h.get("title").filter(|t| !t.is_empty()).cloned(),
            text: h.get("text")?.clone(),
            target,
            publish_at: num("publish_at")?,
            created_at: num("created_at").unwrap_or(0),
            created_by: h.get("created_by").cloned().unwrap_or_default(),
            withdrawn,
        })
    }

    /// What a player sees.
    pub fn view(&self, read: bool) -> NoticeView {
        NoticeView {
            notice_id: self.id.clone(),
            title: self.title.clone(),
            text: self.text.clone(),
            match_id: match self.target {
                Target::Match(mid) => Some(mid),
                _ => None,
            },
            published_at: self.publish_at,
            read,
        }
    }
}

/// A new notice id: time-ordered (UUID v7), so ids of one publish time sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The notices of `ids` that still exist, in that order.
pub async fn load_many(redis: &Redis, ids: &[String]) -> Result<Vec<Notice>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let pipe = redis.pool.next().pipeline();
    for id in ids {
        let _: () = pipe.hgetall(redis.keys.notice(id)).await?;
    }
    let hashes: Vec<HashMap<String, String>> = Redis::each(pipe).await?;
    Ok(hashes.iter().filter_map(Notice::from_hash).collect())
}

/// The live notices of `audience` published by `now`: (id, publish time), newest first, at most
/// `limit` from `offset`.
async fn published(
    redis: &Redis,
    audience: &str,
    now: u64,
    offset: usize,
    limit: usize,
) -> Result<Vec<(String, u64)>, StoreError> {
    let key = redis.keys.notices_for(audience);
    let found: Vec<(String, f64)> =
        redis.pool.zrevrangebyscore(key, now as f64, "-inf", true, Some((offset as i64, limit as i64))).await?;
    Ok(found.into_iter().map(|(id, at)| (id, at as u64)).collect())
}

/// The public board (the web pages): notices for everyone published by `now`, newest first.
pub async fn public(redis: &Redis, now: u64, offset: usize, limit: usize) -> Result<Vec<Notice>, StoreError> {
    let ids: Vec<String> = published(redis, "all", now, offset, limit).await?.into_iter().map(|(id, _)| id).collect();
    load_many(redis, &ids).await
}

/// Player `uid`'s board: the newest [`LIST_MAX`] live notices published by `now` for everyone,
/// for them, and for the bettors of matches they bet on, newest first.
pub async fn of_user(redis: &Redis, uid: u64, now: u64) -> Result<Vec<Notice>, StoreError> {
    let mut ids = published(redis, "all", now, 0, LIST_MAX).await?;
    ids.extend(published(redis, &Target::User(uid).audience(), now, 0, LIST_MAX).await?);
    let for_matches = published(redis, "match", now, 0, LIST_MAX).await?;
    let mut notices = load_many(redis, &ids.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()).await?;
    let match_notices = load_many(redis, &for_matches.into_iter().map(|(id, _)| id).collect::<Vec<_>>()).await?;
    let mids: Vec<u64> = match_notices.iter().filter_map(|n| n.target.id()).collect();
    let bet_on = bet_on(redis, uid, &mids).await?;
    notices.extend(match_notices.into_iter().filter(|n| n.target.id().is_some_and(|mid| bet_on.contains(&mid))));
    notices.retain(|n| n.withdrawn.is_none());
    notices.sort_by(|a, b| (b.publish_at, &b.id).cmp(&(a.publish_at, &a.id)));
    notices.dedup_by(|a, b| a.id == b.id);
    notices.truncate(LIST_MAX);
    Ok(notices)
}

/// Which of the matches `mids` user `uid` bet on (on any of their markets).
async fn bet_on(redis: &Redis, uid: u64, mids: &[u64]) -> Result<HashSet<u64>, StoreError> {
    let mut distinct = mids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let matches = crate::matches::load_many(redis, &distinct).await?;
    let markets: Vec<(u64, u64)> = matches
        .iter()
        .flat_map(|m| std::iter::once(m.id).chain(m.markets.iter().copied()).map(|k| (m.id, k)))
        .collect();
    if markets.is_empty() {
        return Ok(HashSet::new());
    }
    let shard = crate::shards::of_uid(uid);
    let pipe = redis.pool.next().pipeline();
    for (_, market) in &markets {
        let _: () = pipe.sismember(redis.keys.match_bettors(shard, *market), uid).await?;
    }
    let member: Vec<bool> = Redis::each(pipe).await?;
    Ok(markets.iter().zip(member).filter(|(_, m)| *m).map(|((mid, _), _)| *mid).collect())
}

/// Which of `notices` user `uid` marked read.
pub async fn read_marks(redis: &Redis, uid: u64, notices: &[Notice]) -> Result<Vec<bool>, StoreError> {
    if notices.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = notices.iter().map(|n| n.id.as_str()).collect();
    Ok(redis.pool.smismember(redis.keys.notices_read(uid), ids).await?)
}

/// Marks `ids` read for user `uid` (the marks live as long as a notice).
pub async fn mark_read(redis: &Redis, uid: u64, ids: &[&str]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let key = redis.keys.notices_read(uid);
    let pipe = redis.pool.next().pipeline();
    let _: () = pipe.sadd(&key, ids.to_vec()).await?;
    let _: () = pipe.pexpire(&key, KEEP_MS as i64, None).await?;
    let _: Vec<Value> = pipe.all().await?;
    Ok(())
}
