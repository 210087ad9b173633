//! Writing a batch of rows to MySQL: one multi-row statement per table (chunks of 500), rows
//! sorted by key so concurrent dbsvrs lock in the same order. Every statement is idempotent:
//! append-only rows ignore a duplicate id; mutable rows change only for a newer `ver`.

use sqlx::mysql::MySqlDatabaseError;
use sqlx::{MySql, MySqlConnection, QueryBuilder};

use crate::rows::{BetRow, CreditKind, MatchRow, Row};

const CHUNK: usize = 500;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Something about the rows (bad data, a schema that does not fit): retrying the same rows
    /// will fail again.
    #[error("MySQL refused the rows: {0}")]
    Rows(sqlx::Error),
    /// MySQL is unreachable, restarting, or a transient conflict (deadlock): retry later.
    #[error("MySQL is unavailable: {0}")]
    Unavailable(sqlx::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> WriteError {
        // MySQL error numbers that a retry of the same rows cannot fix.
        const ROW_ERRORS: &[u16] = &[1048, 1054, 1146, 1264, 1265, 1292, 1366, 1406, 1452, 3140, 4025];
        let number = match &e {
            sqlx::Error::Database(db) => db.try_downcast_ref::<MySqlDatabaseError>().map(|m| m.number()),
            _ => None,
        };
        match number {
            Some(n) if ROW_ERRORS.contains(&n) => WriteError::Rows(e),
            _ => WriteError::Unavailable(e),
        }
    }
}

/// What a write added that others count: the bets whose row it inserted (first written now), as
/// (time placed, stake) — dbsvr adds them to the day's figures once the transaction commits.
#[derive(Debug, Default)]
pub struct Written {
    pub new_bets: Vec<(u64, i64)>,
    /// Credits whose order (or grant request) id MySQL already holds for another user: not
    /// written (the id is the table's key); the caller holds their records for staff.
    pub conflicts: Vec<CreditConflict>,
}

/// A credit to `uid` under an id already credited to `first_uid`. Redis keeps a payment's
/// idempotency record in the paid user's shard (docs/scaling.md), so the same order id sent for
/// two users credits both there; MySQL, keyed by the order id, is where that shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditConflict {
    pub kind: CreditKind,
    pub id: String,
    pub uid: u64,
    pub first_uid: u64,
}

