//! `matchday verify`: compares the live state in Redis with the durable record in MySQL.
//!
//! What is compared, for every id of each kind (or a random sample, see [`Options::sample`]):
//!
//! - **users**: the user exists in both stores, with the same username, password hash, ban state and
//!   creation time;
//! - **wallets**: balance and version;
//! - **ledgers**: in each store the sum of a user's ledger deltas equals that store's balance, and
//!   both stores hold the same number of ledger entries;
//! - **bets**: state and payout, and the fields a bet never changes (owner, match, option, stake, odds);
//! - **matches**: state, liveness, result and odds version.
//!
//! Ids are enumerated from 1 to the highest id either store knows (the Redis counters `seq:user`,
//! `seq:bet`, `seq:match`, and the highest id in the MySQL tables); Redis hashes are read with
//! pipelined commands and MySQL rows with `IN (…)` queries, [`CHUNK`] ids at a time. An id that
//! exists in neither store is a gap (an id allocated by a request that was then refused) and is
//! not a difference.
//!
//! Both stores are read while the system may be running: a change that Redis has made and dbsvr
//! has not flushed yet shows as a difference. [`Report::unflushed`] says how many change records
//! were waiting when the comparison started; run verify when it is 0 (or run it twice).

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use common::Redis;
use common::queue::QueueKeys;
use fred::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;
use sqlx::mysql::MySqlRow;
use sqlx::{FromRow, MySql, MySqlPool, QueryBuilder};

/// Ids read per round trip (one Redis pipeline and one MySQL query per kind).
pub const CHUNK: usize = 500;

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Compare `N` ids of each kind (users with their wallets and ledgers, bets, matches) instead of
    /// all of them. The ids are drawn uniformly at random, without repetition, from 1 to the
    /// highest id of the kind (see the module docs); a drawn id that exists in neither store (a
    /// gap) is skipped, so slightly fewer than `N` may be compared. `N` at least the highest id
    /// compares everything.
    pub sample: Option<u64>,
    /// The seed of the random sample (drawn at random when None). The report names the seed, so
    /// a sample can be compared again.
    pub seed: Option<u64>,
}

/// What a difference is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    User,
    Wallet,
    Ledger,
    Bet,
    Match,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Wallet => "wallet",
            Kind::Ledger => "ledger",
            Kind::Bet => "bet",
            Kind::Match => "match",
        }
    }
}

/// One difference between the stores, e.g. `wallet 17: balance redis=900 mysql=1000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub kind: Kind,
    /// The user, bet or match id (wallets and ledgers are named by their user id).
    pub id: u64,
    pub what: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind.name(), self.id, self.what)
    }
}

/// What [`run`] found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every difference, by kind then id.
    pub differences: Vec<Difference>,
    /// Ids compared (existing in at least one store).
    pub users: u64,
    pub bets: u64,
    pub matches: u64,
    /// Ids looked at that exist in neither store (gaps).
    pub gaps: u64,
    /// `(N, seed)` when a sample was compared.
    pub sample: Option<(u64, u64)>,
    /// Change records not yet in MySQL when the comparison started: waiting in q:outbox or
    /// taken by a dbsvr and not yet acked.
    pub unflushed: u64,
    /// Change records dbsvr could never write (q:outbox's dead list); MySQL lacks them.
    pub dead: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }

    /// The differences as printed, one per line.
    pub fn lines(&self) -> Vec<String> {
        self.differences.iter().map(ToString::to_string).collect()
    }

    /// The closing line: what was compared and how many differences were found.
    pub fn summary(&self) -> String {
        let what = match self.sample {
            Some((n, seed)) => format!("a sample of up to {n} ids of each kind (seed {seed}): "),
            None => String::new(),
        };
        let mut s = format!(
            "verify: compared {what}{} users (with their wallets and ledgers), {} bets, {} matches: {} difference{}",
            self.users,
            self.bets,
            self.matches,
            self.differences.len(),
            if self.differences.len() == 1 { "" } else { "s" }
        );
        if self.unflushed > 0 {
            s.push_str(&format!(
                "; note: {} change records were not flushed yet (differences may be flush lag; run again)",
                self.unflushed
            ));
        }
        if self.dead > 0 {
            s.push_str(&format!(
                "; note: {} change records are in the outbox's dead list (MySQL lacks them)",
                self.dead
            ));
        }
        s
    }

    fn diff(&mut self, kind: Kind, id: u64, what: impl Into<String>) {
        self.differences.push(Difference { kind, id, what: what.into() });
    }

    /// Records `field redis=… mysql=…` when the two sides differ.
    fn field(&mut self, kind: Kind, id: u64, field: &str, redis: String, mysql: String) {
        if redis != mysql {
            self.diff(kind, id, format!("{field} redis={redis} mysql={mysql}"));
        }
    }
}

