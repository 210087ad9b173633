//! Leaderboards: players ranked by net winnings (payouts minus stakes of settled bets) and by
//! correct picks (won bets), per UTC day, per ISO week and all time.
//!
//! settle_batch.lua keeps them in the same call that pays a bet, so a board never disagrees with
//! the wallets: each shard holds its own part of each board (a sorted set uid -> score in the
//! shard's slot, [`crate::keys::Keys::leaderboard`]), as a shard's settlement may only touch its own
//! slot on a Redis Cluster. A player's bets are all in their shard, so each player is in exactly one
//! part; a board is read by merging the parts' tops ([`top`]) and a player's rank counts the
//! players above them in every part ([`rank`]). Day parts expire [`DAY_TTL_S`] after their last
//! change, week parts [`WEEK_TTL_S`]; all-time parts are kept. Refunded bets count for neither board.

use std::collections::HashMap;

use fred::prelude::*;
use time::{Date, OffsetDateTime};

use protocol::body::{LeaderboardEntry, LeaderboardReply};

use crate::Redis;
use crate::shards::SHARDS;

/// What a board ranks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Board {
    /// Net winnings: payouts minus stakes of won and lost bets.
    Net,
    /// Correct picks: bets won.
    Picks,
}

/// The span a board covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// One UTC day.
    Day(Date),
    /// One ISO week (Monday to Sunday, UTC): its year and number.
    Week(i32, u8),
    All,
}

/// How long a day's board part is kept after its last change: the last month of days can be read.
pub const DAY_TTL_S: u64 = 35 * 86_400;
/// How long a week's board part is kept after its last change.
pub const WEEK_TTL_S: u64 = 15 * 7 * 86_400;

impl Board {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl Period {
    /// The period of kind `kind` ("day", "week" or "all") that holds the Unix-ms time `at`.
    pub fn of(kind: &str, at_ms: u64) -> Option<Period> {
        let date = date_of(at_ms);
        match kind {
            "day" => Some(Period::Day(date)),
            "week" => {
                let (year, week, _) = date.to_iso_week_date();
                Some(Period::Week(year, week))
            }
            "all" => Some(Period::All),
            _ => None,
        }
    }

    /// The periods a bet settled at `at_ms` counts in: its day, its week, all time.
    pub fn all_at(at_ms: u64) -> [Period; 3] {
        ["day", "week", "all"].map(|k| Period::of(k, at_ms).expect("known kinds"))
    }

    /// The kind: "day", "week" or "all".
    pub fn kind(self) -> &'static str {
        match self {
            Period::Day(_) => "day",
            Period::Week(..) => "week",
            Period::All => "all",
        }
    }

    /// Its name in keys and replies: `2026-12-05`, `2026-W49` or `all`.
    pub fn label(self) -> String {
        match self {
            Period::Day(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            Period::Week(year, week) => format!("{year:04}-W{week:02}"),
            Period::All => "all".to_owned(),
        }
    }

    /// How long its board parts are kept after their last change (None: always).
    pub fn ttl_s(self) -> Option<u64> {
        match self {
            Period::Day(_) => Some(DAY_TTL_S),
            Period::Week(..) => Some(WEEK_TTL_S),
            Period::All => None,
        }
    }
}

/// The UTC date of a Unix-ms time.
pub fn date_of(ms: u64) -> Date {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH).date()
}

/// Parses a `YYYY-MM-DD` date, answering Unix ms at its midnight (UTC).
pub fn parse_date(s: &str) -> Option<u64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(s, &format).ok()?;
    u64::try_from(date.midnight().assume_utc().unix_timestamp()).ok().map(|s| s * 1000)
}

/// One place on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1 + the number of players with a higher score (players with equal scores share a rank).
    pub rank: u64,
    pub uid: u64,
    pub score: i64,
}

/// The best `offset..offset+limit` places of a board, best first (equal scores: lower user id
/// first). Reads each shard's best `offset + limit` (one pipelined ZREVRANGE per shard).
pub async fn top(
    redis: &Redis,
    board: Board,
    period: Period,
    offset: usize,
    limit: usize,
) -> Result<Vec<Entry>, fred::error::Error> {
    let want = offset + limit;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let pipe = redis.pool.next().pipeline();
    for shard in 0..SHARDS {
        let _: () = pipe.zrevrange(redis.keys.leaderboard(shard, board, period), 0, want as i64 - 1, true).await?;
    }
    let parts: Vec<Vec<(String, f64)>> = Redis::each(pipe).await?;
    let mut all: Vec<(u64, i64)> =
        parts.into_iter().flatten().filter_map(|(uid, score)| Some((uid.parse().ok()?, score as i64))).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = Vec::with_capacity(limit);
    let mut rank = 0;
    for (i, (uid, score)) in all.iter().enumerate().take(want) {
        if i == 0 || all[i - 1].1 != *score {
            rank = i as u64 + 1;
        }
        if i >= offset {
            out.push(Entry { rank, uid: *uid, score: *score });
        }
    }
    Ok(out)
}

