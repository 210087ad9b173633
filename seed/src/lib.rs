//! Books of bets built straight through the store's bindings of the production scripts
//! (`common::store`: register, match_create, match_transition, place_bet), for tests that need
//! thousands of bets fast: no WebSocket, no gm, no password hashing. What they write is what the
//! services write (the same scripts), change records for dbsvr included.

use std::collections::HashMap;

use common::Redis;
use common::matches::{MatchOption, MatchRecord};
use common::store::{match_create, match_transition, place_bet, register};
use fred::prelude::*;
use futures_util::StreamExt;
use protocol::matches::Action;

/// The bets of one match.
pub struct Book {
    pub match_id: u64,
    /// uid → balance before any bet.
    pub funded: HashMap<u64, i64>,
    pub bets: Vec<Bet>,
}

#[derive(Clone, Debug)]
pub struct Bet {
    pub bet_id: u64,
    pub uid: u64,
    pub option: String,
    pub stake: i64,
    pub odds: i64,
}

/// The odds of [`open_match`]'s options: a at 1.85, b at 2.133.
pub const ODDS: [(&str, i64); 2] = [("a", 1850), ("b", 2133)];

/// Creates user `uid` ([`fixture_name`]) holding `amount` coins, through register.lua (so the user,
/// the wallet and the ledger are in the outbox like any sign-up; the amount is its sign-up grant),
/// and moves `seq:user` to `uid` (a sign-up afterwards gets the next id).
pub async fn fund(redis: &Redis, uid: u64, amount: i64) -> anyhow::Result<()> {
    let name = fixture_name(uid);
    let trace = format!("fixture-{uid}");
    let args = register::Args {
        uid,
        username: &name,
        pw_hash: "$fixture$",
        grant: amount,
        now_ms: common::time::now_ms(),
        trace: &trace,
        device: None,
    };
    match register::call(redis, &args).await? {
        register::Outcome::Created { .. } => {}
        other => anyhow::bail!("register.lua answered {other:?}"),
    }
    // New registrations continue after the fixtures in the fixture's shard.
    let seq = redis.keys.user_seq(common::shards::of_uid(uid));
    let at: Option<u64> = redis.pool.get(&seq).await?;
    let n = uid / u64::from(common::shards::SHARDS);
    if at.is_none_or(|at| at < n) {
        let _: () = redis.pool.set(&seq, n, None, None, false).await?;
    }
    Ok(())
}

/// A fixture user's name: "u{uid}", or the first of "u{uid}-1", "u{uid}-2", … that lies in the
/// user's shard — as a name registered through logic does (its id is allocated in its name's
/// shard), so register.lua's keys share one slot on a Redis Cluster.
pub fn fixture_name(uid: u64) -> String {
    let home = common::shards::of_uid(uid);
    (0u32..)
        .map(|n| if n == 0 { format!("u{uid}") } else { format!("u{uid}-{n}") })
        .find(|name| common::shards::of_name(name) == home)
        .expect("some suffix hashes into every shard")
}

/// Creates a match of `kind` (teams A and B, options [`ODDS`], stakes 1 to 100,000) and opens it
/// for betting: created, approved, opened, as gm does it but without gm. Its odds version is 1.
pub async fn open_match(redis: &Redis, kind: &str) -> anyhow::Result<u64> {
    let mid: u64 = redis.pool.incr(redis.keys.match_seq()).await?;
    let options = ODDS.map(|(key, odds)| MatchOption { key: key.into(), label: key.to_uppercase(), odds });
    let fields = MatchRecord::new_fields(kind, "fixture", &["A".into(), "B".into()], &options, 1, 100_000);
    let args = match_create::Args {
        mid,
        external_id: None,
        fields: &fields,
        start_at: 1_900_000_000_000,
        now_ms: common::time::now_ms(),
        reminder_before_ms: 0,
        audit: &[],
    };
    match match_create::call(redis, &args).await? {
        match_create::Outcome::Created { .. } => {}
        other => anyhow::bail!("match_create.lua answered {other:?}"),
    }
    for action in [Action::Approve, Action::Open] {
        step(redis, mid, action, None).await?;
    }
    Ok(mid)
}

/// Applies one transition, failing unless it happens.
pub async fn step(redis: &Redis, mid: u64, action: Action, winner: Option<&str>) -> anyhow::Result<()> {
    match match_transition::transition(redis, mid, action, winner, &[]).await? {
        match_transition::Outcome::Done { .. } => Ok(()),
        other => anyhow::bail!("{action:?} on match {mid}: {other:?}"),
    }
}

/// An open match ([`open_match`]) with `users` × `per_user` bets (options mixed, stakes 1..5000),
/// placed with place_bet.lua, 64 at a time. Users are numbered from `first_uid`, each funded with
/// 1,000,000 coins.
pub async fn book(redis: &Redis, kind: &str, first_uid: u64, users: u64, per_user: u64) -> anyhow::Result<Book> {
    let mid = open_match(redis, kind).await?;
    let mut funded = HashMap::new();
    for uid in first_uid..first_uid + users {
        fund(redis, uid, 1_000_000).await?;
        funded.insert(uid, 1_000_000);
    }
    let specs: Vec<(u64, &str, i64)> = (first_uid..first_uid + users)
        .flat_map(|uid| {
            (0..per_user).map(move |i| {
                let option = if (uid + i) % 3 == 0 { "b" } else { "a" };
                (uid, option, 1 + ((uid * 7919 + i * 104_729) % 5000) as i64)
            })
        })
        .collect();
    let placed: Vec<anyhow::Result<Bet>> = futures_util::stream::iter(specs)
        .map(|(uid, option, stake)| place(redis, mid, uid, option, stake))
        .buffer_unordered(64)
        .collect()
        .await;
    let bets = placed.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Book { match_id: mid, funded, bets })
}

/// Places one bet at odds version 1 through place_bet.lua (its bet id from the bettor's shard's
/// `seq:bet`).
pub async fn place(redis: &Redis, mid: u64, uid: u64, option: &str, stake: i64) -> anyhow::Result<Bet> {
    let shard = common::shards::of_uid(uid);
    let n: u64 = redis.pool.incr(redis.keys.bet_seq(shard)).await?;
    let bid = common::shards::id_in(shard, n);
    let req_id = format!("f{bid}");
    let args = place_bet::Args {
        uid,
        match_id: mid,
        mid,
        option,
        stake,
        odds_ver: 1,
        req_id: &req_id,
        bid,
        now_ms: common::time::now_ms(),
    };
    match place_bet::call(redis, &args).await? {
        place_bet::Outcome::Placed { odds, .. } => Ok(Bet { bet_id: bid, uid, option: option.to_owned(), stake, odds }),
        other => anyhow::bail!("place_bet.lua answered {other:?}"),
    }
}
