//! What gm reads from the MySQL record (dbsvr's copy of every durable change): reports, the audit
//! log, and users and bets searched and paged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// The widest report range, in days.
pub const MAX_REPORT_DAYS: i64 = 366;
/// The most rows one CSV export holds (narrow the range for more).
pub const MAX_CSV_ROWS: u64 = 100_000;
/// The most rows of one page of a report, the audit log, users or bets.
pub const MAX_RECORD_PAGE: usize = 500;

/// A UTC day as days since the Unix epoch, from and to `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]");

    pub fn today() -> Day {
        Day(common::time::day_of(common::time::now_ms()) as i64)
    }

    /// `2026-12-05`, or the field's 400.
    pub fn parse(field: &str, text: &str) -> Result<Day, ApiError> {
        let date = time::Date::parse(text.trim(), Self::FORMAT)
            .map_err(|_| ApiError::invalid(field, format!("{text:?} is not a date as YYYY-MM-DD")))?;
        Ok(Day((date - time::Date::from_julian_day(EPOCH_JULIAN).expect("the epoch")).whole_days()))
    }

    /// Midnight UTC, Unix ms.
    pub fn start_ms(self) -> i64 {
        self.0 * 86_400_000
    }
}

/// Julian day number of 1970-01-01.
const EPOCH_JULIAN: i32 = 2_440_588;

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match time::Date::from_julian_day(EPOCH_JULIAN + self.0 as i32) {
            Ok(d) => write!(f, "{}", d.format(Self::FORMAT).map_err(|_| std::fmt::Error)?),
            Err(_) => write!(f, "day {}", self.0),
        }
    }
}

/// What a report is broken down by (`/api/reports/{by}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportBy {
    /// One row per UTC day of the range: the coins that moved that day (from the ledger), the bets
    /// placed that day, and the users who signed up.
    Day,
    /// One row per match starting in the range: its bets, all markets together.
    Match,
    /// One row per market of the matches starting in the range (a match's own options are its
    /// default market, "Match winner").
    Market,
    /// One row per game type of the matches starting in the range.
    Type,
}

impl ReportBy {
    /// As the path and the CSV file's name say it.
    pub fn name(self) -> &'static str {
        match self {
            ReportBy::Day => "day",
            ReportBy::Match => "match",
            ReportBy::Market => "market",
            ReportBy::Type => "type",
        }
    }
}

/// The range, filters, paging and format of a report.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First UTC day, `YYYY-MM-DD` (default: 6 days before `to`).
    pub from: Option<String>,
    /// Last UTC day, included (default: today). At most 366 days from `from`.
    pub to: Option<String>,
    /// Only matches of this game type (not with `by` = `day`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// Rows per page, at most 500 (default 50).
    pub limit: Option<usize>,
    /// `json` (default) or `csv`: every row of the range (no paging) and the totals, as a file.
    pub format: Option<String>,
}

/// A report: a page of rows and the totals of the whole range.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub by: ReportBy,
    /// The range's first and last UTC day, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// Rows in the whole range (days of the range, matches, markets or types).
    pub total: u64,
    pub offset: u64,
    pub items: Vec<ReportRow>,
    /// The whole range at once (`bettors` counts each player once).
    pub totals: ReportRow,
}

/// One row of a report. Coins: `stakes` staked, `payouts` paid to winning bets (stake included),
/// `refunds` returned (void markets, cancelled matches, no result), `open` still staked on bets not
/// settled; `house` = stakes − payouts − refunds (not final while `open` > 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    /// The day (`YYYY-MM-DD`), match id, market id or game type; `total` in the totals.
    pub key: String,
    /// The match's title; `title · market` for a market; the type; empty for a day.
    pub label: String,
    pub bets: i64,
    /// Distinct players who bet.
    pub bettors: i64,
    pub stakes: i64,
    pub payouts: i64,
    pub refunds: i64,
    pub open: i64,
    pub house: i64,
    /// `by` = `day`: users who signed up that day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_users: Option<i64>,
    /// `by` = `day`: coins credited outside betting, by ledger reason — the channel: `payment`
    /// (the payment provider), `grant` (staff; coins taken back count negative), `signup` (the
    /// welcome bonus), and a Lua handler's own reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposits: Option<BTreeMap<String, i64>>,
}

impl ReportRow {
    /// Sets `house` from the other figures.
    pub fn balanced(mut self) -> ReportRow {
        self.house = self.stakes - self.payouts - self.refunds;
        self
    }
}