/// Writes `rows` on `conn` (the caller owns the transaction).
pub async fn write(conn: &mut MySqlConnection, rows: &[Row]) -> Result<Written, WriteError> {
    let mut written = Written::default();
    let mut users = Vec::new();
    let mut wallets = Vec::new();
    let mut bans = Vec::new();
    let mut ledger = Vec::new();
    let mut matches = Vec::new();
    let mut bets = Vec::new();
    let mut credits = Vec::new();
    let mut audits = Vec::new();
    let mut orders = Vec::new();
    let mut profiles = Vec::new();
    let mut events = Vec::new();
    let mut staff = Vec::new();
    for r in rows {
        match r {
            Row::User { .. } => users.push(r),
            Row::Wallet { .. } => wallets.push(r),
            Row::UserBan { .. } => bans.push(r),
            Row::Ledger { .. } => ledger.push(r),
            Row::Match(m) => matches.push(m),
            Row::Bet(b) => bets.push(b),
            Row::Credit { .. } => credits.push(r),
            Row::Audit { .. } => audits.push(r),
            Row::Order { .. } => orders.push(r),
            Row::Profile { .. } => profiles.push(r),
            Row::AccountEvent { .. } => events.push(r),
            Row::Staff { .. } => staff.push(r),
        }
    }
    users.sort_by_key(|r| if let Row::User { id, ver, .. } = r { (*id, *ver) } else { (0, 0) });
    wallets.sort_by_key(|r| if let Row::Wallet { uid, ver, .. } = r { (*uid, *ver) } else { (0, 0) });
    bans.sort_by_key(|r| if let Row::UserBan { uid, ver, .. } = r { (*uid, *ver) } else { (0, 0) });
    matches.sort_by_key(|m| (m.id, m.ver));
    bets.sort_by_key(|b| (b.id, b.ver));
    profiles.sort_by_key(|r| if let Row::Profile { uid, ver, .. } = r { (*uid, *ver) } else { (0, 0) });
    orders.sort_by(|a, b| match (a, b) {
        (Row::Order { id: x, ver: v, .. }, Row::Order { id: y, ver: w, .. }) => (x, v).cmp(&(y, w)),
        _ => std::cmp::Ordering::Equal,
    });

    for chunk in users.chunks(CHUNK) {
        let mut q =
            QueryBuilder::<MySql>::new("INSERT INTO users (id, username, pw, created_at, device, deleted_at, ver) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::User { id, username, pw, created_at, device, deleted_at, ver } = r {
                b.push_bind(*id)
                    .push_bind(username)
                    .push_bind(pw)
                    .push_bind(*created_at)
                    .push_bind(device)
                    .push_bind(*deleted_at)
                    .push_bind(*ver);
            }
        });
        q.push(newer_wins(&["username", "pw", "device", "deleted_at"]));
        q.build().execute(&mut *conn).await?;
    }
    for chunk in wallets.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO wallets (uid, balance, ver) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::Wallet { uid, balance, ver } = r {
                b.push_bind(*uid).push_bind(*balance).push_bind(*ver);
            }
        });
        q.push(" ON DUPLICATE KEY UPDATE balance = IF(VALUES(ver) > ver, VALUES(balance), balance), ver = GREATEST(ver, VALUES(ver))");
        q.build().execute(&mut *conn).await?;
    }
    for chunk in bans.chunks(CHUNK) {
        let mut q =
            QueryBuilder::<MySql>::new("INSERT INTO user_bans (uid, banned, reason, changed_by, changed_at, ver) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::UserBan { uid, banned, reason, by, at, ver } = r {
                b.push_bind(*uid).push_bind(*banned).push_bind(reason).push_bind(by).push_bind(*at).push_bind(*ver);
            }
        });
        q.push(newer_wins(&["banned", "reason", "changed_by", "changed_at"]));
        q.build().execute(&mut *conn).await?;
    }
    staff.sort_by(|a, b| match (a, b) {
        (Row::Staff { name: x, ver: v, .. }, Row::Staff { name: y, ver: w, .. }) => (x, v).cmp(&(y, w)),
        _ => std::cmp::Ordering::Equal,
    });
    for chunk in staff.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new(
            "INSERT INTO staff (name, role, pw, totp_secret, disabled, created_by, created_at, updated_at, ver) ",
        );
        q.push_values(chunk, |mut b, r| {
            if let Row::Staff { name, role, pw, totp_secret, disabled, created_by, created_at, updated_at, ver } = r {
                b.push_bind(name)
                    .push_bind(role)
                    .push_bind(pw)
                    .push_bind(totp_secret)
                    .push_bind(*disabled)
                    .push_bind(created_by)
                    .push_bind(*created_at)
                    .push_bind(*updated_at)
                    .push_bind(*ver);
            }
        });
        q.push(newer_wins(&["role", "pw", "totp_secret", "disabled", "updated_at"]));
        q.build().execute(&mut *conn).await?;
    }
    for chunk in profiles.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO profiles (uid, nickname, avatar_url, ver) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::Profile { uid, nickname, avatar, ver } = r {
                b.push_bind(*uid).push_bind(nickname).push_bind(avatar).push_bind(*ver);
            }
        });
        q.push(newer_wins(&["nickname", "avatar_url"]));
        q.build().execute(&mut *conn).await?;
    }
    for chunk in orders.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new(
            "INSERT INTO orders (order_id, uid, amount, currency, channel, created_by, state, created_at, paid_at, balance, ver) ",
        );
        q.push_values(chunk, |mut b, r| {
            if let Row::Order {
                id,
                uid,
                amount,
                currency,
                channel,
                created_by,
                state,
                created_at,
                paid_at,
                balance,
                ver,
            } = r
            {
                b.push_bind(id)
                    .push_bind(*uid)
                    .push_bind(*amount)
                    .push_bind(currency)
                    .push_bind(channel)
                    .push_bind(created_by)
                    .push_bind(state)
                    .push_bind(*created_at)
                    .push_bind(*paid_at)
                    .push_bind(*balance)
                    .push_bind(*ver);
            }
        });
        q.push(newer_wins(&["state", "paid_at", "balance"]));
        q.build().execute(&mut *conn).await?;
    }
    for chunk in ledger.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO ledger (id, uid, delta, balance, reason, ref, ts) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::Ledger { id, uid, delta, balance, reason, reference, ts } = r {
                b.push_bind(id)
                    .push_bind(*uid)
                    .push_bind(*delta)
                    .push_bind(*balance)
                    .push_bind(reason)
                    .push_bind(reference)
                    .push_bind(*ts);
            }
        });
        q.push(" ON DUPLICATE KEY UPDATE id = id");
        q.build().execute(&mut *conn).await?;
    }
    for chunk in matches.chunks(CHUNK) {
        write_matches(conn, chunk).await?;
    }
    for chunk in bets.chunks(CHUNK) {
        written.new_bets.extend(new_bets(conn, chunk).await?);
        write_bets(conn, chunk).await?;
    }
    for chunk in credits.chunks(CHUNK) {
        for kind in [CreditKind::Payment, CreditKind::Grant] {
            let of_kind: Vec<&&Row> =
                chunk.iter().filter(|r| matches!(r, Row::Credit { kind: k, .. } if *k == kind)).collect();
            if of_kind.is_empty() {
                continue;
            }
            let (table, id_col) = match kind {
                CreditKind::Payment => ("payments", "order_id"),
                CreditKind::Grant => ("grant_requests", "request_id"),
            };
            // The owner of each id: MySQL's row, else the first credit of it in this chunk.
            let mut owners: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
            let mut q = QueryBuilder::<MySql>::new(format!("SELECT {id_col}, uid FROM {table} WHERE {id_col} IN ("));
            let mut ids = q.separated(", ");
            for r in &of_kind {
                if let Row::Credit { id, .. } = r {
                    ids.push_bind(id);
                }
            }
            q.push(") FOR UPDATE");
            for (id, uid) in q.build_query_as::<(String, u64)>().fetch_all(&mut *conn).await? {
                owners.insert(id, uid);
            }
            let mut fresh = Vec::with_capacity(of_kind.len());
            for r in of_kind {
                if let Row::Credit { id, uid, .. } = r {
                    let first_uid = *owners.entry(id.clone()).or_insert(*uid);
                    if first_uid == *uid {
                        fresh.push(r);
                    } else {
                        written.conflicts.push(CreditConflict { kind, id: id.clone(), uid: *uid, first_uid });
                    }
                }
            }
            if fresh.is_empty() {
                continue;
            }
            let of_kind = fresh;
            let mut q =
                QueryBuilder::<MySql>::new(format!("INSERT INTO {table} ({id_col}, uid, amount, balance, ts) "));
            q.push_values(of_kind, |mut b, r| {
                if let Row::Credit { id, uid, amount, balance, ts, .. } = r {
                    b.push_bind(id).push_bind(*uid).push_bind(*amount).push_bind(*balance).push_bind(*ts);
                }
            });
            q.push(format!(" ON DUPLICATE KEY UPDATE {id_col} = {id_col}"));
            q.build().execute(&mut *conn).await?;
        }
    }
    for chunk in events.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO account_events (id, uid, kind, detail, ts) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::AccountEvent { id, uid, kind, detail, ts } = r {
                b.push_bind(id).push_bind(*uid).push_bind(kind).push_bind(detail).push_bind(*ts);
            }
        });
        q.push(" ON DUPLICATE KEY UPDATE id = id");
        q.build().execute(&mut *conn).await?;
    }
    for chunk in audits.chunks(CHUNK) {
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO gm_audit (id, who, role, action, target, payload, ts) ");
        q.push_values(chunk, |mut b, r| {
            if let Row::Audit { id, who, role, action, target, payload, ts } = r {
                b.push_bind(id)
                    .push_bind(who)
                    .push_bind(role)
                    .push_bind(action)
                    .push_bind(target)
                    .push_bind(payload)
                    .push_bind(*ts);
            }
        });
        q.push(" ON DUPLICATE KEY UPDATE id = id");
        q.build().execute(&mut *conn).await?;
    }
    Ok(written)
}