/// The error `matchday verify` ends with when there are differences (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("{0} difference(s) between Redis and MySQL")]
pub struct Differences(pub usize);

/// Compares Redis (`redis`, its prefix) with MySQL (`pool`).
pub async fn run(redis: &Redis, pool: &MySqlPool, opts: Options) -> anyhow::Result<Report> {
    let seed = opts.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let (unflushed, dead) = backlog(redis).await?;
    let mut report = Report { sample: opts.sample.map(|n| (n, seed)), unflushed, dead, ..Report::default() };
    let k = &redis.keys;

    let users = highest(&[
        counter(redis, &k.user_seq()).await?,
        max_id(pool, "SELECT MAX(id) FROM users").await?,
        max_id(pool, "SELECT MAX(uid) FROM wallets").await?,
        max_id(pool, "SELECT MAX(uid) FROM ledger").await?,
    ]);
    for ids in Ids::pick(users, opts.sample, &mut rng).chunks() {
        users_chunk(redis, pool, &ids, &mut report).await?;
    }
    let bets = highest(&[counter(redis, &k.bet_seq()).await?, max_id(pool, "SELECT MAX(id) FROM bets").await?]);
    for ids in Ids::pick(bets, opts.sample, &mut rng).chunks() {
        bets_chunk(redis, pool, &ids, &mut report).await?;
    }
    let matches = highest(&[counter(redis, &k.match_seq()).await?, max_id(pool, "SELECT MAX(id) FROM matches").await?]);
    for ids in Ids::pick(matches, opts.sample, &mut rng).chunks() {
        matches_chunk(redis, pool, &ids, &mut report).await?;
    }
    // By kind, then id; a stable sort keeps each id's differences in the order they were found.
    report.differences.sort_by_key(|d| (d.kind, d.id));
    Ok(report)
}

/// Redis (scripts loaded) and MySQL (a schema this binary knows) of `cfg`, for verify and restore.
pub async fn connect(cfg: &common::Config) -> anyhow::Result<(Redis, MySqlPool)> {
    let pool = crate::pool(&cfg.mysql.url, 4)?;
    crate::schema::check(&pool).await?;
    let redis = Redis::new(&cfg.redis)?;
    redis.ready().await?;
    Ok((redis, pool))
}

/// The ids to compare: all of 1..=max, or a sorted random sample of them.
enum Ids {
    All(u64),
    Picked(Vec<u64>),
}

impl Ids {
    fn pick(max: u64, sample: Option<u64>, rng: &mut StdRng) -> Ids {
        match sample {
            Some(n) if n < max => {
                let mut ids: Vec<u64> =
                    rand::seq::index::sample(rng, max as usize, n as usize).into_iter().map(|i| i as u64 + 1).collect();
                ids.sort_unstable();
                Ids::Picked(ids)
            }
            _ => Ids::All(max),
        }
    }

    fn chunks(&self) -> Box<dyn Iterator<Item = Vec<u64>> + '_> {
        match self {
            Ids::All(max) => {
                let max = *max;
                let step = CHUNK as u64;
                Box::new((0..max.div_ceil(step)).map(move |c| (c * step + 1..=((c + 1) * step).min(max)).collect()))
            }
            Ids::Picked(ids) => Box::new(ids.chunks(CHUNK).map(<[u64]>::to_vec)),
        }
    }
}

fn highest(values: &[u64]) -> u64 {
    values.iter().copied().max().unwrap_or(0)
}

async fn counter(redis: &Redis, key: &str) -> anyhow::Result<u64> {
    let v: Option<u64> = redis.pool.get(key).await?;
    Ok(v.unwrap_or(0))
}