/// Filters and paging of the audit log (newest first).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this staff member (the name of a token, or `payment-provider`).
    pub who: Option<String>,
    /// Only actions starting with this: `user.grant`, or `match.` for every match action.
    pub action: Option<String>,
    /// Only this target: `match:12`, `user:7`, …
    pub target: Option<String>,
    /// From this UTC day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// To this UTC day, included.
    pub to: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// At most 500 (default 50).
    pub limit: Option<usize>,
}

/// A page of the audit log.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    /// Entries matching the filters.
    pub total: u64,
    pub items: Vec<AuditEntry>,
}

/// Who did what, to what, when.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub target: String,
    /// What was asked (the request's body, as JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Unix ms.
    pub ts: u64,
}

/// `GET /api/users/search`: users whose name contains `q`, or whose id it is; newest first.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Text in the username (any case), or a user id; every user when left out.
    pub q: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// At most 500 (default 50).
    pub limit: Option<usize>,
}

/// A page of users.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub total: u64,
    pub items: Vec<UserRow>,
}

/// A user in a list (`GET /api/users/{id}` has the whole of it).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserRow {
    pub user_id: u64,
    pub username: String,
    pub created_at: u64,
    pub balance: i64,
    pub banned: bool,
}

/// `GET /api/bets`: bets by player, match, market and state, newest first.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BetSearch {
    pub user_id: Option<u64>,
    pub match_id: Option<u64>,
    pub market_id: Option<u64>,
    /// `open`, `won`, `lost` or `refunded`.
    pub state: Option<String>,
    /// Placed from this UTC day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Placed up to this UTC day, included.
    pub to: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// At most 500 (default 50).
    pub limit: Option<usize>,
}

/// A page of bets.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BetList {
    pub total: u64,
    pub items: Vec<BetRow>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BetRow {
    pub bet_id: u64,
    pub user_id: u64,
    pub match_id: u64,
    pub market_id: u64,
    pub option: String,
    pub stake: i64,
    /// Thousandths (1850 = 1.85).
    pub odds: i64,
    /// open, won, lost or refunded.
    pub state: String,
    /// Coins paid back (won: stake × odds; refunded: the stake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<i64>,
    pub ts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<u64>,
}

/// A page size: `limit` (default `default`), 1 to [`MAX_RECORD_PAGE`].
pub fn page_size(limit: Option<usize>, default: usize) -> Result<u64, ApiError> {
    match limit.unwrap_or(default) {
        n @ 1..=MAX_RECORD_PAGE => Ok(n as u64),
        _ => Err(ApiError::invalid("limit", format!("1 to {MAX_RECORD_PAGE}"))),
    }
}

/// `[from, to]` as days: both given, one (a week to or from it), or neither (the last 7 days);
/// `to` not before `from`, at most [`MAX_REPORT_DAYS`] days.
pub fn day_range(from: Option<&str>, to: Option<&str>) -> Result<(Day, Day), ApiError> {
    let parse = |field, t: Option<&str>| t.filter(|t| !t.trim().is_empty()).map(|t| Day::parse(field, t)).transpose();
    let (from, to) = match (parse("from", from)?, parse("to", to)?) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, Day(f.0 + 6)),
        (None, Some(t)) => (Day(t.0 - 6), t),
        (None, None) => (Day(Day::today().0 - 6), Day::today()),
    };
    if to < from {
        return Err(ApiError::invalid("to", "is before from"));
    }
    if to.0 - from.0 + 1 > MAX_REPORT_DAYS {
        return Err(ApiError::invalid("to", format!("at most {MAX_REPORT_DAYS} days from from")));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_and_write_as_dates() {
        assert_eq!(Day::parse("from", "1970-01-01").unwrap(), Day(0));
        let d = Day::parse("from", "2026-12-05").unwrap();
        assert_eq!(d.start_ms(), 1_796_428_800_000);
        assert_eq!(d.to_string(), "2026-12-05");
        assert_eq!(Day(d.0 + 27).to_string(), "2027-01-01");
        assert!(Day::parse("from", "2026-13-01").is_err());
        assert!(Day::parse("from", "yesterday").is_err());
    }

    #[test]
    fn ranges_are_bounded() {
        let (f, t) = day_range(Some("2026-12-01"), None).unwrap();
        assert_eq!((f.to_string(), t.to_string()), ("2026-12-01".into(), "2026-12-07".into()));
        assert!(day_range(Some("2026-12-02"), Some("2026-12-01")).is_err());
        assert!(day_range(Some("2025-01-01"), Some("2026-01-02")).is_err());
        assert!(day_range(Some("2025-01-01"), Some("2026-01-01")).is_ok());
    }
}
