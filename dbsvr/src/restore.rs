//! `matchday restore`: rebuilds the Redis state from MySQL into an empty prefix — the
//! disaster-recovery path when Redis lost its data.
//!
//! Written, in the shapes the Lua scripts keep (so every script and reader works on the result):
//!
//! | from MySQL | Redis |
//! |---|---|
//! | `users` | `user:{uid}` {id, username, pw, created_at}; `uname:{lowercased name}` {uid, reg: ""} |
//! | `user_bans` | `user:{uid}` {banned, ban_ver, and while banned ban_reason, banned_by, banned_at} |
//! | `wallets` | `wallet:{uid}` {balance, ver} |
//! | `ledger` | `ledger:{uid}`: MessagePack {id, uid, delta, balance, reason, ref, ts}, newest (highest wallet version) first |
//! | `payments`, `grant_requests` | `payment:{order_id}`, `grant:{request_id}` {uid, delta, balance, ts, ledger} |
//! | `matches` | `match:{mid}` (every field the scripts keep; `settled`/`paid` from the settled bets), `matches:pending` or `matches:{list,doing,finished}:{all,type}` (score start_at), `match:ext:{external_id}` |
//! | `bets` | `bet:{bid}`; `match:{mid}:bets`, `user:{uid}:bets` (score ts); `match:{mid}:pool`; `match:{mid}:open` ("bid:uid" of open bets); `match:{mid}:bettors`; `idem:{uid}` (req_id → "bid:balance_after:odds") |
//! | `users`, `bets` by day | `stats:{reg,bets,volume}:{day}` |
//! | — | `seq:user`, `seq:match`, `seq:bet` = the highest ids |
//!
//! Work that was pending when Redis was lost is queued again: `auto_start` (and future `reminder`)
//! events in `sched` for matches that have not started, and a settle / refund job on `q:settle` for
//! matches left settling (3), cancelled (6) or without a result (7); resultcenter settles exactly
//! the bets still open, so a job for a match already partly settled pays nothing twice.
//!
//! Not restored: sessions (players log in again), notifications kept for offline users
//! (`inbox:{uid}`), online connections, heartbeats, queues. Redis only ever holds what MySQL
//! holds: changes that never reached MySQL (an unflushed outbox) are lost with Redis.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::{Context, bail};
use bytes::Bytes;
use common::Redis;
use common::events::{Event, SettleJob};
use fred::clients::Pipeline;
use fred::prelude::*;
use protocol::matches::{Index, MatchState};
use serde::Serialize;
use sqlx::{FromRow, MySqlPool};

/// Rows read per MySQL query.
const ROWS: u64 = 2000;
/// Users whose ledgers are read per MySQL query.
const LEDGER_USERS: u64 = 500;
/// Redis commands per pipeline.
const PIPELINE: usize = 1000;
/// Values per list/zset command.
const VALUES: usize = 1000;

/// How to restore.
#[derive(Clone, Debug)]
pub struct Options {
    /// `pushsvr.reminder_before_ms`: reminders due after now are scheduled again (0: none).
    pub reminder_before_ms: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options { reminder_before_ms: common::Config::defaults().pushsvr.reminder_before_ms }
    }
}