async fn max_id(pool: &MySqlPool, sql: &str) -> anyhow::Result<u64> {
    let (v,): (Option<u64>,) = sqlx::query_as(sql).fetch_one(pool).await?;
    Ok(v.unwrap_or(0))
}

/// Change records waiting for dbsvr (queue + inflight lists), and those it gave up on.
async fn backlog(redis: &Redis) -> anyhow::Result<(u64, u64)> {
    let q = QueueKeys::new(&redis.keys, redis.keys.outbox());
    let mut waiting: u64 = redis.pool.llen(&q.queue).await?;
    let inflight: Vec<String> = redis.pool.hkeys(&q.consumers).await?;
    for list in inflight {
        let n: u64 = redis.pool.llen(&list).await?;
        waiting += n;
    }
    let dead: u64 = redis.pool.llen(&q.dead).await?;
    Ok((waiting, dead))
}

/// HGETALL of every key, in one pipeline.
async fn hashes(redis: &Redis, keys: impl Iterator<Item = String>) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let pipe = redis.pool.next().pipeline();
    for key in keys {
        let _: () = pipe.hgetall(key).await?;
    }
    Ok(Redis::each(pipe).await?)
}

/// Rows of `select` (which ends in `… IN (`) for `ids`, then `tail`.
async fn rows<T>(pool: &MySqlPool, select: &str, ids: &[u64], tail: &str) -> anyhow::Result<Vec<T>>
where
    T: for<'r> FromRow<'r, MySqlRow> + Send + Unpin,
{
    let mut q = QueryBuilder::<MySql>::new(select);
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
    q.push(tail);
    Ok(q.build_query_as::<T>().fetch_all(pool).await?)
}

/// A Redis hash field as compared: the integer it holds, `none` when missing, or the raw text
/// (quoted) when it is not an integer.
fn rnum(h: &HashMap<String, String>, k: &str) -> String {
    match h.get(k) {
        None => "none".into(),
        Some(v) => v.trim().parse::<i64>().map_or_else(|_| format!("{v:?}"), |n| n.to_string()),
    }
}

/// A Redis hash field as compared when it is text: quoted, or `none`.
fn rstr(h: &HashMap<String, String>, k: &str) -> String {
    h.get(k).map_or_else(|| "none".into(), |v| format!("{v:?}"))
}

fn num(v: impl fmt::Display) -> String {
    v.to_string()
}

fn text(v: &str) -> String {
    format!("{v:?}")
}

fn missing(in_redis: bool, in_mysql: bool) -> Option<&'static str> {
    match (in_redis, in_mysql) {
        (true, false) => Some("missing in mysql"),
        (false, true) => Some("missing in redis"),
        _ => None,
    }
}

/// One ledger entry as the scripts write it (only the delta matters here).
#[derive(Deserialize)]
struct Entry {
    delta: i64,
}

