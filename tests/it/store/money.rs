//! Coins and matches: place_bet, wallet_change, order_create, settle_batch and the max balance.

use common::shards::Home;
use std::collections::HashMap;

use common::bets::Terms;
use common::store::match_finish;
use common::store::place_bet::{self, Outcome as Bet};
use common::store::settle_batch::{self, OpenBet};
use common::store::wallet_change::{self, Outcome as Change};
use common::store::{ScriptName, StoreError};
use common::store::{user_ban, user_unban};
use fred::prelude::*;
use protocol::matches::{Action, Job, MatchState};
use test_support::TestEnv;

/// Where user 5's bets read match `mid`: its copy in user 5's shard (match_copy.lua).
fn copy_of(env: &TestEnv, mid: u64) -> String {
    env.keys().match_copy(common::shards::of_uid(5), mid)
}

/// A shard's copy of a match as match_copy.lua leaves it, in state `state`, where user 5 bets.
async fn stored_match(env: &TestEnv, mid: u64, state: i64) {
    let options = r#"[{"key":"a","label":"A","odds":1850},{"key":"b","label":"B","odds":2100}]"#;
    let fields: Vec<(&str, String)> = vec![
        ("id", mid.to_string()),
        ("state", state.to_string()),
        ("options", options.into()),
        ("odds_ver", "1".into()),
        ("min_stake", "10".into()),
        ("max_stake", "100".into()),
    ];
    let _: () = env.redis.pool.hset(copy_of(env, mid), fields).await.unwrap();
}

/// User 5's n-th bet id: bet ids are taken in the bettor's shard (`shards::id_in`), so a bet's
/// keys share the bettor's slot.
fn bid(n: u64) -> u64 {
    common::shards::id_in(common::shards::of_uid(5), n)
}

/// User 5 bets `stake` on option "a" of match `mid` (odds version 1) as its `n`-th bet ([`bid`]).
async fn place(env: &TestEnv, mid: u64, stake: i64, req: &str, n: u64) -> Result<Bet, StoreError> {
    let bid = bid(n);
    let args =
        place_bet::Args { uid: 5, match_id: mid, mid, option: "a", stake, odds_ver: 1, req_id: req, bid, now_ms: 1000 };
    place_bet::call(&env.redis, &args).await
}

/// Placed as user 5's `n`-th bet.
fn placed(n: u64, balance: i64, odds: i64, repeated: bool) -> Bet {
    Bet::Placed { bid: bid(n), balance, odds, repeated }
}

#[tokio::test]
async fn place_bet_repeats_answer_the_first_reply_even_after_the_match_closed() {
    let env = TestEnv::new().await;
    stored_match(&env, 9, 2).await;
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", 100), ("ver", 1)]).await.unwrap();
    assert_eq!(place(&env, 9, 40, "req-1", 1).await.unwrap(), placed(1, 60, 1850, false));
    let _: () = env.redis.pool.hset(copy_of(&env, 9), ("state", 1)).await.unwrap();
    let again = place(&env, 9, 40, "req-1", 2).await.unwrap();
    assert_eq!(again, placed(1, 60, 1850, true), "the first reply, marked repeated");
    assert_eq!(place(&env, 9, 40, "req-2", 3).await.unwrap(), Bet::NotOpen { state: 1 });
    let bets: Vec<String> = env.redis.pool.hkeys(env.keys().user_bets(5)).await.unwrap();
    assert_eq!(bets, vec![bid(1).to_string()], "no bet written for the repeat or the refusal");
    let bet = common::bets::of_user(&env.redis, 5, bid(1)).await.unwrap().expect("the bet");
    assert_eq!(
        (bet.state(), bet.stake, bet.odds, bet.placed_at(), bet.req_id.as_str()),
        ("open", 40, 1850, 1000, "req-1")
    );
    let balance: i64 = env.redis.pool.hget(env.keys().wallet(5), "balance").await.unwrap();
    assert_eq!(balance, 60);
    let open: HashMap<String, String> =
        env.redis.pool.hgetall(env.keys().match_open(common::shards::of_uid(5), 9)).await.unwrap();
    assert_eq!(
        open,
        HashMap::from([(bid(1).to_string(), bet.terms().format())]),
        "resultcenter's work list holds the bet once, with its terms"
    );
    // A malformed stake is a script error that writes nothing.
    let _: () = env.redis.pool.hset(copy_of(&env, 9), ("state", 2)).await.unwrap();
    let before = env.lanes_len(&env.keys().outboxes()).await;
    for stake in [0, -5, MAX + 1] {
        let err = place(&env, 9, stake, "req-3", 4).await.unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{err}");
        assert!(err.refusal().is_some_and(|e| e.contains("bad stake")), "{err}");
    }
    assert_eq!(env.lanes_len(&env.keys().outboxes()).await, before);
}

/// Calls wallet_change.lua for user 5 (a grant without an idempotency record).
async fn change_5(env: &TestEnv, delta: i64) -> Result<Change, StoreError> {
    let args =
        wallet_change::Args { uid: 5, delta, reason: "grant", reference: "test", now_ms: 1000, once: None, audit: &[] };
    wallet_change::call(&env.redis, &args).await
}

