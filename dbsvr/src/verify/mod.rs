//! `matchday verify`: compares the live state in Redis with the durable record in MySQL.
//!
//! What is compared, for every id of each kind (or a random sample, see [`Options::sample`]):
//!
//! - **users**: the user exists in both stores, with the same username, password hash, ban state,
//!   creation time, guest device digest and closing time;
//! - **wallets**: balance and version;
//! - **ledgers**: in each store the sum of a user's ledger deltas equals that store's balance, and
//!   both stores hold the same number of ledger entries;
//! - **bets** (those of the users compared: in Redis a user's bets are one hash): state and payout,
//!   and the fields a bet never changes (owner, match, option, stake, odds);
//! - **matches**: state, liveness, result and odds version.
//!
//! Ids are enumerated from 1 to the highest id either store knows (the Redis counters `seq:user`
//! and `seq:match`, and the highest id in the MySQL tables); Redis hashes are read with
//! pipelined commands and MySQL rows with `IN (…)` queries, [`CHUNK`] ids at a time. An id that
//! exists in neither store is a gap (an id allocated by a request that was then refused) and is
//! not a difference.
//!
//! Both stores are read while the system may be running: a change that Redis has made and dbsvr
//! has not flushed yet shows as a difference. [`Report::unflushed`] says how many change records
//! were waiting when the comparison started; run verify when it is 0 (or run it twice).
//!
//! One file per kind compared: users.rs (users, wallets, ledgers), bets.rs, matches.rs; ids.rs picks
//! the ids, read.rs reads both stores, report.rs holds what was found.

mod bets;
mod ids;
mod matches;
mod read;
mod report;
mod users;

use common::Redis;
use fred::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::MySqlPool;

use self::bets::bets_chunk;
use self::ids::Ids;
use self::matches::matches_chunk;
pub use self::report::{Difference, Differences, Kind, Report};
use self::users::users_chunk;

/// Ids read per round trip (one Redis pipeline and one MySQL query per kind).
pub const CHUNK: usize = 500;

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Compare `N` ids of each kind (users with their wallets, ledgers and bets; matches) instead of
    /// all of them. The ids are drawn uniformly at random, without repetition, from 1 to the
    /// highest id of the kind (see the module docs); a drawn id that exists in neither store (a
    /// gap) is skipped, so slightly fewer than `N` may be compared. `N` at least the highest id
    /// compares everything.
    pub sample: Option<u64>,
    /// The seed of the random sample (drawn at random when None). The report names the seed, so
    /// a sample can be compared again.
    pub seed: Option<u64>,
}

/// Compares Redis (`redis`, its prefix) with MySQL (`pool`).
pub async fn run(redis: &Redis, pool: &MySqlPool, opts: Options) -> anyhow::Result<Report> {
    let seed = opts.seed.unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let (unflushed, dead) = backlog(redis).await?;
    let mut report = Report { sample: opts.sample.map(|n| (n, seed)), unflushed, dead, ..Report::default() };
    let k = &redis.keys;

    let users = sharded_ids(
        redis,
        pool,
        |s| k.user_seq(s),
        "SELECT id FROM users UNION ALL SELECT uid FROM wallets UNION ALL SELECT uid FROM ledger",
    )
    .await?;
    for ids in Ids::pick_from(users, opts.sample, &mut rng).chunks() {
        users_chunk(redis, pool, &ids, &mut report).await?;
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

fn highest(values: &[u64]) -> u64 {
    values.iter().copied().max().unwrap_or(0)
}

async fn counter(redis: &Redis, key: &str) -> anyhow::Result<u64> {
    let v: Option<u64> = redis.pool.get(key).await?;
    Ok(v.unwrap_or(0))
}

/// Every id (of users, or bets) that may be in use: each shard's ids (`n · SHARDS + shard`) up to
/// the highest of its Redis counter (`counter(shard)`) and of the ids MySQL holds in it (`ids`, a
/// query of one `id` column) — not every number up to the highest id, which would look at 64 gaps
/// for each one in use.
async fn sharded_ids(
    redis: &Redis,
    pool: &MySqlPool,
    counter: impl Fn(u16) -> String,
    ids_sql: &str,
) -> anyhow::Result<Vec<u64>> {
    let shards = u64::from(common::shards::SHARDS);
    // The highest n of each shard; none: the shard has no user in either store.
    let mut top: Vec<Option<u64>> = Vec::with_capacity(shards as usize);
    for shard in 0..common::shards::SHARDS {
        top.push(redis.pool.get(counter(shard)).await?);
    }
    let in_mysql: Vec<(u64, u64, u64)> = sqlx::query_as(&format!(
        "SELECT CAST(id % {shards} AS UNSIGNED), CAST(MAX(id) AS UNSIGNED), CAST(MIN(id) AS UNSIGNED) \
         FROM ({ids_sql}) ids GROUP BY id % {shards}"
    ))
    .fetch_all(pool)
    .await?;
    // New ids start at n = 1; an id below SHARDS (n = 0) is one from before the shards, which only
    // MySQL (restored from) can name.
    let mut first = vec![1u64; shards as usize];
    for (shard, max, min) in in_mysql {
        let top = &mut top[shard as usize];
        *top = Some(top.unwrap_or(0).max(max / shards));
        if min < shards {
            first[shard as usize] = 0;
        }
    }
    let mut ids: Vec<u64> = (0..shards)
        .filter_map(|s| top[s as usize].map(|n| (s, first[s as usize], n)))
        .flat_map(|(s, from, n)| (from..=n).map(move |i| i * shards + s))
        .filter(|&id| id > 0)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

async fn max_id(pool: &MySqlPool, sql: &str) -> anyhow::Result<u64> {
    let (v,): (Option<u64>,) = sqlx::query_as(sql).fetch_one(pool).await?;
    Ok(v.unwrap_or(0))
}

/// Change records waiting for dbsvr (queue + inflight lists), and those it gave up on.
async fn backlog(redis: &Redis) -> anyhow::Result<(u64, u64)> {
    let p = common::service::pending(redis, &redis.keys.outboxes()).await?;
    Ok((p.waiting + p.inflight, p.dead))
}