/// A player's place on a board (None when they are not on it).
pub async fn rank(redis: &Redis, board: Board, period: Period, uid: u64) -> Result<Option<Entry>, fred::error::Error> {
    let own = redis.keys.leaderboard(crate::shards::of_uid(uid), board, period);
    let score: Option<f64> = redis.pool.zscore(&own, uid.to_string()).await?;
    let Some(score) = score else { return Ok(None) };
    let pipe = redis.pool.next().pipeline();
    for shard in 0..SHARDS {
        let key = redis.keys.leaderboard(shard, board, period);
        // Scores are whole numbers: a higher one is at least score + 1.
        let _: () = pipe.zcount(key, score + 1.0, f64::INFINITY).await?;
    }
    let above: Vec<u64> = Redis::each(pipe).await?;
    Ok(Some(Entry { rank: 1 + above.iter().sum::<u64>(), uid, score: score as i64 }))
}

/// How deep a board can be paged: offset + limit at most this (each read takes that many places
/// from every shard's part).
pub const MAX_DEPTH: usize = 1000;

/// A board request as clients and the public API send it, checked: `board` net | picks (default
/// net), `period` day | week | all (default week), `date` (`YYYY-MM-DD`) a day in the period
/// (default the day of `now_ms`). The error names the bad field.
pub fn choose(
    board: Option<&str>,
    period: Option<&str>,
    date: Option<&str>,
    now_ms: u64,
) -> Result<(Board, Period), String> {
    let board = match board {
        None => Board::Net,
        Some(b) => b.parse().map_err(|_| format!("board: {b:?} is not net or picks"))?,
    };
    let at = match date {
        None => now_ms,
        Some(d) => parse_date(d).ok_or_else(|| format!("date: {d:?} is not a YYYY-MM-DD date"))?,
    };
    let kind = period.unwrap_or("week");
    let period = Period::of(kind, at).ok_or_else(|| format!("period: {kind:?} is not day, week or all"))?;
    Ok((board, period))
}

/// One page of a board with the players' names (nickname, else username), and `me`'s place.
pub async fn view(
    redis: &Redis,
    board: Board,
    period: Period,
    offset: usize,
    limit: usize,
    me: Option<u64>,
) -> Result<LeaderboardReply, fred::error::Error> {
    let offset = offset.min(MAX_DEPTH);
    let limit = limit.min(MAX_DEPTH - offset);
    let top = top(redis, board, period, offset, limit).await?;
    let mine = match me {
        Some(uid) => rank(redis, board, period, uid).await?,
        None => None,
    };
    let uids: Vec<u64> = top.iter().chain(mine.iter()).map(|e| e.uid).collect();
    let names = crate::users::display_names(redis, &uids).await?;
    let entry = |e: Entry| LeaderboardEntry {
        name: names.get(&e.uid).cloned().unwrap_or_default(),
        rank: e.rank,
        user_id: e.uid,
        score: e.score,
    };
    Ok(LeaderboardReply {
        board: board.name().to_owned(),
        period: period.label(),
        items: top.into_iter().map(entry).collect(),
        me: mine.map(entry),
    })
}

/// The scores a set of settled bets gives, per player: what [`top`] should show after them
/// (a recomputation, for tests and `verify`). `bets`: (uid, stake, payout, result).
pub fn recompute<'a>(board: Board, bets: impl IntoIterator<Item = (u64, i64, i64, &'a str)>) -> HashMap<u64, i64> {
    let mut scores = HashMap::new();
    for (uid, stake, payout, result) in bets {
        let delta = match (board, result) {
            (Board::Net, "won" | "lost") => payout - stake,
            (Board::Picks, "won") => 1,
            _ => continue,
        };
        *scores.entry(uid).or_insert(0) += delta;
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_days_and_iso_weeks() {
        // 2026-12-05 12:00 UTC, a Saturday of ISO week 49; 2027-01-01 is in 2026's week 53.
        let sat = 1_796_472_000_000;
        assert_eq!(Period::of("day", sat).map(Period::label).as_deref(), Some("2026-12-05"));
        assert_eq!(Period::of("week", sat).map(Period::label).as_deref(), Some("2026-W49"));
        assert_eq!(Period::of("all", sat).map(Period::label).as_deref(), Some("all"));
        assert_eq!(Period::of("month", sat), None);
        let new_year = parse_date("2027-01-01").unwrap();
        assert_eq!(Period::of("week", new_year).unwrap().label(), "2026-W53");
        assert_eq!(parse_date("2026-12-05"), Some(1_796_428_800_000));
        assert_eq!(parse_date("2026-13-05"), None);
    }

    #[test]
    fn recomputation_counts_won_and_lost_bets_not_refunds() {
        let bets = [(1, 100, 250, "won"), (1, 50, 0, "lost"), (2, 10, 10, "refunded"), (2, 40, 0, "lost")];
        let net = recompute(Board::Net, bets);
        assert_eq!((net[&1], net[&2]), (100, -40));
        let picks = recompute(Board::Picks, bets);
        assert_eq!((picks[&1], picks.get(&2)), (1, None));
    }
}