#[tokio::test]
async fn wallet_change_refuses_a_bad_delta_and_an_overdraft_without_writing() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.user(5), ("id", 5)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 10), ("ver", 1)]).await.unwrap();
    let err = change_5(&env, 0).await.unwrap_err();
    assert!(err.refusal().is_some_and(|e| e.contains("bad delta")), "{err}");
    assert_eq!(change_5(&env, -11).await.unwrap(), Change::InsufficientBalance { balance: 10 });
    assert_eq!(change_5(&env, -10).await.unwrap(), Change::Changed { balance: 0, repeated: false });
    assert_eq!(env.llen(&k.ledger(5)).await, 1, "only the accepted change is in the ledger");
    assert_eq!(env.lanes_len(&k.notifies()).await, 1, "and only it tells the user");
}

#[tokio::test]
async fn wallet_change_happens_once_per_record_and_refuses_the_record_for_another_change() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.user(5), ("id", 5)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 10), ("ver", 1)]).await.unwrap();
    let grant = |delta: i64| wallet_change::Args {
        uid: 5,
        delta,
        reason: "grant",
        reference: "staff",
        now_ms: 1000,
        once: Some(wallet_change::Once::Grant { request_id: "r-1" }),
        audit: &[],
    };
    let first = wallet_change::call(&env.redis, &grant(7)).await.unwrap();
    assert_eq!(first, Change::Changed { balance: 17, repeated: false });
    let again = wallet_change::call(&env.redis, &grant(7)).await.unwrap();
    assert_eq!(again, Change::Changed { balance: 17, repeated: true }, "the first result, nothing written");
    assert_eq!(wallet_change::call(&env.redis, &grant(8)).await.unwrap(), Change::OnceConflict);
    assert_eq!(wallet_of_5(&env).await["balance"], "17");
    assert_eq!(env.llen(&k.ledger(5)).await, 1);
    let record: HashMap<String, String> = env.redis.pool.hgetall(k.grant(5, "r-1")).await.unwrap();
    assert_eq!((record["uid"].as_str(), record["delta"].as_str(), record["balance"].as_str()), ("5", "7", "17"));
    let nobody = wallet_change::Args { uid: 6, once: None, ..grant(7) };
    assert_eq!(wallet_change::call(&env.redis, &nobody).await.unwrap(), Change::NoUser);
}

#[tokio::test]
async fn order_create_records_once_and_a_payment_completes_only_the_same_users_amount() {
    use common::store::order_create::{self, Outcome as Order};
    let env = TestEnv::new().await;
    let k = env.keys();
    let order = |uid: u64, id: &'static str| order_create::Args {
        uid,
        order_id: id,
        amount: 300,
        channel: "card",
        now_ms: 1000,
        keep_s: 60,
        list_max: 2,
        currency: "USD",
        staff: None,
    };
    assert_eq!(order_create::call(&env.redis, &order(5, "o-1")).await.unwrap(), Order::NoUser);
    let _: () = env.redis.pool.hset(k.user(5), ("id", 5)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 10), ("ver", 1)]).await.unwrap();
    assert_eq!(order_create::call(&env.redis, &order(5, "o-1")).await.unwrap(), Order::Created);
    assert_eq!(order_create::call(&env.redis, &order(5, "o-1")).await.unwrap(), Order::Exists);
    for id in ["o-2", "o-3"] {
        assert_eq!(order_create::call(&env.redis, &order(5, id)).await.unwrap(), Order::Created);
    }
    let listed: Vec<String> = env.redis.pool.zrange(k.orders(5), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(listed.len(), 2, "the list keeps the newest list_max: {listed:?}");
    let ttl: i64 = env.redis.pool.ttl(k.order(5, "o-1")).await.unwrap();
    assert!((1..=60).contains(&ttl), "the record is kept keep_s: {ttl}");
    let _: () = env.redis.pool.hset(k.user(5), ("banned", 1)).await.unwrap();
    assert_eq!(order_create::call(&env.redis, &order(5, "o-4")).await.unwrap(), Order::Banned);
    let _: () = env.redis.pool.hset(k.user(5), ("banned", 0)).await.unwrap();

    // A payment for no order, or of another amount or currency than its order's, is refused and
    // writes nothing; the right one credits and marks it paid, once.
    let paid = |order_id: &'static str, delta: i64, currency: &'static str| wallet_change::Args {
        uid: 5,
        delta,
        reason: "payment",
        reference: order_id,
        now_ms: 2000,
        once: Some(wallet_change::Once::Payment { order_id, currency }),
        audit: &[],
    };
    let pay = |delta: i64| paid("o-1", delta, "USD");
    let outbox = env.lanes_len(&k.outboxes()).await;
    let mismatch = |field: &str| Change::OrderMismatch { field: field.to_owned() };
    assert_eq!(wallet_change::call(&env.redis, &paid("o-9", 300, "USD")).await.unwrap(), Change::NoOrder);
    assert_eq!(wallet_change::call(&env.redis, &pay(299)).await.unwrap(), mismatch("amount"));
    assert_eq!(wallet_change::call(&env.redis, &paid("o-1", 300, "EUR")).await.unwrap(), mismatch("currency"));
    // An order record in the user's shard naming another user (the same shard holds both).
    let _: () =
        env.redis.pool.hset(k.order(5, "o-x"), [("uid", "6"), ("amount", "300"), ("currency", "USD")]).await.unwrap();
    assert_eq!(wallet_change::call(&env.redis, &paid("o-x", 300, "USD")).await.unwrap(), mismatch("uid"));
    assert_eq!(env.lanes_len(&k.outboxes()).await, outbox, "nothing written");
    assert_eq!(wallet_of_5(&env).await["balance"], "10", "nothing credited");
    assert_eq!(
        wallet_change::call(&env.redis, &pay(300)).await.unwrap(),
        Change::Changed { balance: 310, repeated: false }
    );
    assert_eq!(
        wallet_change::call(&env.redis, &pay(300)).await.unwrap(),
        Change::Changed { balance: 310, repeated: true }
    );
    let o: HashMap<String, String> = env.redis.pool.hgetall(k.order(5, "o-1")).await.unwrap();
    assert_eq!(
        (o["state"].as_str(), o["paid_at"].as_str(), o["balance"].as_str(), o["ver"].as_str()),
        ("paid", "2000", "310", "2")
    );
    // wallet, ledger, payment and order records: one credit's worth.
    assert_eq!(env.lanes_len(&k.outboxes()).await, outbox + 4);
}

