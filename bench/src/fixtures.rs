//! Books of bets built straight through the production scripts (match_create, wallet_change,
//! place_bet, match_transition), for benchmarks and tests that need thousands of bets fast.

use std::collections::HashMap;

use common::matches::{MatchOption, MatchRecord, Transitioned};
use common::scripts::ScriptName;
use common::{Redis, matches};
use fred::prelude::*;
use futures_util::StreamExt;
use protocol::matches::Action;

/// The bets of one match.
pub struct Book {
    pub match_id: u64,
    /// uid -> balance before any bet
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

/// Creates user `uid` ("u{uid}") holding `amount` coins, through register.lua (so the user, the
/// wallet and the ledger are in the outbox like any sign-up; the amount is its sign-up grant).
pub async fn fund(redis: &Redis, uid: u64, amount: i64) -> anyhow::Result<()> {
    let k = &redis.keys;
    let name = format!("u{uid}");
    let keys = vec![k.uname(&name), k.user(uid), k.wallet(uid), k.ledger(uid), k.outbox(), k.stats_day("reg", 1)];
    let now = common::time::now_ms().to_string();
    let argv = vec![uid.to_string(), name, "$fixture$".into(), amount.to_string(), now, format!("fixture-{uid}")];
    let r: Vec<i64> = redis.scripts.call(&redis.pool, ScriptName::Register, keys, argv).await?;
    anyhow::ensure!(r.first() == Some(&0), "register.lua answered {r:?}");
    let _: () = redis.pool.set(k.user_seq(), uid, None, None, false).await?;
    Ok(())
}

/// Creates a match of `kind` with options a (1.85) and b (2.133) and opens it for betting.
pub async fn open_match(redis: &Redis, kind: &str) -> anyhow::Result<u64> {
    let k = &redis.keys;
    let mid: u64 = redis.pool.incr(k.match_seq()).await?;
    let options = [
        MatchOption { key: "a".into(), label: "A".into(), odds: 1850 },
        MatchOption { key: "b".into(), label: "B".into(), odds: 2133 },
    ];
    let mut argv: Vec<String> = vec![
        mid.to_string(),
        String::new(),
        "1900000000000".into(),
        common::time::now_ms().to_string(),
        String::new(),
        "0".into(),
    ];
    argv.extend(MatchRecord::new_fields(kind, "fixture", &["A".into(), "B".into()], &options, 1, 100_000));
    let keys = vec![k.match_(mid), k.matches_pending(), k.match_ext(""), k.outbox(), k.sched()];
    let _: Vec<i64> = redis.scripts.call(&redis.pool, ScriptName::MatchCreate, keys, argv).await?;
    for action in [Action::Approve, Action::Open] {
        step(redis, mid, action, None).await?;
    }
    Ok(mid)
}

/// Applies one transition, failing unless it happens.
pub async fn step(redis: &Redis, mid: u64, action: Action, winner: Option<&str>) -> anyhow::Result<()> {
    match matches::transition(redis, mid, action, winner, Vec::new()).await? {
        Transitioned::Done { .. } => Ok(()),
        other => anyhow::bail!("{action:?} on match {mid}: {other:?}"),
    }
}

/// An open match with `users` × `per_user` bets (options mixed, stakes 1..5000), placed with
/// place_bet.lua, 64 at a time. Users are numbered from `first_uid`.
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

/// Places one bet through place_bet.lua.
pub async fn place(redis: &Redis, mid: u64, uid: u64, option: &str, stake: i64) -> anyhow::Result<Bet> {
    let k = &redis.keys;
    let bid: u64 = redis.pool.incr(k.bet_seq()).await?;
    let keys = k.place_bet(uid, mid, bid, 1);
    let argv = vec![
        uid.to_string(),
        mid.to_string(),
        option.to_owned(),
        stake.to_string(),
        "1".into(),
        format!("f{bid}"),
        bid.to_string(),
        common::time::now_ms().to_string(),
    ];
    let r: Vec<fred::types::Value> = redis.scripts.call(&redis.pool, ScriptName::PlaceBet, keys, argv).await?;
    let code = r.first().and_then(|v| v.as_i64());
    anyhow::ensure!(code == Some(0), "place_bet.lua answered {r:?}");
    let odds = r.get(3).and_then(|v| v.as_i64()).unwrap_or_default();
    Ok(Bet { bet_id: bid, uid, option: option.to_owned(), stake, odds })
}