async fn users_chunk(redis: &Redis, pool: &MySqlPool, ids: &[u64], report: &mut Report) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_users = hashes(redis, ids.iter().map(|id| k.user(*id))).await?;
    let r_wallets = hashes(redis, ids.iter().map(|id| k.wallet(*id))).await?;
    let pipe = redis.pool.next().pipeline();
    for id in ids {
        let _: () = pipe.lrange(k.ledger(*id), 0, -1).await?;
    }
    let r_ledgers: Vec<Vec<Bytes>> = Redis::each(pipe).await?;

    let m_users: HashMap<u64, (String, String, u64, i64)> = rows::<(u64, String, String, u64, i64)>(
        pool,
        "SELECT u.id, u.username, u.pw, u.created_at, CAST(COALESCE(b.banned, 0) AS SIGNED) \
         FROM users u LEFT JOIN user_bans b ON b.uid = u.id WHERE u.id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|(id, name, pw, at, banned)| (id, (name, pw, at, banned)))
    .collect();
    let m_wallets: HashMap<u64, (i64, u64)> =
        rows::<(u64, i64, u64)>(pool, "SELECT uid, balance, ver FROM wallets WHERE uid IN (", ids, "")
            .await?
            .into_iter()
            .map(|(uid, balance, ver)| (uid, (balance, ver)))
            .collect();
    let m_ledgers: HashMap<u64, (i64, i64)> = rows::<(u64, i64, i64)>(
        pool,
        "SELECT uid, CAST(SUM(delta) AS SIGNED), COUNT(*) FROM ledger WHERE uid IN (",
        ids,
        " GROUP BY uid",
    )
    .await?
    .into_iter()
    .map(|(uid, sum, n)| (uid, (sum, n)))
    .collect();

    for (i, &id) in ids.iter().enumerate() {
        let (ru, rw, rl) = (&r_users[i], &r_wallets[i], &r_ledgers[i]);
        let (mu, mw, ml) = (m_users.get(&id), m_wallets.get(&id), m_ledgers.get(&id));
        if ru.is_empty() && mu.is_none() && rw.is_empty() && mw.is_none() && rl.is_empty() && ml.is_none() {
            report.gaps += 1;
            continue;
        }
        report.users += 1;

        // The user.
        match (ru.is_empty(), mu) {
            (false, Some((name, pw, created_at, banned))) => {
                report.field(Kind::User, id, "username", rstr(ru, "username"), text(name));
                if ru.get("pw") != Some(pw) {
                    report.diff(Kind::User, id, "pw differs (password hashes are not printed)");
                }
                report.field(Kind::User, id, "created_at", rnum(ru, "created_at"), num(created_at));
                let r_banned = ru.get("banned").map_or(0, |b| i64::from(b == "1"));
                report.field(Kind::User, id, "banned", num(r_banned), num(banned));
            }
            (r_empty, m) => {
                if let Some(what) = missing(!r_empty, m.is_some()) {
                    report.diff(Kind::User, id, what);
                }
            }
        }

        // The wallet.
        match (rw.is_empty(), mw) {
            (false, Some((balance, ver))) => {
                report.field(Kind::Wallet, id, "balance", rnum(rw, "balance"), num(balance));
                report.field(Kind::Wallet, id, "ver", rnum(rw, "ver"), num(ver));
            }
            (r_empty, m) => {
                if let Some(what) = missing(!r_empty, m.is_some()) {
                    report.diff(Kind::Wallet, id, what);
                }
            }
        }

        // The ledger: in each store it sums to the balance; both hold as many entries.
        let mut r_sum = 0i64;
        let mut undecodable = 0usize;
        for raw in rl {
            match rmp_serde::from_slice::<Entry>(raw) {
                Ok(e) => r_sum += e.delta,
                Err(_) => undecodable += 1,
            }
        }
        if undecodable > 0 {
            report.diff(Kind::Ledger, id, format!("{undecodable} redis entries are not ledger records"));
        }
        let (m_sum, m_count) = ml.copied().unwrap_or((0, 0));
        if !rw.is_empty() {
            let balance = rnum(rw, "balance");
            if num(r_sum) != balance {
                report.diff(Kind::Ledger, id, format!("redis sum {r_sum} != redis balance {balance}"));
            }
        } else if !rl.is_empty() {
            report.diff(Kind::Ledger, id, format!("redis has {} entries but no wallet", rl.len()));
        }
        match mw {
            Some((balance, _)) if *balance != m_sum => {
                report.diff(Kind::Ledger, id, format!("mysql sum {m_sum} != mysql balance {balance}"));
            }
            None if m_count > 0 => report.diff(Kind::Ledger, id, format!("mysql has {m_count} entries but no wallet")),
            _ => {}
        }
        report.field(Kind::Ledger, id, "entries", num(rl.len()), num(m_count));
    }
    Ok(())
}

type BetRow = (u64, u64, u64, String, i64, i64, String, Option<i64>);

async fn bets_chunk(redis: &Redis, pool: &MySqlPool, ids: &[u64], report: &mut Report) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_bets = hashes(redis, ids.iter().map(|id| k.bet(*id))).await?;
    let m_bets: HashMap<u64, BetRow> = rows::<BetRow>(
        pool,
        "SELECT id, uid, match_id, option_key, stake, odds, state, payout FROM bets WHERE id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|row| (row.0, row))
    .collect();
    for (rb, &id) in r_bets.iter().zip(ids) {
        let Some((_, uid, match_id, option, stake, odds, state, payout)) = m_bets.get(&id) else {
            if rb.is_empty() {
                report.gaps += 1;
            } else {
                report.bets += 1;
                report.diff(Kind::Bet, id, "missing in mysql");
            }
            continue;
        };
        report.bets += 1;
        if rb.is_empty() {
            report.diff(Kind::Bet, id, "missing in redis");
            continue;
        }
        report.field(Kind::Bet, id, "state", rstr(rb, "state"), text(state));
        report.field(Kind::Bet, id, "payout", rnum(rb, "payout"), payout.map_or_else(|| "none".into(), num));
        report.field(Kind::Bet, id, "uid", rnum(rb, "uid"), num(uid));
        report.field(Kind::Bet, id, "match_id", rnum(rb, "match_id"), num(match_id));
        report.field(Kind::Bet, id, "option", rstr(rb, "option"), text(option));
        report.field(Kind::Bet, id, "stake", rnum(rb, "stake"), num(stake));
        report.field(Kind::Bet, id, "odds", rnum(rb, "odds"), num(odds));
    }
    Ok(())
}