const MAX: i64 = protocol::error_code::MAX_BALANCE;

#[tokio::test]
async fn every_crediting_script_holds_the_max_balance_of_protocol() {
    let line = format!("local MAX_BALANCE = {MAX} --");
    // Found by file name: naming a script (`ScriptName::PlaceBet`) outside the store picks one to run.
    for file in ["place_bet.lua", "wallet_change.lua", "register.lua"] {
        let name = ScriptName::ALL.iter().find(|n| n.file() == file).unwrap_or_else(|| panic!("no {file}"));
        assert!(name.source().contains(&line), "{file} hard-codes MAX_BALANCE = {MAX}");
    }
    const { assert!(MAX < 1 << 53, "below 2^53, where a Lua double counts every coin") };
}

async fn wallet_of_5(env: &TestEnv) -> HashMap<String, String> {
    env.redis.pool.hgetall(env.keys().wallet(5)).await.unwrap()
}

#[tokio::test]
async fn place_bet_with_a_balance_above_10_14_answers_and_repeats_the_exact_integers() {
    let env = TestEnv::new().await;
    stored_match(&env, 9, 2).await;
    let start: i64 = 123_456_789_012_347; // > 10^14: Lua's %.14g would write 1.2345678901235e+14
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", start), ("ver", 1)]).await.unwrap();
    let first = place(&env, 9, 41, "big-1", 1).await.unwrap();
    assert_eq!(first, placed(1, start - 41, 1850, false));
    let again = place(&env, 9, 41, "big-1", 2).await.unwrap();
    assert_eq!(again, placed(1, start - 41, 1850, true), "the same integers, and nothing debited twice");
    let w = wallet_of_5(&env).await;
    assert_eq!(w["balance"], (start - 41).to_string());
    let record: Option<String> = env.redis.pool.hget(env.keys().wallet(5), "r:big-1").await.unwrap();
    assert_eq!(record, Some(format!("{}:{}:1850", bid(1), start - 41)), "the repeat record in integers");
    let bet = common::bets::of_user(&env.redis, 5, bid(1)).await.unwrap().expect("the bet");
    assert_eq!(bet.stake, 41);
}

#[tokio::test]
async fn place_bet_refuses_a_banned_users_queued_bet_after_the_repeat_check() {
    let env = TestEnv::new().await;
    stored_match(&env, 9, 2).await;
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", 100), ("ver", 1)]).await.unwrap();
    assert_eq!(place(&env, 9, 10, "before", 1).await.unwrap(), placed(1, 90, 1850, false));
    // Banned by user_ban.lua, which keeps the wallet's mirror that place_bet.lua reads.
    let _: () = env.redis.pool.hset(env.keys().user(5), ("username", "five")).await.unwrap();
    let ban =
        user_ban::Args { uid: 5, reason: "bots", by: "otto", now_ms: 1, audit: b"", sessions: &[], connections: &[] };
    assert!(matches!(user_ban::call(&env.redis, &ban).await.unwrap(), user_ban::Outcome::Banned { .. }));
    // A bet placed before the ban still answers its first reply; a new one is refused.
    assert_eq!(place(&env, 9, 10, "before", 2).await.unwrap(), placed(1, 90, 1850, true));
    let outbox = env.lanes_len(&env.keys().outboxes()).await;
    assert_eq!(place(&env, 9, 10, "after", 3).await.unwrap(), Bet::Banned);
    let bet3: i64 = env.redis.pool.hexists(env.keys().user_bets(5), bid(3)).await.unwrap();
    assert_eq!((bet3, env.lanes_len(&env.keys().outboxes()).await), (0, outbox), "nothing written");
    assert_eq!(wallet_of_5(&env).await["balance"], "90");
    // Unbanned, betting works again.
    let unban = user_unban::Args { uid: 5, by: "otto", now_ms: 2, audit: b"" };
    assert_eq!(user_unban::call(&env.redis, &unban).await.unwrap(), user_unban::Outcome::Unbanned { changed: true });
    assert_eq!(place(&env, 9, 10, "after", 3).await.unwrap(), placed(3, 80, 1850, false));
}