/// What [`run`] wrote.
#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    pub prefix: String,
    pub users: u64,
    /// Users banned now (from `user_bans`).
    pub bans: u64,
    pub wallets: u64,
    pub ledger_entries: u64,
    pub payments: u64,
    pub grants: u64,
    pub matches: u64,
    pub bets: u64,
    pub open_bets: u64,
    /// `idem:{uid}` fields (one per bet with a request id).
    pub idempotency: u64,
    /// Events put back in `sched` (auto starts and reminders).
    pub delayed_events: u64,
    /// Jobs put back on `q:settle`.
    pub settle_jobs: u64,
    /// Days with daily figures.
    pub stats_days: u64,
    /// The id counters set: (key, value).
    pub counters: Vec<(String, u64)>,
    /// Redis commands sent.
    pub commands: u64,
    /// What MySQL lacked to restore something exactly (each names what was left out).
    pub warnings: Vec<String>,
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "restored from MySQL into the prefix {:?}:", self.prefix)?;
        writeln!(f, "  users           {} (and their username index)", self.users)?;
        if self.bans > 0 {
            writeln!(f, "  banned users    {}", self.bans)?;
        }
        writeln!(f, "  wallets         {}", self.wallets)?;
        writeln!(f, "  ledger entries  {}", self.ledger_entries)?;
        writeln!(f, "  payments        {}", self.payments)?;
        writeln!(f, "  grants          {} (with a request id)", self.grants)?;
        writeln!(
            f,
            "  matches         {} (indexed; {} delayed events and {} settlement jobs queued again)",
            self.matches, self.delayed_events, self.settle_jobs
        )?;
        writeln!(
            f,
            "  bets            {} ({} open, {} idempotency records)",
            self.bets, self.open_bets, self.idempotency
        )?;
        writeln!(f, "  daily figures   {} days", self.stats_days)?;
        let counters: Vec<String> = self.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(f, "  counters        {}", counters.join(" "))?;
        writeln!(f, "  redis commands  {}", self.commands)?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        write!(f, "not restored: sessions (players log in again), offline notifications, heartbeats, queues")
    }
}

/// Rebuilds the Redis state under `redis`'s prefix from MySQL, with the default [`Options`].
pub async fn run(redis: &Redis, pool: &MySqlPool) -> anyhow::Result<RestoreReport> {
    run_with(redis, pool, &Options::default()).await
}

/// Rebuilds the Redis state under `redis`'s prefix from MySQL. Refuses unless the schema is one
/// this binary knows and the prefix holds no key at all.
pub async fn run_with(redis: &Redis, pool: &MySqlPool, opts: &Options) -> anyhow::Result<RestoreReport> {
    crate::schema::check(pool).await?;
    ensure_empty(redis).await?;
    let mut report = RestoreReport { prefix: redis.keys.prefix().to_owned(), ..RestoreReport::default() };
    let mut w = Writer::new(redis);
    users(pool, &mut w, &mut report).await.context("restoring users")?;
    bans(pool, &mut w, &mut report).await.context("restoring bans")?;
    wallets(pool, &mut w, &mut report).await.context("restoring wallets")?;
    ledgers(pool, &mut w, &mut report).await.context("restoring ledgers")?;
    credits(pool, &mut w, &mut report, Credit::Payment).await.context("restoring payments")?;
    credits(pool, &mut w, &mut report, Credit::Grant).await.context("restoring grants")?;
    matches(pool, &mut w, &mut report, opts).await.context("restoring matches")?;
    bets(pool, &mut w, &mut report).await.context("restoring bets")?;
    stats(pool, &mut w, &mut report).await.context("restoring daily figures")?;
    counters(pool, &mut w, &mut report).await.context("setting the id counters")?;
    w.flush().await?;
    report.commands = w.sent;
    Ok(report)
}

/// Refuses a prefix that holds any key.
async fn ensure_empty(redis: &Redis) -> anyhow::Result<()> {
    let pattern = redis.keys.all_pattern();
    let client = redis.pool.next();
    let mut cursor = "0".to_owned();
    loop {
        let (next, keys): (String, Vec<String>) = client
            .custom(
                fred::types::CustomCommand::new_static("SCAN", fred::types::ClusterHash::Random, false),
                vec![cursor, "MATCH".into(), pattern.clone(), "COUNT".into(), "1000".into()],
            )
            .await?;
        if let Some(key) = keys.first() {
            bail!(
                "the Redis prefix {:?} is not empty (it holds {key:?}, for one): restore only writes into an empty \
                 prefix; stop every service of this deployment and delete its keys, or restore into another prefix",
                redis.keys.prefix()
            );
        }
        if next == "0" {
            return Ok(());
        }
        cursor = next;
    }
}

/// Queues commands on a pipeline and sends them [`PIPELINE`] at a time, failing on any error.
struct Writer<'a> {
    redis: &'a Redis,
    pipe: Pipeline<Client>,
    queued: usize,
    sent: u64,
}