async fn matches_chunk(redis: &Redis, pool: &MySqlPool, ids: &[u64], report: &mut Report) -> anyhow::Result<()> {
    let k = &redis.keys;
    let r_matches = hashes(redis, ids.iter().map(|id| k.match_(*id))).await?;
    let m_matches: HashMap<u64, (i8, i8, String, u64)> = rows::<(u64, i8, i8, String, u64)>(
        pool,
        "SELECT id, state, live, result, odds_ver FROM matches WHERE id IN (",
        ids,
        "",
    )
    .await?
    .into_iter()
    .map(|(id, state, live, result, odds_ver)| (id, (state, live, result, odds_ver)))
    .collect();
    for (rm, &id) in r_matches.iter().zip(ids) {
        let Some((state, live, result, odds_ver)) = m_matches.get(&id) else {
            if rm.is_empty() {
                report.gaps += 1;
            } else {
                report.matches += 1;
                report.diff(Kind::Match, id, "missing in mysql");
            }
            continue;
        };
        report.matches += 1;
        if rm.is_empty() {
            report.diff(Kind::Match, id, "missing in redis");
            continue;
        }
        report.field(Kind::Match, id, "state", rnum(rm, "state"), num(state));
        report.field(Kind::Match, id, "live", rnum(rm, "live"), num(live));
        // A match without a result has "" in both stores.
        report.field(Kind::Match, id, "result", rstr(rm, "result"), text(result));
        report.field(Kind::Match, id, "odds_ver", rnum(rm, "odds_ver"), num(odds_ver));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_distinct_sorted_ids_in_range_and_all_means_all() {
        let mut rng = StdRng::seed_from_u64(7);
        let Ids::Picked(ids) = Ids::pick(10_000, Some(600), &mut rng) else { panic!("a sample") };
        assert_eq!(ids.len(), 600);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(ids.iter().all(|id| (1..=10_000).contains(id)));
        let chunks: Vec<Vec<u64>> = Ids::Picked(ids.clone()).chunks().collect();
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![CHUNK, 100]);
        // The same seed draws the same sample.
        let Ids::Picked(again) = Ids::pick(10_000, Some(600), &mut StdRng::seed_from_u64(7)) else { panic!() };
        assert_eq!(again, ids);
        // A sample as big as the range is everything.
        let all: Vec<u64> = Ids::pick(1001, Some(5000), &mut rng).chunks().flatten().collect();
        assert_eq!(all, (1..=1001).collect::<Vec<_>>());
        assert_eq!(Ids::pick(0, None, &mut rng).chunks().count(), 0);
    }

    #[test]
    fn differences_read_as_one_line_each() {
        let mut r = Report::default();
        r.field(Kind::Wallet, 17, "balance", "900".into(), "1000".into());
        r.field(Kind::Wallet, 17, "ver", "3".into(), "3".into());
        r.diff(Kind::Bet, 4, "missing in mysql");
        assert_eq!(r.lines(), vec!["wallet 17: balance redis=900 mysql=1000", "bet 4: missing in mysql"]);
        r.users = 3;
        assert!(r.summary().ends_with("3 users (with their wallets and ledgers), 0 bets, 0 matches: 2 differences"));
        let h: HashMap<String, String> = [("a".to_string(), "12".to_string()), ("b".into(), "x".into())].into();
        assert_eq!((rnum(&h, "a"), rnum(&h, "b"), rnum(&h, "c")), ("12".into(), "\"x\"".into(), "none".into()));
    }
}