#[tokio::test]
async fn place_bet_refuses_a_stake_whose_payout_could_pass_the_max_balance() {
    let env = TestEnv::new().await;
    stored_match(&env, 9, 2).await; // option "a" pays 1.85
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", MAX - 50), ("ver", 1)]).await.unwrap();
    // 100 at 1.85 could bring back 185: MAX - 50 - 100 + 185 > MAX. 58 fits (58 - 58 + 107 = 49 <= 50).
    assert_eq!(place(&env, 9, 100, "r1", 1).await.unwrap(), Bet::StakeOutOfRange { min: 10, max: 58 });
    let bet1: i64 = env.redis.pool.hexists(env.keys().user_bets(5), bid(1)).await.unwrap();
    assert_eq!(bet1, 0);
    assert_eq!(place(&env, 9, 58, "r2", 2).await.unwrap(), placed(2, MAX - 108, 1850, false));
    assert_eq!(wallet_of_5(&env).await["exposure"], "107", "the open bet's potential payout");
    // The open bet counts: the next stake has 1 coin of room (MAX - 108 + 107 = MAX - 1).
    assert_eq!(place(&env, 9, 10, "r3", 3).await.unwrap(), Bet::StakeOutOfRange { min: 10, max: 1 });
}

#[tokio::test]
async fn a_credit_past_the_max_balance_is_refused() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let _: () = env.redis.pool.hset(k.user(5), ("id", 5)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", MAX - 5), ("ver", 1)]).await.unwrap();
    let e = &env;
    let change = move |delta| async move { change_5(e, delta).await.unwrap() };
    let done = |balance| Change::Changed { balance, repeated: false };
    assert_eq!(change(6).await, Change::BalanceLimit { balance: MAX - 5, room: 5 }, "refused, with the room left");
    assert_eq!(
        (env.llen(&k.ledger(5)).await, env.lanes_len(&k.outboxes()).await, env.lanes_len(&k.notifies()).await),
        (0, 0, 0)
    );
    assert_eq!(wallet_of_5(&env).await["ver"], "1", "nothing written");
    assert_eq!(change(5).await, done(MAX), "up to the maximum exactly");
    assert_eq!(wallet_of_5(&env).await["balance"], MAX.to_string());
    assert_eq!(change(1).await, Change::BalanceLimit { balance: MAX, room: 0 });
    // Potential payouts of open bets count as held: a debit frees room, exposure takes it.
    assert_eq!(change(-10).await, done(MAX - 10));
    let _: () = env.redis.pool.hset(k.wallet(5), ("exposure", 4)).await.unwrap();
    assert_eq!(change(7).await, Change::BalanceLimit { balance: MAX - 10, room: 6 });
    assert_eq!(change(6).await, done(MAX - 4));
    // A delta past the maximum either way is malformed.
    for delta in [-(MAX + 1), MAX + 1] {
        let err = change_5(&env, delta).await.unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{err}");
        assert!(err.refusal().is_some_and(|e| e.contains("bad delta")), "{err}");
    }
}

#[tokio::test]
async fn settle_batch_refuses_open_bets_whose_terms_do_not_parse_and_writes_nothing() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let mid = 9u64;
    let record = [("id", "9"), ("state", "3"), ("result", "a"), ("ver", "1")];
    let _: () = env.redis.pool.hset(k.match_copy(5, mid), record).await.unwrap();
    let good = Terms { uid: 5, stake: 10, odds: 1850, ts: 1, option: "a".into(), req_id: "r1".into() };
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 100), ("ver", 1), ("exposure", 18)]).await.unwrap();
    let finals = &[Action::Settled, Action::Credited];
    // An open bet of the shape before issue 19's change (bid -> uid), one whose option is cut short,
    // and one with no length: each refuses the whole batch, the good bet beside it included.
    for bad in ["5", "5:1850:10:1:3:a", "5:1850:10:1:a"] {
        let open = vec![(bid(1).to_string(), good.format()), (bid(2).to_string(), bad.to_owned())];
        let _: () = env.redis.pool.hset(k.match_open(5, mid), open).await.unwrap();
        let bets = [OpenBet { bid: bid(1), uid: 5 }, OpenBet { bid: bid(2), uid: 5 }];
        let args = settle_batch::Args { mid, shard: 5, job: Job::Settle, now_ms: 2, finals, bets: &bets };
        let err = settle_batch::call(&env.redis, &args).await.unwrap_err();
        assert!(err.refusal().is_some_and(|e| e.contains("bad terms")), "{bad:?}: {err}");
        let left: i64 = env.redis.pool.hlen(k.match_open(5, mid)).await.unwrap();
        assert_eq!(left, 2, "{bad:?}: both bets still open");
        assert_eq!(wallet_of_5(&env).await["balance"], "100", "{bad:?}: nothing paid");
        let bets: i64 = env.redis.pool.hlen(k.user_bets(5)).await.unwrap();
        assert_eq!((bets, env.lanes_len(&k.outboxes()).await), (0, 0), "{bad:?}: nothing recorded");
    }
}