impl<'a> Writer<'a> {
    fn new(redis: &'a Redis) -> Writer<'a> {
        Writer { redis, pipe: redis.pool.next().pipeline(), queued: 0, sent: 0 }
    }

    async fn queued(&mut self) -> anyhow::Result<()> {
        self.queued += 1;
        if self.queued >= PIPELINE {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.queued == 0 {
            return Ok(());
        }
        let pipe = std::mem::replace(&mut self.pipe, self.redis.pool.next().pipeline());
        let replies: Vec<Result<fred::types::Value, fred::error::Error>> = pipe.try_all().await;
        for r in replies {
            r.context("a Redis write failed; the prefix is partly restored (delete its keys and run restore again)")?;
        }
        self.sent += self.queued as u64;
        self.queued = 0;
        Ok(())
    }

    async fn hset(&mut self, key: String, fields: Vec<(&str, String)>) -> anyhow::Result<()> {
        let _: () = self.pipe.hset(key, fields).await?;
        self.queued().await
    }

    async fn set(&mut self, key: String, value: String) -> anyhow::Result<()> {
        let _: () = self.pipe.set(key, value, None, None, false).await?;
        self.queued().await
    }

    async fn hincrby(&mut self, key: String, field: &str, by: i64) -> anyhow::Result<()> {
        let _: () = self.pipe.hincrby(key, field, by).await?;
        self.queued().await
    }

    async fn rpush(&mut self, key: String, values: Vec<Bytes>) -> anyhow::Result<()> {
        for part in values.chunks(VALUES) {
            let _: () = self.pipe.rpush(key.clone(), part.to_vec()).await?;
            self.queued().await?;
        }
        Ok(())
    }

    async fn lpush(&mut self, key: String, value: Bytes) -> anyhow::Result<()> {
        let _: () = self.pipe.lpush(key, value).await?;
        self.queued().await
    }

    async fn zadd<V>(&mut self, key: String, members: Vec<(f64, V)>) -> anyhow::Result<()>
    where
        V: Into<fred::types::Value> + Clone + Send,
    {
        for part in members.chunks(VALUES) {
            let values: Vec<(f64, fred::types::Value)> = part.iter().map(|(s, m)| (*s, m.clone().into())).collect();
            let _: () = self.pipe.zadd(key.clone(), None, None, false, false, values).await?;
            self.queued().await?;
        }
        Ok(())
    }

    async fn sadd(&mut self, key: String, members: Vec<String>) -> anyhow::Result<()> {
        for part in members.chunks(VALUES) {
            let _: () = self.pipe.sadd(key.clone(), part.to_vec()).await?;
            self.queued().await?;
        }
        Ok(())
    }
}

async fn users(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, String, String, u64)> =
            sqlx::query_as("SELECT id, username, pw, created_at FROM users WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(ROWS)
                .fetch_all(pool)
                .await?;
        for (id, username, pw, created_at) in &page {
            let fields = vec![
                ("id", id.to_string()),
                ("username", username.clone()),
                ("pw", pw.clone()),
                ("created_at", created_at.to_string()),
            ];
            w.hset(k.user(*id), fields).await?;
            // `reg` names the frame that registered the name; that frame is long gone.
            w.hset(k.uname(&username.to_lowercase()), vec![("uid", id.to_string()), ("reg", String::new())]).await?;
            report.users += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

/// The ban state of every user who was ever banned, in the fields user_ban.lua keeps (`ban_ver`
/// too, so a later ban or unban has a newer version than the row).
async fn bans(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, i8, String, String, u64, u64)> = sqlx::query_as(
            "SELECT b.uid, b.banned, b.reason, b.changed_by, b.changed_at, b.ver FROM user_bans b \
             JOIN users u ON u.id = b.uid WHERE b.uid > ? ORDER BY b.uid LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        for (uid, banned, reason, by, at, ver) in &page {
            let flag = if *banned != 0 { "1" } else { "0" };
            let mut fields = vec![("banned", flag.to_owned()), ("ban_ver", ver.to_string())];
            if *banned != 0 {
                fields.extend([
                    ("ban_reason", reason.clone()),
                    ("banned_by", by.clone()),
                    ("banned_at", at.to_string()),
                ]);
                report.bans += 1;
            }
            w.hset(k.user(*uid), fields).await?;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

async fn wallets(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        let page: Vec<(u64, i64, u64)> =
            sqlx::query_as("SELECT uid, balance, ver FROM wallets WHERE uid > ? ORDER BY uid LIMIT ?")
                .bind(after)
                .bind(ROWS)
                .fetch_all(pool)
                .await?;
        for (uid, balance, ver) in &page {
            w.hset(k.wallet(*uid), vec![("balance", balance.to_string()), ("ver", ver.to_string())]).await?;
            report.wallets += 1;
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0,
            _ => return Ok(()),
        }
    }
}

/// A ledger entry exactly as the scripts pack it (cmsgpack of {id, uid, delta, balance, reason, ref, ts}).
#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    uid: u64,
    delta: i64,
    balance: i64,
    reason: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
    ts: u64,
}

/// A `ledger` row: id, uid, delta, balance, reason, ref, ts.
type LedgerRow = (String, u64, i64, i64, String, String, u64);

/// The wallet version in a ledger id "{uid}:{ver}".
fn ledger_ver(id: &str) -> Option<u64> {
    id.rsplit_once(':').and_then(|(_, v)| v.parse().ok())
}

async fn ledgers(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let (max,): (Option<u64>,) = sqlx::query_as("SELECT MAX(uid) FROM ledger").fetch_one(pool).await?;
    let max = max.unwrap_or(0);
    let mut lo = 1u64;
    while lo <= max {
        let hi = lo.saturating_add(LEDGER_USERS - 1).min(max);
        let rows: Vec<LedgerRow> = sqlx::query_as(
            "SELECT id, uid, delta, balance, reason, ref, ts FROM ledger WHERE uid BETWEEN ? AND ? ORDER BY uid",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(pool)
        .await?;
        let mut by_user: BTreeMap<u64, Vec<&LedgerRow>> = BTreeMap::new();
        for r in &rows {
            by_user.entry(r.1).or_default().push(r);
        }
        for (uid, mut entries) in by_user {
            // Newest first: by wallet version (the order the scripts applied them), then time.
            entries.sort_by_key(|e| std::cmp::Reverse((ledger_ver(&e.0).unwrap_or(u64::MAX), e.6)));
            let mut packed = Vec::with_capacity(entries.len());
            for (id, uid, delta, balance, reason, reference, ts) in entries {
                let e = Entry { id, uid: *uid, delta: *delta, balance: *balance, reason, reference, ts: *ts };
                packed.push(Bytes::from(rmp_serde::to_vec_named(&e)?));
            }
            report.ledger_entries += packed.len() as u64;
            w.rpush(k.ledger(uid), packed).await?;
        }
        lo = hi + 1;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Credit {
    Payment,
    Grant,
}

async fn credits(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport, kind: Credit) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let (table, id_col, reason) = match kind {
        Credit::Payment => ("payments", "order_id", "payment"),
        Credit::Grant => ("grant_requests", "request_id", "grant"),
    };
    // The ledger entry of the credit: same user, time, amount and balance, and the reason
    // wallet_change.lua was called with.
    let sql = format!(
        "SELECT c.{id_col}, c.uid, c.amount, c.balance, c.ts, \
           (SELECT l.id FROM ledger l WHERE l.uid = c.uid AND l.ts = c.ts AND l.reason = '{reason}' \
              AND l.delta = c.amount AND l.balance = c.balance LIMIT 1) \
         FROM {table} c WHERE c.{id_col} > ? ORDER BY c.{id_col} LIMIT ?"
    );
    let mut after = String::new();
    loop {
        let page: Vec<(String, u64, i64, i64, u64, Option<String>)> =
            sqlx::query_as(&sql).bind(&after).bind(ROWS).fetch_all(pool).await?;
        for (id, uid, amount, balance, ts, ledger) in &page {
            let mut fields = vec![
                ("uid", uid.to_string()),
                ("delta", amount.to_string()),
                ("balance", balance.to_string()),
                ("ts", ts.to_string()),
            ];
            match ledger {
                Some(l) => fields.push(("ledger", l.clone())),
                None => report.warnings.push(format!(
                    "{reason} {id:?}: no matching ledger row; its record is restored without the `ledger` field"
                )),
            }
            let key = match kind {
                Credit::Payment => k.payment(id),
                Credit::Grant => k.grant(id),
            };
            w.hset(key, fields).await?;
            match kind {
                Credit::Payment => report.payments += 1,
                Credit::Grant => report.grants += 1,
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.0.clone(),
            _ => return Ok(()),
        }
    }
}

#[derive(FromRow)]
struct MatchRow {
    id: u64,
    #[sqlx(rename = "type")]
    kind: String,
    title: String,
    team_a: String,
    team_b: String,
    start_at: u64,
    state: i8,
    live: i8,
    options: String,
    odds_ver: u64,
    min_stake: i64,
    max_stake: i64,
    result: String,
    external_id: String,
    created_at: u64,
    updated_at: u64,
    ver: u64,
}

async fn matches(
    pool: &MySqlPool,
    w: &mut Writer<'_>,
    report: &mut RestoreReport,
    opts: &Options,
) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let now = common::time::now_ms();
    let mut after = 0u64;
    loop {
        let page: Vec<MatchRow> = sqlx::query_as(
            "SELECT id, type, title, team_a, team_b, start_at, state, live, options, odds_ver, min_stake, max_stake, \
             result, external_id, created_at, updated_at, ver FROM matches WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else { return Ok(()) };
        // resultcenter's progress (`settled`, `paid`) counts the match's settled bets; the match row
        // only has it as of the match's last change, so it is taken from the bets.
        let progress: BTreeMap<u64, (i64, Option<i64>)> = sqlx::query_as::<_, (u64, i64, Option<i64>)>(
            "SELECT match_id, COUNT(*), CAST(SUM(payout) AS SIGNED) FROM bets \
             WHERE match_id BETWEEN ? AND ? AND state <> 'open' GROUP BY match_id",
        )
        .bind(first.id)
        .bind(last.id)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(mid, n, paid)| (mid, (n, paid)))
        .collect();
        for m in &page {
            let mut fields = vec![
                ("id", m.id.to_string()),
                ("type", m.kind.clone()),
                ("title", m.title.clone()),
                ("team_a", m.team_a.clone()),
                ("team_b", m.team_b.clone()),
                ("start_at", m.start_at.to_string()),
                ("state", m.state.to_string()),
                ("live", m.live.to_string()),
                ("options", m.options.clone()),
                ("odds_ver", m.odds_ver.to_string()),
                ("min_stake", m.min_stake.to_string()),
                ("max_stake", m.max_stake.to_string()),
                ("result", m.result.clone()),
                ("external_id", m.external_id.clone()),
                ("created_at", m.created_at.to_string()),
                ("updated_at", m.updated_at.to_string()),
                ("ver", m.ver.to_string()),
            ];
            // settle_batch.lua creates both fields with the first settled bet.
            if let Some((settled, paid)) = progress.get(&m.id).filter(|(n, _)| *n > 0) {
                fields.push(("settled", settled.to_string()));
                fields.push(("paid", paid.unwrap_or(0).to_string()));
            }
            w.hset(k.match_(m.id), fields).await?;
            report.matches += 1;
            let member = m.id.to_string();
            let score = m.start_at as f64;
            match MatchState::from_code(m.state as i64) {
                Some(state) => match state.index(m.live == 1) {
                    Index::Pending => w.zadd(k.matches_pending(), vec![(score, member.clone())]).await?,
                    family => {
                        for of in ["all", m.kind.as_str()] {
                            w.zadd(k.matches_index(family.name(), of), vec![(score, member.clone())]).await?;
                        }
                    }
                },
                None => report.warnings.push(format!("match {}: unknown state {}; not indexed", m.id, m.state)),
            }
            if !m.external_id.is_empty() {
                w.set(k.match_ext(&m.external_id), member.clone()).await?;
            }
            // Delayed events of a match that has not started (as match_create.lua schedules them).
            if m.live == 0 && (-1..=2).contains(&m.state) {
                let auto_start = Bytes::from(rmp_serde::to_vec_named(&Event::AutoStart { match_id: m.id })?);
                let mut due = vec![(score, auto_start)];
                let lead = opts.reminder_before_ms;
                if lead > 0 && m.start_at > lead && m.start_at - lead > now {
                    let reminder = Bytes::from(rmp_serde::to_vec_named(&Event::Reminder { match_id: m.id })?);
                    due.push(((m.start_at - lead) as f64, reminder));
                }
                report.delayed_events += due.len() as u64;
                w.zadd(k.sched(), due).await?;
            }
            // Settlement that was due or under way.
            let job = match m.state {
                3 => Some(("settle", m.result.clone())),
                6 | 7 => Some(("refund", String::new())),
                _ => None,
            };
            if let Some((kind, winner)) = job {
                let job = SettleJob { kind: kind.into(), match_id: m.id, winner, ts: now, helper: false, part: 0 };
                w.lpush(k.settle(), Bytes::from(rmp_serde::to_vec_named(&job)?)).await?;
                report.settle_jobs += 1;
            }
        }
        if page.len() as u64 != ROWS {
            return Ok(());
        }
        after = last.id;
    }
}

#[derive(FromRow)]
struct BetRow {
    id: u64,
    uid: u64,
    match_id: u64,
    option_key: String,
    stake: i64,
    odds: i64,
    state: String,
    payout: Option<i64>,
    req_id: String,
    ts: u64,
    settled_at: Option<u64>,
    ver: u64,
    /// The balance right after the stake was taken: the "bet" ledger entry of this bet.
    balance_after: Option<i64>,
}

async fn bets(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut after = 0u64;
    loop {
        // place_bet.lua writes the bet and its ledger entry with the same time; the entry's ref is the bet id.
        let page: Vec<BetRow> = sqlx::query_as(
            "SELECT b.id, b.uid, b.match_id, b.option_key, b.stake, b.odds, b.state, b.payout, b.req_id, b.ts, \
               b.settled_at, b.ver, \
               (SELECT l.balance FROM ledger l WHERE l.uid = b.uid AND l.ts = b.ts AND l.reason = 'bet' \
                  AND CAST(l.ref AS UNSIGNED) = b.id LIMIT 1) AS balance_after \
             FROM bets b WHERE b.id > ? ORDER BY b.id LIMIT ?",
        )
        .bind(after)
        .bind(ROWS)
        .fetch_all(pool)
        .await?;
        let mut by_match: BTreeMap<u64, Vec<(f64, String)>> = BTreeMap::new();
        let mut by_user: BTreeMap<u64, Vec<(f64, String)>> = BTreeMap::new();
        let mut open: BTreeMap<u64, Vec<(f64, String)>> = BTreeMap::new();
        let mut bettors: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        let mut pools: BTreeMap<(u64, String), i64> = BTreeMap::new();
        let mut idem: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        for b in &page {
            let mut fields = vec![
                ("id", b.id.to_string()),
                ("uid", b.uid.to_string()),
                ("match_id", b.match_id.to_string()),
                ("option", b.option_key.clone()),
                ("stake", b.stake.to_string()),
                ("odds", b.odds.to_string()),
                ("state", b.state.clone()),
                ("ts", b.ts.to_string()),
                ("req_id", b.req_id.clone()),
                ("ver", b.ver.to_string()),
            ];
            if let Some(p) = b.payout {
                fields.push(("payout", p.to_string()));
            }
            if let Some(at) = b.settled_at {
                fields.push(("settled_at", at.to_string()));
            }
            w.hset(k.bet(b.id), fields).await?;
            report.bets += 1;
            let ts = b.ts as f64;
            by_match.entry(b.match_id).or_default().push((ts, b.id.to_string()));
            by_user.entry(b.uid).or_default().push((ts, b.id.to_string()));
            bettors.entry(b.match_id).or_default().insert(b.uid.to_string());
            *pools.entry((b.match_id, b.option_key.clone())).or_default() += b.stake;
            if b.state == "open" {
                open.entry(b.match_id).or_default().push((ts, format!("{}:{}", b.id, b.uid)));
                report.open_bets += 1;
            }
            match (b.req_id.is_empty(), b.balance_after) {
                (true, _) => {}
                (false, Some(balance)) => {
                    idem.entry(b.uid).or_default().push((b.req_id.clone(), format!("{}:{balance}:{}", b.id, b.odds)));
                    report.idempotency += 1;
                }
                (false, None) => report.warnings.push(format!(
                    "bet {}: no \"bet\" ledger row for it, so the balance of its first reply is unknown; \
                     its idempotency record (req_id {:?}) is not restored",
                    b.id, b.req_id
                )),
            }
        }
        for (mid, members) in by_match {
            w.zadd(k.match_bets(mid), members).await?;
        }
        for (uid, members) in by_user {
            w.zadd(k.user_bets(uid), members).await?;
        }
        for (mid, members) in open {
            w.zadd(k.match_open(mid), members).await?;
        }
        for (mid, uids) in bettors {
            w.sadd(k.match_bettors(mid), uids.into_iter().collect()).await?;
        }
        for ((mid, option), stake) in pools {
            w.hincrby(k.match_pool(mid), &option, stake).await?;
        }
        for (uid, fields) in idem {
            for part in fields.chunks(VALUES) {
                let fields: Vec<(&str, String)> = part.iter().map(|(f, v)| (f.as_str(), v.clone())).collect();
                w.hset(k.idem(uid), fields).await?;
            }
        }
        match page.last() {
            Some(last) if page.len() as u64 == ROWS => after = last.id,
            _ => return Ok(()),
        }
    }
}

/// The daily counters gm shows (`stats:reg|bets|volume:{day}`), recounted from the rows.
async fn stats(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    let mut days = BTreeSet::new();
    let reg: Vec<(i64, i64)> =
        sqlx::query_as("SELECT CAST(created_at DIV 86400000 AS SIGNED) AS d, COUNT(*) FROM users GROUP BY d")
            .fetch_all(pool)
            .await?;
    for (day, n) in reg {
        w.set(k.stats_day("reg", day as u64), n.to_string()).await?;
        days.insert(day);
    }
    let bets: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT CAST(ts DIV 86400000 AS SIGNED) AS d, COUNT(*), CAST(SUM(stake) AS SIGNED) FROM bets GROUP BY d",
    )
    .fetch_all(pool)
    .await?;
    for (day, n, volume) in bets {
        w.set(k.stats_day("bets", day as u64), n.to_string()).await?;
        w.set(k.stats_day("volume", day as u64), volume.unwrap_or(0).to_string()).await?;
        days.insert(day);
    }
    report.stats_days = days.len() as u64;
    Ok(())
}

/// The id counters, at the highest id in use, so new ids continue after them.
async fn counters(pool: &MySqlPool, w: &mut Writer<'_>, report: &mut RestoreReport) -> anyhow::Result<()> {
    let k = w.redis.keys.clone();
    for (key, name, sql) in [
        (
            k.user_seq(),
            "seq:user",
            "SELECT CAST(GREATEST(COALESCE((SELECT MAX(id) FROM users), 0), COALESCE((SELECT MAX(uid) FROM wallets), 0)) AS UNSIGNED)",
        ),
        (k.match_seq(), "seq:match", "SELECT CAST(COALESCE(MAX(id), 0) AS UNSIGNED) FROM matches"),
        (k.bet_seq(), "seq:bet", "SELECT CAST(COALESCE(MAX(id), 0) AS UNSIGNED) FROM bets"),
    ] {
        let (max,): (u64,) = sqlx::query_as(sql).fetch_one(pool).await?;
        if max > 0 {
            w.set(key, max.to_string()).await?;
        }
        report.counters.push((name.to_owned(), max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_entries_pack_like_the_scripts() {
        let e = Entry { id: "7:3", uid: 7, delta: -50, balance: 950, reason: "bet", reference: "12", ts: 99 };
        let v: serde_json::Value = rmp_serde::from_slice(&rmp_serde::to_vec_named(&e).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "7:3", "uid": 7, "delta": -50, "balance": 950, "reason": "bet", "ref": "12", "ts": 99})
        );
        // What the client ledger (203) reads.
        let item: protocol::body::LedgerItem = rmp_serde::from_slice(&rmp_serde::to_vec_named(&e).unwrap()).unwrap();
        assert_eq!((item.delta, item.reference.as_str()), (-50, "12"));
        assert_eq!((ledger_ver("7:3"), ledger_ver("12:10"), ledger_ver("x")), (Some(3), Some(10), None));
    }
}
