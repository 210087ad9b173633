//! `matchday restore`: rebuilds the Redis state from MySQL into an empty prefix — the
//! disaster-recovery path when Redis lost its data.
//!
//! Written, in the shapes the Lua scripts keep (so every script and reader works on the result):
//!
//! | from MySQL | Redis |
//! |---|---|
//! | `users` | `user:{uid}` {id, username, pw, created_at, and ver once past 1, device and deleted_at when set}; `uname:{lowercased name}` {uid, reg: ""} (not for names starting with "~": guests, closed accounts); a guest's `device:{digest}` {uid, reg: ""} |
//! | `profiles` | `user:{uid}` {nickname, avatar (when set), profile_ver} |
//! | `user_bans` | `user:{uid}` {banned, ban_ver, and while banned ban_reason, banned_by, banned_at} |
//! | `wallets` | `wallet:{uid}` {balance, ver}; `exposure` = the potential payouts of the user's open bets |
//! | `ledger` | `ledger:{uid}`: MessagePack {id, uid, delta, balance, reason, ref, ts}, newest (highest wallet version) first |
//! | `payments`, `grant_requests` | `payment:{order_id}`, `grant:{request_id}` {uid, delta, balance, ts, ledger} |
//! | `matches` | `match:{mid}` (every field the scripts keep; `settled`/`paid` from the settled bets), `matches:pending` or `matches:{list,doing,finished}:{all,type}` (score start_at), `match:ext:{external_id}` |
//! | `bets` | `user:{uid}:bets` (bid → the bet's record); `match:{mid}:pool`; `match:{mid}:open` (bid → terms of open bets); `match:{mid}:bettors`; the wallets' `r:{req_id}` fields (→ "bid:balance_after:odds") |
//! | `bets` won and lost | `lb:{net,picks}:{day,week,all}` per shard (`common::leaderboard`), day and week parts with what is left of their TTL |
//! | `orders` of the last `orders.keep_s` | `order:{id}` {uid, amount, currency, channel, by, state, created_at, ver, paid_at, balance}; `orders:{uid}` (the newest `orders.list_max`) |
//! | `staff` | `staff:{name}` {name, role, pw, totp, disabled, created_by, created_at, updated_at, ver}; `staff_names` |
//! | `users`, `bets` by day | `stats:{reg,bets,volume}:{day}` |
//! | — | `seq:user`, `seq:match`, `seq:bet` = the highest ids |
//!
//! Work that was pending when Redis was lost is queued again: `auto_start` (and future `reminder`)
//! events in `sched` for matches that have not started, and a settle / refund job on `q:settle:{g}` for
//! matches left settling (3), cancelled (6) or without a result (7); resultcenter settles exactly
//! the bets still open, so a job for a match already partly settled pays nothing twice.
//!
//! Not restored: sessions (players log in again; staff sign in again), staff API tokens (admins make
//! new ones), notifications kept for offline users
//! (`inbox:{uid}`), online connections, heartbeats, queues. Redis only ever holds what MySQL
//! holds: changes that never reached MySQL (an unflushed outbox) are lost with Redis.
//!
//! One file per step: users.rs (users, bans, wallets), ledgers.rs (ledgers, payments, grants),
//! matches.rs, bets.rs, boards.rs (leaderboards), orders.rs, staff.rs, stats.rs (daily figures, id counters); writer.rs pipelines the writes and
//! report.rs holds [`RestoreReport`].

mod bets;
mod boards;
mod ledgers;
mod matches;
mod orders;
mod report;
mod staff;
mod stats;
mod users;
mod writer;

use anyhow::{Context, bail};
use common::Redis;
use sqlx::MySqlPool;

use self::bets::bets;
use self::boards::leaderboards;
use self::ledgers::{Credit, credits, ledgers};
use self::matches::matches;
use self::orders::orders;
pub use self::report::RestoreReport;
use self::staff::staff;
use self::stats::{counters, stats};
use self::users::{bans, profiles, users, wallets};
use self::writer::Writer;

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
    /// `orders.keep_s` and `orders.list_max`: the orders restored, and each user's list.
    pub orders_keep_s: u64,
    pub orders_list_max: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options::from_config(&common::Config::defaults())
    }
}

impl Options {
    /// The options a deployment's configuration gives.
    pub fn from_config(cfg: &common::Config) -> Options {
        Options {
            reminder_before_ms: cfg.pushsvr.reminder_before_ms,
            orders_keep_s: cfg.orders.keep_s,
            orders_list_max: cfg.orders.list_max,
        }
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
    profiles(pool, &mut w, &mut report).await.context("restoring profiles")?;
    bans(pool, &mut w, &mut report).await.context("restoring bans")?;
    wallets(pool, &mut w, &mut report).await.context("restoring wallets")?;
    ledgers(pool, &mut w, &mut report).await.context("restoring ledgers")?;
    credits(pool, &mut w, &mut report, Credit::Payment).await.context("restoring payments")?;
    credits(pool, &mut w, &mut report, Credit::Grant).await.context("restoring grants")?;
    matches(pool, &mut w, &mut report, opts).await.context("restoring matches")?;
    bets(pool, &mut w, &mut report).await.context("restoring bets")?;
    leaderboards(pool, &mut w, &mut report).await.context("restoring leaderboards")?;
    orders(pool, &mut w, &mut report, opts).await.context("restoring orders")?;
    staff(pool, &mut w, &mut report).await.context("restoring staff accounts")?;
    stats(pool, &mut w, &mut report).await.context("restoring daily figures")?;
    counters(pool, &mut w, &mut report).await.context("setting the id counters")?;
    w.flush().await?;
    report.commands = w.sent;
    Ok(report)
}

/// Refuses a prefix that holds any key.
async fn ensure_empty(redis: &Redis) -> anyhow::Result<()> {
    if let Some(key) = redis.any_key("*").await? {
        bail!(
            "the Redis prefix {:?} is not empty (it holds {key:?}, for one): restore only writes into an empty \
             prefix; stop every service of this deployment and delete its keys, or restore into another prefix",
            redis.keys.prefix()
        );
    }
    Ok(())
}