#[tokio::test]
async fn settle_batch_sums_past_2_53_exactly_and_releases_what_place_bet_held() {
    let env = TestEnv::new().await;
    let k = env.keys();
    let mid = 9u64;
    // Ten winners of about 10^12 at 999.999 (the caps): together 9,999,989,999,000,001 > 2^53, an odd
    // number no double holds.
    let odds = 999_999i64;
    let stake = |i: u64| if i == 1 { 999_999_999_000i64 } else { 1_000_000_000_000 };
    let payout = |i: u64| stake(i) / 1000 * odds + stake(i) % 1000 * odds / 1000;
    let total: i64 = (1..=10).map(payout).sum();
    assert!(total > 1 << 53 && total % 2 == 1);
    // The catalogue record and shard 5's copy, settling; the ten bettors all in shard 5.
    let record: Vec<(&str, String)> = vec![
        ("id", mid.to_string()),
        ("type", "lol".into()),
        ("state", "3".into()),
        ("result", "a".into()),
        ("ver", "1".into()),
        ("start_at", "1".into()),
    ];
    let _: () = env.redis.pool.hset(k.match_(mid), record.clone()).await.unwrap();
    let _: () = env.redis.pool.hset(k.match_copy(5, mid), record).await.unwrap();
    let uid_of = |i: u64| 5 + 64 * i;
    let mut bets = Vec::new();
    for i in 1..=10u64 {
        let uid = uid_of(i);
        let terms = Terms { uid, stake: stake(i), odds, ts: 1, option: "a".into(), req_id: format!("r{i}") };
        // i coins, and exactly what place_bet.lua held for the bet (one wallet holds 1 more).
        let held = if i == 1 { payout(i) + 1 } else { payout(i) };
        let _: () =
            env.redis.pool.hset(k.wallet(uid), [("balance", i as i64), ("ver", 1), ("exposure", held)]).await.unwrap();
        let _: () = env.redis.pool.hset(k.match_open(5, mid), (bid(i).to_string(), terms.format())).await.unwrap();
        bets.push(OpenBet { bid: bid(i), uid });
    }
    let finals = &[Action::Settled, Action::Credited];
    let args = settle_batch::Args { mid, shard: 5, job: Job::Settle, now_ms: 5000, finals, bets: &bets };
    let reply = settle_batch::call(&env.redis, &args).await.unwrap();
    assert_eq!(reply, settle_batch::Outcome::Settled { settled: 10, remaining: 0 });
    let paid: String = env.redis.pool.hget(k.match_copy(5, mid), "paid").await.unwrap();
    assert_eq!(paid, total.to_string(), "summed by Redis in integers");
    let wallets = || async {
        let mut all = Vec::new();
        for i in 1..=10u64 {
            let w: HashMap<String, String> = env.redis.pool.hgetall(k.wallet(uid_of(i))).await.unwrap();
            all.push(w);
        }
        all
    };
    let after = wallets().await;
    for i in 1..=10u64 {
        let w = &after[i as usize - 1];
        assert_eq!(w["balance"], (payout(i) + i as i64).to_string());
        let held = w.get("exposure").map(String::as_str);
        assert_eq!(held, if i == 1 { Some("1") } else { None }, "the bet's hold released (the field goes at 0)");
        let b = common::bets::of_user(&env.redis, uid_of(i), bid(i)).await.unwrap().expect("the settled bet");
        assert_eq!((b.state(), b.payout, b.placed_at(), b.settled_at()), ("won", Some(payout(i)), 1, Some(5000)));
    }
    // Replayed, the batch pays nothing twice.
    let again = settle_batch::call(&env.redis, &args).await.unwrap();
    assert_eq!(again, settle_batch::Outcome::Settled { settled: 0, remaining: 0 });
    assert_eq!(wallets().await, after);
    // The catalogue takes the shards' sums when resultcenter finishes the match (exact past 2^53:
    // the sum is a 64-bit integer, passed and written as a string), once.
    let settled: u64 = env.redis.pool.hget(k.match_copy(5, mid), "settled").await.unwrap();
    let finish = match_finish::Args { mid, kind: "lol", finals, settled, paid: total as u64, now_ms: 6000 };
    let done = match_finish::call(&env.redis, &finish).await.unwrap();
    assert_eq!(done, match_finish::Outcome::Finished { from: MatchState::Settling, to: MatchState::Credited });
    let m: HashMap<String, String> = env.redis.pool.hgetall(k.match_(mid)).await.unwrap();
    assert_eq!((m["state"].as_str(), m["settled"].as_str()), ("9", "10"), "settled, then credited");
    assert_eq!(m["paid"], total.to_string());
    let twice = match_finish::call(&env.redis, &finish).await.unwrap();
    assert_eq!(twice, match_finish::Outcome::NotFinishable { state: MatchState::Credited });
    // A copy that lags (still open) is not settled from: the job copies the match first.
    let _: () = env.redis.pool.hset(k.match_copy(6, mid), ("state", 2)).await.unwrap();
    let lagging = settle_batch::Args { shard: 6, bets: &[], ..args.clone() };
    let reply = settle_batch::call(&env.redis, &lagging).await.unwrap();
    assert_eq!(reply, settle_batch::Outcome::NotSettleable { remaining: 0, state: 2 });
    let none = settle_batch::Args { shard: 7, ..lagging };
    assert_eq!(settle_batch::call(&env.redis, &none).await.unwrap(), settle_batch::Outcome::NoCopy { remaining: 0 });
}

