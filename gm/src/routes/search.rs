//! Users and bets searched and paged in the MySQL record (the console's lists), and the filter
//! builder the record's lists share.

use axum::extract::State;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlArguments;
use sqlx::query::QueryAs;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, ErrorBody, QueryParams};
use crate::model::*;

/// Users whose name contains `q` (any case) or whose id is `q`, newest first.
#[utoipa::path(get, path = "/api/users/search", operation_id = "search_users", tag = "users", params(UserSearch),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 503, description = "MySQL does not answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn users(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    QueryParams(q): QueryParams<UserSearch>,
) -> Result<axum::Json<UserList>, ApiError> {
    let limit = page_size(q.limit, 50)?;
    let mut f = Filter::default();
    if let Some(text) = q.q.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        if text.len() > 64 {
            return Err(ApiError::invalid("q", "at most 64 characters"));
        }
        let like = format!("%{}%", escape_like(&text.to_lowercase()));
        match text.parse::<u64>() {
            Ok(id) => f.clause("(u.id = ? OR LOWER(u.username) LIKE ?)", vec![Arg::Int(id as i64), Arg::Text(like)]),
            Err(_) => f.text("LOWER(u.username) LIKE ?", like),
        }
    }
    let from = "users u LEFT JOIN wallets w ON w.uid = u.id LEFT JOIN user_bans ub ON ub.uid = u.id";
    let total = f.count(&st.mysql, from).await?;
    let rows: Vec<(u64, String, u64, i64, i8)> = f
        .page(
            &st.mysql,
            "u.id, u.username, u.created_at, COALESCE(w.balance, 0), CAST(COALESCE(ub.banned, 0) AS SIGNED)",
            from,
            "u.created_at DESC, u.id DESC",
            limit,
            q.offset,
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|(user_id, username, created_at, balance, banned)| UserRow {
            user_id,
            username,
            created_at,
            balance,
            banned: banned != 0,
        })
        .collect();
    Ok(axum::Json(UserList { total, items }))
}

/// Bets by player, match, market, state and day placed, newest first.
#[utoipa::path(get, path = "/api/bets", operation_id = "search_bets", tag = "users", params(BetSearch),
    responses((status = 200, body = BetList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 503, description = "MySQL does not answer", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn bets(
    State(st): State<AppState>,
    Viewer(_viewer): Viewer,
    QueryParams(q): QueryParams<BetSearch>,
) -> Result<axum::Json<BetList>, ApiError> {
    let limit = page_size(q.limit, 50)?;
    let mut f = Filter::default();
    for (col, value) in [("uid = ?", q.user_id), ("match_id = ?", q.match_id), ("market_id = ?", q.market_id)] {
        if let Some(v) = value {
            f.clause(col, vec![Arg::Int(v as i64)]);
        }
    }
    if let Some(state) = q.state.filter(|s| !s.is_empty()) {
        if !["open", "won", "lost", "refunded"].contains(&state.as_str()) {
            return Err(ApiError::invalid("state", "open, won, lost or refunded"));
        }
        f.text("state = ?", state);
    }
    f.days(q.from.as_deref(), q.to.as_deref())?;
    let total = f.count(&st.mysql, "bets").await?;
    type Row = (u64, u64, u64, u64, String, i64, i64, String, Option<i64>, u64, Option<u64>);
    let rows: Vec<Row> = f
        .page(
            &st.mysql,
            "id, uid, match_id, market_id, option_key, stake, odds, state, payout, ts, settled_at",
            "bets",
            "ts DESC, id DESC",
            limit,
            q.offset,
        )
        .await?;
    let items = rows
        .into_iter()
        .map(|(bet_id, user_id, match_id, market_id, option, stake, odds, state, payout, ts, settled_at)| BetRow {
            bet_id,
            user_id,
            match_id,
            market_id,
            option,
            stake,
            odds,
            state,
            payout,
            ts,
            settled_at,
        })
        .collect();
    Ok(axum::Json(BetList { total, items }))
}

/// A bound value of a [`Filter`].
#[derive(Clone, Debug)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// The WHERE clauses of a list over the record, with their values, for its count and its page.
#[derive(Debug, Default)]
pub struct Filter {
    clauses: Vec<&'static str>,
    args: Vec<Arg>,
}

impl Filter {
    pub fn clause(&mut self, sql: &'static str, args: Vec<Arg>) {
        self.clauses.push(sql);
        self.args.extend(args);
    }

    pub fn text(&mut self, sql: &'static str, value: String) {
        self.clause(sql, vec![Arg::Text(value)]);
    }

    /// `ts` (Unix ms) within the UTC days `from`..`to` (both included), each optional.
    pub fn days(&mut self, from: Option<&str>, to: Option<&str>) -> Result<(), ApiError> {
        if let Some(from) = from.filter(|s| !s.is_empty()) {
            self.clause("ts >= ?", vec![Arg::Int(Day::parse("from", from)?.start_ms())]);
        }
        if let Some(to) = to.filter(|s| !s.is_empty()) {
            self.clause("ts < ?", vec![Arg::Int(Day(Day::parse("to", to)?.0 + 1).start_ms())]);
        }
        Ok(())
    }

    fn sql(&self) -> String {
        match self.clauses.is_empty() {
            true => String::new(),
            false => format!("WHERE {}", self.clauses.join(" AND ")),
        }
    }

    fn bound<'q, O>(
        &self,
        mut q: QueryAs<'q, sqlx::MySql, O, MySqlArguments>,
    ) -> QueryAs<'q, sqlx::MySql, O, MySqlArguments> {
        for a in &self.args {
            q = match a.clone() {
                Arg::Int(n) => q.bind(n),
                Arg::Text(t) => q.bind(t),
            };
        }
        q
    }

    /// Rows of `from` matching the filter.
    pub async fn count(&self, pool: &MySqlPool, from: &str) -> Result<u64, ApiError> {
        let sql = format!("SELECT COUNT(*) FROM {from} {}", self.sql());
        let (n,): (i64,) = self.bound(sqlx::query_as(&sql)).fetch_one(pool).await?;
        Ok(n as u64)
    }

    /// One page of `cols` of `from` matching the filter, in `order`.
    pub async fn page<O>(
        &self,
        pool: &MySqlPool,
        cols: &str,
        from: &str,
        order: &str,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<O>, ApiError>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
    {
        let sql = format!("SELECT {cols} FROM {from} {} ORDER BY {order} LIMIT {limit} OFFSET {offset}", self.sql());
        Ok(self.bound(sqlx::query_as(&sql)).fetch_all(pool).await?)
    }
}

/// `text` with LIKE's wildcards escaped.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A LIKE pattern: values starting with `text`.
pub fn like_prefix(text: &str) -> String {
    format!("{}%", escape_like(text))
}