async fn write_matches(conn: &mut MySqlConnection, chunk: &[&MatchRow]) -> Result<(), WriteError> {
    let mut q = QueryBuilder::<MySql>::new(
        "INSERT INTO matches (id, parent_id, market, stream_url, type, title, team_a, team_b, start_at, state, live, \
         options, odds_ver, min_stake, max_stake, result, external_id, settled, paid, created_at, updated_at, ver) ",
    );
    q.push_values(chunk, |mut b, m| {
        b.push_bind(m.id)
            .push_bind(m.parent_id)
            .push_bind(&m.market)
            .push_bind(&m.stream_url)
            .push_bind(&m.kind)
            .push_bind(&m.title)
            .push_bind(&m.team_a)
            .push_bind(&m.team_b)
            .push_bind(m.start_at)
            .push_bind(m.state)
            .push_bind(m.live)
            .push_bind(&m.options)
            .push_bind(m.odds_ver)
            .push_bind(m.min_stake)
            .push_bind(m.max_stake)
            .push_bind(&m.result)
            .push_bind(&m.external_id)
            .push_bind(m.settled)
            .push_bind(m.paid)
            .push_bind(m.created_at)
            .push_bind(m.updated_at)
            .push_bind(m.ver);
    });
    let cols = [
        "market",
        "stream_url",
        "type",
        "title",
        "team_a",
        "team_b",
        "start_at",
        "state",
        "live",
        "options",
        "odds_ver",
        "min_stake",
        "max_stake",
        "result",
        "settled",
        "paid",
        "updated_at",
    ];
    q.push(newer_wins(&cols));
    q.build().execute(&mut *conn).await?;

    let mut h =
        QueryBuilder::<MySql>::new("INSERT INTO match_states (match_id, ver, state, live, odds_ver, options, ts) ");
    h.push_values(chunk, |mut b, m| {
        b.push_bind(m.id)
            .push_bind(m.ver)
            .push_bind(m.state)
            .push_bind(m.live)
            .push_bind(m.odds_ver)
            .push_bind(&m.options)
            .push_bind(m.updated_at);
    });
    h.push(" ON DUPLICATE KEY UPDATE match_id = match_id");
    h.build().execute(&mut *conn).await?;
    Ok(())
}