/// min_bet.lua (the bench's minimal ceiling) is a bet all the same: a debit once per request id,
/// one change record per debit, no overdraft, a bad stake writes nothing.
#[tokio::test]
async fn min_bet_debits_once_per_request_and_refuses_an_overdraft_or_a_bad_stake() {
    use common::store::min_bet::{self, Outcome};
    let env = TestEnv::new().await;
    let _: () = env.redis.pool.hset(env.keys().wallet(5), ("balance", 25)).await.unwrap();
    let bet = |stake: i64, req: &'static str, bid: u64| {
        let redis = env.redis.clone();
        async move { min_bet::call(&redis, &min_bet::Args { uid: 5, stake, req_id: req, bid }).await }
    };
    assert_eq!(bet(10, "r1", 1).await.unwrap(), Outcome::Placed { bid: 1, balance: 15, repeated: false });
    assert_eq!(bet(10, "r1", 2).await.unwrap(), Outcome::Placed { bid: 1, balance: 15, repeated: true });
    assert_eq!(bet(10, "r2", 3).await.unwrap(), Outcome::Placed { bid: 3, balance: 5, repeated: false });
    assert_eq!(bet(10, "r3", 4).await.unwrap(), Outcome::InsufficientBalance { balance: 5 });
    for stake in [0, -5] {
        let err = bet(stake, "r4", 5).await.unwrap_err();
        assert!(err.refusal().is_some_and(|e| e.contains("bad stake")), "{err}");
    }
    let balance: i64 = env.redis.pool.hget(env.keys().wallet(5), "balance").await.unwrap();
    assert_eq!(balance, 5);
    let records: Vec<String> = env.redis.pool.lrange(env.keys().outbox(Home::of_uid(5)), 0, -1).await.unwrap();
    assert_eq!(records, vec!["bet:1:5:10:15", "bet:3:5:10:5"], "one change record per debit");
}

/// place_bet reads an option's odds from the match's `odds:{key}` field (written by match_create
/// and match_odds alongside `options`), and decodes `options` only for a match stored before those
/// fields existed.
#[tokio::test]
async fn place_bet_reads_the_odds_field_and_decodes_options_only_for_an_older_match() {
    let env = TestEnv::new().await;
    let _: () = env.redis.pool.hset(env.keys().wallet(5), [("balance", 1000), ("ver", 1)]).await.unwrap();
    // An older match: options only.
    stored_match(&env, 9, 2).await;
    assert_eq!(place(&env, 9, 10, "old", 1).await.unwrap(), placed(1, 990, 1850, false));
    // The field wins over the JSON.
    let _: () = env.redis.pool.hset(copy_of(&env, 9), ("odds:a", 1900)).await.unwrap();
    assert_eq!(place(&env, 9, 10, "field", 2).await.unwrap(), placed(2, 980, 1900, false));
    // A match made by match_create.lua has a field per option, equal to its options.
    let mid = seed::open_match(&env.redis, "lol").await.unwrap();
    let m: HashMap<String, String> = env.redis.pool.hgetall(env.keys().match_(mid)).await.unwrap();
    let options: Vec<common::matches::MatchOption> = serde_json::from_str(&m["options"]).unwrap();
    assert!(!options.is_empty());
    for o in &options {
        assert_eq!(m.get(&format!("odds:{}", o.key)), Some(&o.odds.to_string()), "{m:?}");
    }
    // And so has its copy in every shard, with the state, limits and versions.
    for shard in [0, 5, common::shards::SHARDS - 1] {
        let c: HashMap<String, String> = env.redis.pool.hgetall(env.keys().match_copy(shard, mid)).await.unwrap();
        for f in ["state", "odds_ver", "min_stake", "max_stake", "options", "ver"] {
            assert_eq!(c.get(f), m.get(f), "shard {shard}'s copy: {f}");
        }
        for o in &options {
            assert_eq!(c.get(&format!("odds:{}", o.key)), Some(&o.odds.to_string()), "shard {shard}: {c:?}");
        }
    }
}

