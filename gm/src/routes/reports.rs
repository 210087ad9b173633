//! Reports over a date range, from the MySQL record: by day (the ledger's coins, bets placed,
//! sign-ups), by match, market and game type (the bets of the matches starting in the range).
//! JSON pages with the totals of the whole range, or every row as CSV.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sqlx::MySqlPool;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ErrorBody, PathParam, QueryParams};
use crate::model::*;

/// A report over `from`..`to` (UTC days, both included), by day, match, market or game type.
/// Computed from the MySQL record, which follows Redis within dbsvr's flush (normally well under a
/// second). Logins are not in the record: players active on a day are its `bettors`.
#[utoipa::path(get, path = "/api/reports/{by}", operation_id = "get_report", tag = "reports",
    params(("by" = ReportBy, Path, description = "day, match, market or type"), ReportQuery),
    responses((status = 200, body = Report, description = "JSON; with format=csv, text/csv with every row and a last `total` row"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 503, description = "MySQL does not answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    PathParam(by): PathParam<ReportBy>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = day_range(q.from.as_deref(), q.to.as_deref())?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::invalid("format", format!("{other:?}: json or csv"))),
    };
    let kind = q.kind.filter(|k| !k.is_empty());
    if let Some(k) = &kind {
        if by == ReportBy::Day {
            return Err(ApiError::invalid("type", "not with a report by day"));
        }
        if !st.cfg.matches.types.contains(k) {
            return Err(ApiError::invalid("type", format!("unknown type {k:?}")));
        }
    }
    let range = Range { from, to, kind };
    let (offset, limit) = if csv { (0, MAX_CSV_ROWS) } else { (q.offset, page_size(q.limit, 50)?) };
    let report = match by {
        ReportBy::Day => by_day(&st.mysql, &range, offset, limit).await?,
        _ => by_bets(&st.mysql, by, &range, offset, limit).await?,
    };
    if !csv {
        return Ok(axum::Json(report).into_response());
    }
    if report.total > MAX_CSV_ROWS {
        return Err(ApiError::invalid("to", format!("{} rows: at most {MAX_CSV_ROWS} per export", report.total)));
    }
    let name = format!("matchday-{}-{}-{}.csv", by.name(), report.from, report.to);
    let body = to_csv(&report).map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

/// The range of a report: UTC days, both included, and the game type.
struct Range {
    from: Day,
    to: Day,
    kind: Option<String>,
}

impl Range {
    /// `[start, end)` in Unix ms.
    fn ms(&self) -> (i64, i64) {
        (self.from.start_ms(), Day(self.to.0 + 1).start_ms())
    }
}

/// By day: each day of the page, and the range's totals. Coins come from the ledger (what moved
/// that day: stakes of bets placed, payouts and refunds made, deposits by reason); bets, bettors
/// and `open` from the bets placed that day; new users from sign-ups.
async fn by_day(pool: &MySqlPool, range: &Range, offset: u64, limit: u64) -> Result<Report, ApiError> {
    let total = (range.to.0 - range.from.0 + 1) as u64;
    let first = range.from.0 + offset.min(total) as i64;
    let last = (first + limit as i64 - 1).min(range.to.0);
    let page = Range { from: Day(first), to: Day(last), kind: None };
    let mut rows: BTreeMap<i64, ReportRow> = (first..=last).map(|d| (d, day_row(Day(d).to_string()))).collect();
    if first <= last {
        for (day, figures) in day_figures(pool, &page, true).await? {
            if let Some(row) = rows.get_mut(&day) {
                *row = ReportRow { key: row.key.clone(), ..figures };
            }
        }
    }
    let totals = day_figures(pool, range, false).await?.into_iter().next().map(|(_, row)| row).unwrap_or_default();
    Ok(Report {
        by: ReportBy::Day,
        from: range.from.to_string(),
        to: range.to.to_string(),
        total,
        offset,
        items: rows.into_values().map(ReportRow::balanced).collect(),
        totals: ReportRow { key: "total".into(), ..totals }.balanced(),
    })
}

/// A day's row before its figures: zeros, none new, no deposits.
fn day_row(key: String) -> ReportRow {
    ReportRow { key, new_users: Some(0), deposits: Some(BTreeMap::new()), ..Default::default() }
}

/// The day figures of `range`, per day (`daily`) or over the whole range (one row, day 0).
async fn day_figures(pool: &MySqlPool, range: &Range, daily: bool) -> Result<BTreeMap<i64, ReportRow>, ApiError> {
    let (start, end) = range.ms();
    let day =
        |col: &str| if daily { format!("CAST({col} DIV 86400000 AS SIGNED)") } else { "CAST(0 AS SIGNED)".into() };
    let group = if daily { "GROUP BY 1" } else { "" };
    let mut rows: BTreeMap<i64, ReportRow> = BTreeMap::new();
    let blank = || day_row(String::new());
    let ledger: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
        "SELECT {}, reason, CAST(SUM(delta) AS SIGNED) FROM ledger WHERE ts >= ? AND ts < ? GROUP BY 1, reason",
        day("ts")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for (d, reason, sum) in ledger {
        let row = rows.entry(d).or_insert_with(blank);
        match reason.as_str() {
            "bet" => row.stakes -= sum,
            "payout" => row.payouts += sum,
            "refund" => row.refunds += sum,
            _ => *row.deposits.get_or_insert_default().entry(reason).or_default() += sum,
        }
    }
    let bets: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT {}, COUNT(*), COUNT(DISTINCT uid), CAST(COALESCE(SUM(IF(state = 'open', stake, 0)), 0) AS SIGNED) \
         FROM bets WHERE ts >= ? AND ts < ? {group}",
        day("ts")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for (d, count, bettors, open) in bets {
        let row = rows.entry(d).or_insert_with(blank);
        (row.bets, row.bettors, row.open) = (count, bettors, open);
    }
    let users: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT {}, COUNT(*) FROM users WHERE created_at >= ? AND created_at < ? {group}",
        day("created_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for (d, count) in users {
        rows.entry(d).or_insert_with(blank).new_users = Some(count);
    }
    Ok(rows)
}

/// By match, market or type: the bets of the matches starting in the range (every market of a
/// match with it), a page of rows and the totals.
async fn by_bets(pool: &MySqlPool, by: ReportBy, range: &Range, offset: u64, limit: u64) -> Result<Report, ApiError> {
    let (start, end) = range.ms();
    // m: the matches starting in the range; mk: their markets (a match row is its default market).
    let (from, key, label, order) = match by {
        ReportBy::Match => (
            "matches m LEFT JOIN bets b ON b.match_id = m.id",
            "CAST(m.id AS CHAR)",
            "m.title",
            "GROUP BY m.id, m.title, m.start_at ORDER BY m.start_at, m.id",
        ),
        ReportBy::Market => (
            "matches m JOIN matches mk ON mk.id = m.id OR mk.parent_id = m.id LEFT JOIN bets b ON b.market_id = mk.id",
            "CAST(mk.id AS CHAR)",
            "CONCAT(m.title, ' · ', IF(mk.market = '', 'Match winner', mk.market))",
            "GROUP BY mk.id, m.id, m.title, mk.market, m.start_at ORDER BY m.start_at, m.id, mk.id",
        ),
        ReportBy::Type => {
            ("matches m LEFT JOIN bets b ON b.match_id = m.id", "m.type", "m.type", "GROUP BY m.type ORDER BY m.type")
        }
        ReportBy::Day => unreachable!("by_day"),
    };
    let filter = if range.kind.is_some() { "AND m.type = ?" } else { "" };
    let figures = "COUNT(b.id), COUNT(DISTINCT b.uid), \
        CAST(COALESCE(SUM(b.stake), 0) AS SIGNED), \
        CAST(COALESCE(SUM(IF(b.state = 'won', b.payout, 0)), 0) AS SIGNED), \
        CAST(COALESCE(SUM(IF(b.state = 'refunded', b.stake, 0)), 0) AS SIGNED), \
        CAST(COALESCE(SUM(IF(b.state = 'open', b.stake, 0)), 0) AS SIGNED)";
    let scope = format!("FROM {from} WHERE m.parent_id = 0 AND m.start_at >= ? AND m.start_at < ? {filter}");
    let page_sql = format!("SELECT {key}, {label}, {figures} {scope} {order} LIMIT {limit} OFFSET {offset}");
    let totals_sql = format!("SELECT 'total', '', {figures} {scope}");
    let count_of = match by {
        ReportBy::Match => "COUNT(DISTINCT m.id)",
        ReportBy::Market => "COUNT(DISTINCT mk.id)",
        _ => "COUNT(DISTINCT m.type)",
    };
    let count_sql = format!("SELECT {count_of} {scope}");
    let kind = range.kind.as_deref();
    let page: Vec<Figures> = scoped(sqlx::query_as(&page_sql), start, end, kind).fetch_all(pool).await?;
    let totals: Figures = scoped(sqlx::query_as(&totals_sql), start, end, kind).fetch_one(pool).await?;
    let (total,): (i64,) = scoped(sqlx::query_as(&count_sql), start, end, kind).fetch_one(pool).await?;
    Ok(Report {
        by,
        from: range.from.to_string(),
        to: range.to.to_string(),
        total: total as u64,
        offset,
        items: page.into_iter().map(Figures::row).collect(),
        totals: totals.row(),
    })
}

/// key, label, bets, bettors, stakes, payouts, refunds, open.
#[derive(sqlx::FromRow)]
struct Figures(String, String, i64, i64, i64, i64, i64, i64);

impl Figures {
    fn row(self) -> ReportRow {
        let Figures(key, label, bets, bettors, stakes, payouts, refunds, open) = self;
        ReportRow { key, label, bets, bettors, stakes, payouts, refunds, open, ..Default::default() }.balanced()
    }
}

/// Binds a `scope`'s parameters: the range, and the type when filtered by one.
fn scoped<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::MySql, O, sqlx::mysql::MySqlArguments>,
    start: i64,
    end: i64,
    kind: Option<&'q str>,
) -> sqlx::query::QueryAs<'q, sqlx::MySql, O, sqlx::mysql::MySqlArguments> {
    let q = q.bind(start).bind(end);
    match kind {
        Some(k) => q.bind(k),
        None => q,
    }
}

/// The report as CSV: a header, its rows, and a last `total` row. By day, a column per deposit
/// reason seen in the range.
fn to_csv(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let reasons: BTreeSet<&String> =
        report.items.iter().chain([&report.totals]).flat_map(|r| r.deposits.iter().flat_map(|d| d.keys())).collect();
    let day = report.by == ReportBy::Day;
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut head: Vec<String> =
        ["key", "label", "bets", "bettors", "stakes", "payouts", "refunds", "open", "house"].map(String::from).to_vec();
    if day {
        head.push("new_users".into());
        head.extend(reasons.iter().map(|r| format!("deposits_{r}")));
    }
    out.write_record(&head)?;
    for row in report.items.iter().chain([&report.totals]) {
        let mut rec = vec![row.key.clone(), row.label.clone()];
        rec.extend(
            [row.bets, row.bettors, row.stakes, row.payouts, row.refunds, row.open, row.house].map(|n| n.to_string()),
        );
        if day {
            rec.push(row.new_users.unwrap_or(0).to_string());
            let deposits = row.deposits.clone().unwrap_or_default();
            rec.extend(reasons.iter().map(|r| deposits.get(*r).copied().unwrap_or(0).to_string()));
        }
        out.write_record(&rec)?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}