/// The bets of `chunk` that have no row yet, once each, as (time placed, stake). Read in the
/// transaction that inserts them, so a batch written again (redelivered after a crash) counts
/// nothing twice; two dbsvrs writing the same new bet at the same moment (a batch the reaper
/// returned while its first consumer was stalled, not dead) could both count it.
async fn new_bets(conn: &mut MySqlConnection, chunk: &[&BetRow]) -> Result<Vec<(u64, i64)>, WriteError> {
    let mut q = QueryBuilder::<MySql>::new("SELECT id FROM bets WHERE id IN (");
    let mut ids = q.separated(", ");
    for b in chunk {
        ids.push_bind(b.id);
    }
    q.push(")");
    let existing: std::collections::HashSet<u64> =
        q.build_query_scalar::<u64>().fetch_all(&mut *conn).await?.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    Ok(chunk.iter().filter(|b| !existing.contains(&b.id) && seen.insert(b.id)).map(|b| (b.ts, b.stake)).collect())
}

async fn write_bets(conn: &mut MySqlConnection, chunk: &[&BetRow]) -> Result<(), WriteError> {
    let mut q = QueryBuilder::<MySql>::new(
        "INSERT INTO bets (id, uid, match_id, market_id, option_key, stake, odds, state, payout, req_id, ts, \
         settled_at, ver) ",
    );
    q.push_values(chunk, |mut b, r| {
        b.push_bind(r.id)
            .push_bind(r.uid)
            .push_bind(r.match_id)
            .push_bind(r.market_id)
            .push_bind(&r.option)
            .push_bind(r.stake)
            .push_bind(r.odds)
            .push_bind(&r.state)
            .push_bind(r.payout)
            .push_bind(&r.req_id)
            .push_bind(r.ts)
            .push_bind(r.settled_at)
            .push_bind(r.ver);
    });
    q.push(
        " ON DUPLICATE KEY UPDATE state = IF(VALUES(ver) > ver, VALUES(state), state), \
         payout = IF(VALUES(ver) > ver, VALUES(payout), payout), \
         settled_at = IF(VALUES(ver) > ver, VALUES(settled_at), settled_at), ver = GREATEST(ver, VALUES(ver))",
    );
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// The `ON DUPLICATE KEY UPDATE` clause of a versioned row: each of `columns` takes the new value
/// only from a row of a higher `ver`, and `ver` keeps the highest.
fn newer_wins(columns: &[&str]) -> String {
    let updates: Vec<String> =
        columns.iter().map(|c| format!("{c} = IF(VALUES(ver) > ver, VALUES({c}), {c})")).collect();
    format!(" ON DUPLICATE KEY UPDATE {}, ver = GREATEST(ver, VALUES(ver))", updates.join(", "))
}