/// A bet writes one change record per step of its life, and every reader takes the same bytes:
/// "placed" is on the outbox and in the ledger (place_bet.lua appends what only it knows to the
/// prefix the binding packs); "settled" is on the outbox, on q:notify:{…} (the bet_settled event) and,
/// for a payout, in the ledger. dbsvr turns each into its rows.
#[tokio::test]
async fn a_bet_has_one_record_per_step_and_each_reader_decodes_the_same_bytes() {
    use bytes::Bytes;
    use common::records::{Placed, Settled};
    use dbsvr::rows::{BetRow, Row};

    let env = TestEnv::new().await;
    let k = env.keys();
    stored_match(&env, 9, 2).await;
    let _: () = env.redis.pool.hset(copy_of(&env, 9), ("odds:a", 1850)).await.unwrap();
    let _: () = env.redis.pool.hset(k.wallet(5), [("balance", 100), ("ver", 3)]).await.unwrap();
    assert_eq!(place(&env, 9, 40, "req-1", 7).await.unwrap(), placed(7, 60, 1850, false));

    let outbox: Vec<Bytes> = env.lanes_lrange(&k.outboxes()).await;
    let ledger: Vec<Bytes> = env.redis.pool.lrange(k.ledger(5), 0, -1).await.unwrap();
    assert_eq!((outbox.len(), ledger.len()), (1, 1), "one record");
    assert_eq!(outbox[0], ledger[0], "the same bytes");
    let p: Placed = rmp_serde::from_slice(&outbox[0]).unwrap();
    let want = Placed {
        key: bid(7),
        ts: 1000,
        uid: 5,
        match_id: 9,
        market_id: Some(9),
        option: "a".into(),
        stake: 40,
        odds: 1850,
        req_id: "req-1".into(),
        balance: 60,
        wver: 4,
        id: "5:4".into(),
        delta: -40,
        reference: bid(7).to_string(),
    };
    assert_eq!(p, want);
    let entry: protocol::body::LedgerItem = rmp_serde::from_slice(&ledger[0]).unwrap();
    assert_eq!(
        (entry.delta, entry.balance, entry.reason.as_str(), entry.reference.as_str()),
        (-40, 60, "bet", bid(7).to_string().as_str())
    );
    let bet = BetRow {
        id: bid(7),
        uid: 5,
        match_id: 9,
        market_id: 9,
        option: "a".into(),
        stake: 40,
        odds: 1850,
        state: "open".into(),
        payout: None,
        req_id: "req-1".into(),
        ts: 1000,
        settled_at: None,
        ver: 1,
    };
    let rows = dbsvr::rows::decode(&outbox[0]).unwrap();
    assert_eq!(
        rows,
        vec![
            Row::Bet(bet.clone()),
            Row::Wallet { uid: 5, balance: 60, ver: 4 },
            Row::Ledger {
                id: "5:4".into(),
                uid: 5,
                delta: -40,
                balance: 60,
                reason: "bet".into(),
                reference: bid(7).to_string(),
                ts: 1000
            },
        ]
    );

    // Settled: option "a" won, 40 × 1.85 = 74 paid.
    let fields = [("state", "3"), ("result", "a"), ("ver", "2")];
    let _: () = env.redis.pool.hset(copy_of(&env, 9), fields.to_vec()).await.unwrap();
    let args = settle_batch::Args {
        mid: 9,
        shard: common::shards::of_uid(5),
        job: Job::Settle,
        now_ms: 5000,
        finals: &[Action::Settled, Action::Credited],
        bets: &[OpenBet { bid: bid(7), uid: 5 }],
    };
    let done = settle_batch::call(&env.redis, &args).await.unwrap();
    assert_eq!(done, settle_batch::Outcome::Settled { settled: 1, remaining: 0 });
    let outbox: Vec<Bytes> = env.lanes_lrange(&k.outboxes()).await;
    let records: Vec<&Bytes> = outbox.iter().filter(|r| rmp_serde::from_slice::<Settled>(r).is_ok()).collect();
    let notify: Vec<Bytes> = env.lanes_lrange(&k.notifies()).await;
    let ledger: Vec<Bytes> = env.redis.pool.lrange(k.ledger(5), 0, -1).await.unwrap();
    assert_eq!(records.len(), 1, "one settled record");
    assert!(notify.contains(records[0]), "the same bytes are the bet_settled event");
    assert_eq!(&ledger[0], records[0], "and the payout's ledger entry");
    let event: common::events::Event = rmp_serde::from_slice(records[0]).unwrap();
    let want_event = common::events::Event::BetSettled {
        uid: 5,
        bet_id: bid(7),
        match_id: 9,
        market_id: Some(9),
        result: "won".into(),
        payout: 74,
        balance: 134,
        ts: 5000,
    };
    assert_eq!(event, want_event);
    let rows = dbsvr::rows::decode(records[0]).unwrap();
    let settled = BetRow { state: "won".into(), payout: Some(74), settled_at: Some(5000), ver: 2, ..bet };
    assert_eq!(
        rows,
        vec![
            Row::Bet(settled),
            Row::Wallet { uid: 5, balance: 134, ver: 5 },
            Row::Ledger {
                id: "5:5".into(),
                uid: 5,
                delta: 74,
                balance: 134,
                reason: "payout".into(),
                reference: bid(7).to_string(),
                ts: 5000
            },
        ]
    );
    let deltas: i64 =
        ledger.iter().map(|e| rmp_serde::from_slice::<protocol::body::LedgerItem>(e).unwrap().delta).sum();
    assert_eq!(deltas, 34, "the ledger's deltas are the balance's change: 100 - 40 + 74");
    let w: HashMap<String, String> = env.redis.pool.hgetall(k.wallet(5)).await.unwrap();
    assert_eq!((w["balance"].as_str(), w["ver"].as_str(), w.get("exposure")), ("134", "5", None));
}

#[tokio::test]
async fn grant_budget_reserves_up_to_the_limit_and_takes_coins_back() {
    use common::store::grant_budget::{self, Outcome};
    let env = TestEnv::new().await;
    let now_ms = 1_900_000_000_000;
    let call = |who: &'static str, amount: i64| {
        let redis = env.redis.clone();
        async move { grant_budget::call(&redis, &grant_budget::Args { who, amount, limit: 1000, now_ms }).await.unwrap() }
    };
    assert_eq!(call("ada", 600).await, Outcome::Reserved { total: 600 });
    assert_eq!(call("ada", 500).await, Outcome::OverLimit { total: 600 }, "nothing written");
    assert_eq!(call("bob", 500).await, Outcome::Reserved { total: 500 }, "each staff member's own");
    assert_eq!(call("ada", -100).await, Outcome::Reserved { total: 500 });
    assert_eq!(call("ada", 500).await, Outcome::Reserved { total: 1000 });
    let ttl: i64 = env.redis.pool.pttl(env.keys().grant_budget("ada", common::time::day_of(now_ms))).await.unwrap();
    assert!(ttl > 86_400_000, "kept past the day: {ttl}");
}

#[tokio::test]
async fn grant_approval_decides_once_and_never_for_the_one_who_asked() {
    use common::store::grant_approval::{self, Action, Outcome};
    let env = TestEnv::new().await;
    let k = env.keys();
    let now_ms = 1_900_000_000_000;
    let call = |who: &'static str, action: Action<'static>| {
        let redis = env.redis.clone();
        async move { grant_approval::call(&redis, &grant_approval::Args { action, now_ms, who, audit: b"audit" }).await }
    };
    let ask = Action::Ask { id: "a1", uid: 5, amount: 5000, reason: "prize", request_id: Some("r-1") };
    assert_eq!(call("ada", Action::Approve { id: "a1" }).await.unwrap(), Outcome::NoApproval);
    assert_eq!(call("ada", Action::Result { id: "a1", result: "{}" }).await.unwrap(), Outcome::NoApproval);
    let outbox = env.llen(&k.outbox(Home::Global)).await;
    assert_eq!(call("ada", ask).await.unwrap(), Outcome::Asked);
    assert_eq!(call("ada", ask).await.unwrap(), Outcome::Exists);
    assert_eq!(env.llen(&k.outbox(Home::Global)).await, outbox + 1, "one audit record for the ask");
    let rec: HashMap<String, String> = env.redis.pool.hgetall(k.approval("a1")).await.unwrap();
    assert_eq!(
        (rec["uid"].as_str(), rec["amount"].as_str(), rec["maker"].as_str(), rec["state"].as_str()),
        ("5", "5000", "ada", "pending")
    );
    let ttl: i64 = env.redis.pool.ttl(k.approval("a1")).await.unwrap();
    assert!(ttl > 86_400, "kept: {ttl}");
    // Not by the one who asked, and a result only once approved: nothing written.
    assert_eq!(call("ada", Action::Approve { id: "a1" }).await.unwrap(), Outcome::OwnRequest);
    assert_eq!(call("bea", Action::Result { id: "a1", result: "{}" }).await.unwrap(), Outcome::NoApproval);
    assert_eq!(env.llen(&k.outbox(Home::Global)).await, outbox + 1);
    // Decided once: later decisions answer the first and write nothing.
    assert_eq!(call("bea", Action::Approve { id: "a1" }).await.unwrap(), Outcome::Decided { state: "approved".into() });
    for (who, action) in [("cid", Action::Approve { id: "a1" }), ("cid", Action::Reject { id: "a1" })] {
        let already = Outcome::Already { state: "approved".into(), checker: "bea".into() };
        assert_eq!(call(who, action).await.unwrap(), already);
    }
    assert_eq!(env.llen(&k.outbox(Home::Global)).await, outbox + 2, "one audit record for the decision");
    let result = r#"{"balance":5100}"#;
    assert_eq!(call("bea", Action::Result { id: "a1", result }).await.unwrap(), Outcome::Recorded);
    let kept: Option<String> = env.redis.pool.hget(k.approval("a1"), "result").await.unwrap();
    assert_eq!(kept.as_deref(), Some(result));
    // The one who asked may withdraw (reject) their own.
    let ask = Action::Ask { id: "a2", uid: 5, amount: -2000, reason: "fix", request_id: None };
    assert_eq!(call("ada", ask).await.unwrap(), Outcome::Asked);
    assert_eq!(call("ada", Action::Reject { id: "a2" }).await.unwrap(), Outcome::Decided { state: "rejected".into() });
    let listed: Vec<String> = env.redis.pool.zrange(k.approvals(), 0, -1, None, false, None, false).await.unwrap();
    assert_eq!(listed, vec!["a1", "a2"]);
}
