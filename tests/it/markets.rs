//! Markets: a match with several, each opened, settled or voided on its own (docs/gm.md "Markets",
//! docs/protocol.md 301/302/401, 901/902).

use common::config::Role;
use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, match_spec};
use test_support::client::Frame;
use test_support::matchday_client::gm::Request;
use test_support::{Client, eventually};

/// A match with its default market ("Match winner") and two more.
fn three_markets() -> Value {
    let mut spec = match_spec("lol");
    spec["market"] = json!("Match winner");
    spec["markets"] = json!([
        {"name": "Map 1 winner", "options": [{"key": "a", "label": "A", "odds": 1850}, {"key": "b", "label": "B", "odds": 2100}]},
        {"name": "First blood", "options": [{"key": "a", "label": "A", "odds": 1900}, {"key": "b", "label": "B", "odds": 1900}],
         "max_stake": 500},
    ]);
    spec
}

/// The markets of gm's view of a match: (id, name, state).
fn markets(view: &Value) -> Vec<(u64, String, i64)> {
    view["markets"]
        .as_array()
        .expect("markets")
        .iter()
        .map(|m| {
            (m["match_id"].as_u64().unwrap(), m["market"].as_str().unwrap().to_owned(), m["state"].as_i64().unwrap())
        })
        .collect()
}

async fn market_act(app: &App, mid: u64, market: u64, action: &str, body: Value) -> Value {
    let path = format!("/api/matches/{mid}/markets/{market}/{action}");
    app.staff(Role::Operator).post(&path, &body).await.unwrap_or_else(|e| panic!("{action} market {market}: {e}"))
}

/// Places a bet of `stake` on `option` of `market`; the bet id.
async fn bet(c: &mut Client, mid: u64, market: u64, option: &str, stake: i64, req: &str) -> u64 {
    let r = c
        .call(msg::PLACE_BET, json!({"match_id": mid, "market_id": market, "option": option, "stake": stake, "odds_ver": 1, "req_id": req}))
        .await;
    assert_eq!(r.code(), 0, "bet on market {market}: {r:?}");
    r.body["bet_id"].as_u64().unwrap()
}

async fn balance(c: &mut Client) -> i64 {
    c.call(msg::BALANCE, json!({})).await.body["balance"].as_i64().unwrap()
}

#[tokio::test]
async fn three_markets_one_settled_one_voided_one_still_open_exact_in_balances_pushes_and_mysql() {
    let app = App::spawn().await;
    let grant = app.cfg.logic.signup_grant;
    let mid = app.create_match(&three_markets()).await;
    let view = app.match_view(mid).await;
    let all = markets(&view);
    assert_eq!(all.len(), 3, "{view}");
    assert_eq!(all[0], (mid, "Match winner".to_owned(), -1), "the default market is the match");
    let (m1, m2) = (all[1].0, all[2].0);
    assert_eq!((all[1].1.as_str(), all[2].1.as_str()), ("Map 1 winner", "First blood"));
    assert!(all.iter().all(|m| m.2 == -1), "pending with the match: {all:?}");
    assert_eq!(view["markets"][2]["max_stake"], 500, "its own limit");
    assert_eq!(view["markets"][1]["max_stake"], 1000, "the match's limit");

    // Approving the match approves its markets; opening the match opens its default market only.
    app.act(mid, "approve", json!({})).await;
    let view = app.act(mid, "open", json!({})).await;
    assert_eq!(markets(&view).iter().map(|m| m.2).collect::<Vec<_>>(), [2, 0, 0]);
    market_act(&app, mid, m1, "open", json!({})).await;
    let view = market_act(&app, mid, m2, "open", json!({})).await;
    assert_eq!(markets(&view).iter().map(|m| m.2).collect::<Vec<_>>(), [2, 2, 2]);

    // Clients see the match once, with its markets.
    let (mut p1, mut p2) = (app.player("mk_one").await, app.player("mk_two").await);
    let detail = p1.call(msg::MATCH_DETAIL, json!({"match_id": mid})).await;
    let ids: Vec<u64> =
        detail.body["markets"].as_array().unwrap().iter().map(|m| m["market_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [mid, m1, m2]);
    assert_eq!(detail.body["markets"][2]["name"], "First blood");
    let listed = p1.call(msg::LIST_MATCHES, json!({"state": 2, "limit": 100})).await;
    let listed: Vec<u64> =
        listed.body["items"].as_array().unwrap().iter().map(|m| m["match_id"].as_u64().unwrap()).collect();
    assert_eq!(listed, [mid], "a market is no match of its own");
    assert_eq!(p1.call(msg::MATCH_DETAIL, json!({"match_id": m1})).await.code(), 1007);

    // A market named under another match, or bet on as a match, does not exist.
    let other = app.open_match(&match_spec("lol")).await;
    let wrong =
        json!({"match_id": other.id, "market_id": m1, "option": "a", "stake": 10, "odds_ver": 1, "req_id": "x1"});
    assert_eq!(p1.call(msg::PLACE_BET, wrong).await.code(), 1007);
    let as_match = json!({"match_id": m1, "option": "a", "stake": 10, "odds_ver": 1, "req_id": "x2"});
    assert_eq!(p1.call(msg::PLACE_BET, as_match).await.code(), 1007);
    let over = json!({"match_id": mid, "market_id": m2, "option": "a", "stake": 600, "odds_ver": 1, "req_id": "x3"});
    assert_eq!(p1.call(msg::PLACE_BET, over).await.code(), 1006, "the market's own limit");

    // Each player bets on each market: one with the market named as the match's own id.
    let mut bets = Vec::new();
    for (market, name) in [(mid, "d"), (m1, "m1"), (m2, "m2")] {
        bets.push((bet(&mut p1, mid, market, "a", 100, &format!("p1-{name}")).await, market, "a", 100));
        bets.push((bet(&mut p2, mid, market, "b", 200, &format!("p2-{name}")).await, market, "b", 200));
    }
    assert_eq!((balance(&mut p1).await, balance(&mut p2).await), (grant - 300, grant - 600));
    let mine = p1.call(msg::MY_BETS, json!({})).await;
    let mut seen: Vec<(u64, u64)> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["match_id"].as_u64().unwrap(), b["market_id"].as_u64().unwrap()))
        .collect();
    seen.sort();
    assert_eq!(seen, [(mid, mid), (mid, m1), (mid, m2)]);
    let pool = &app.match_view(mid).await["markets"];
    assert_eq!(
        (pool[1]["pool"]["a"].as_i64(), pool[1]["pool"]["b"].as_i64(), pool[1]["bet_count"].as_u64()),
        (Some(100), Some(200), Some(2))
    );
    p1.pushes_so_far();
    p2.pushes_so_far();

    // The match starts: every market stops. Map 1 is won by "a", first blood is void, and the
    // match winner market opens again while the match is live.
    let view = app.act(mid, "start", json!({})).await;
    assert_eq!(markets(&view).iter().map(|m| m.2).collect::<Vec<_>>(), [1, 1, 1]);
    market_act(&app, mid, m1, "result", json!({"winner": "a"})).await;
    market_act(&app, mid, m2, "cancel", json!({})).await;
    market_act(&app, mid, mid, "open", json!({})).await;
    eventually("map 1 credited and first blood refunded", || async {
        let states: Vec<i64> = markets(&app.match_view(mid).await).iter().map(|m| m.2).collect();
        (states == [2, 9, 8]).then_some(())
    })
    .await;
    assert_eq!(app.match_view(mid).await["state"], 2, "the match is its default market: open");

    // p1 won 185 on map 1 and got 100 back from first blood; p2 lost 200 and got 200 back.
    let (b1, b2) = (balance(&mut p1).await, balance(&mut p2).await);
    assert_eq!((b1, b2), (grant - 300 + 185 + 100, grant - 600 + 200));
    let settled = |frames: Vec<Frame>| -> Vec<(u64, u64, String, i64)> {
        let mut out: Vec<_> = frames
            .iter()
            .filter(|f| f.head.id == msg::PUSH_BET_SETTLED)
            .map(|f| {
                let b = &f.body;
                (
                    b["match_id"].as_u64().unwrap(),
                    b["market_id"].as_u64().unwrap(),
                    b["result"].as_str().unwrap().to_owned(),
                    b["payout"].as_i64().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let states = |frames: &[Frame]| -> Vec<(u64, u64)> {
        frames
            .iter()
            .filter(|f| f.head.id == msg::PUSH_MATCH_STATE)
            .map(|f| (f.body["match_id"].as_u64().unwrap(), f.body["market_id"].as_u64().unwrap()))
            .collect()
    };
    // Every push p1 is sent, until both settlements and a 902 of each market have come (a push
    // that never comes fails the wait).
    let mut p1_pushes = p1.pushes_so_far();
    while settled(p1_pushes.clone()).len() < 2 || [mid, m1, m2].iter().any(|m| !states(&p1_pushes).contains(&(mid, *m)))
    {
        p1_pushes.push(p1.push().await);
    }
    assert_eq!(settled(p1_pushes.clone()), [(mid, m1, "won".into(), 185), (mid, m2, "refunded".into(), 100)]);

    // The default market still takes bets.
    let late = bet(&mut p2, mid, mid, "a", 50, "p2-late").await;
    bets.push((late, mid, "a", 50));

    // MySQL: every bet with its market, the markets with their match; verify finds no difference.
    app.check().await;
    let pool = &app.db().pool;
    let mut rows: Vec<(u64, u64, u64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, match_id, market_id, state, payout FROM bets WHERE match_id = ?")
            .bind(mid)
            .fetch_all(pool)
            .await
            .unwrap();
    rows.sort();
    let mut want: Vec<(u64, u64, u64, String, Option<i64>)> = bets
        .iter()
        .map(|&(id, market, option, stake)| {
            let (state, payout) = match (market, option) {
                (m, "a") if m == m1 => ("won", Some(stake * 1850 / 1000)),
                (m, "b") if m == m1 => ("lost", Some(0)),
                (m, _) if m == m2 => ("refunded", Some(stake)),
                _ => ("open", None),
            };
            (id, mid, market, state.to_owned(), payout)
        })
        .collect();
    want.sort();
    assert_eq!(rows, want);
    let mut parents: Vec<(u64, u64, String, i8)> =
        sqlx::query_as("SELECT id, parent_id, market, state FROM matches WHERE id IN (?, ?, ?)")
            .bind(mid)
            .bind(m1)
            .bind(m2)
            .fetch_all(pool)
            .await
            .unwrap();
    parents.sort();
    assert_eq!(
        parents,
        [(mid, 0, "Match winner".into(), 2), (m1, mid, "Map 1 winner".into(), 9), (m2, mid, "First blood".into(), 8)]
    );
    let report = dbsvr::verify::run(app.redis(), pool, dbsvr::verify::Options::default()).await.unwrap();
    assert!(report.is_clean(), "MySQL equals Redis: {:?}", report.differences);
    app.finish().await;
}

#[tokio::test]
async fn markets_are_added_until_the_match_is_finished_and_a_match_wide_cancel_voids_them_all() {
    let app = App::spawn().await;
    let grant = app.cfg.logic.signup_grant;
    let opened = app.open_match(&match_spec("dota2")).await;
    let mid = opened.id;
    let gm = app.staff(Role::Operator);
    let added: Value = gm
        .post(
            &format!("/api/matches/{mid}/markets"),
            &json!({"name": "Total maps", "options": [{"key": "over", "label": "Over 2.5", "odds": 1700}, {"key": "under", "label": "Under 2.5", "odds": 2000}]}),
        )
        .await
        .unwrap();
    let all = markets(&added);
    assert_eq!(all.len(), 2);
    let total = all[1].0;
    assert_eq!(all[1].2, 0, "added to an open match: not open until staff open it");
    let bad = gm.post::<Value>(&format!("/api/matches/{mid}/markets"), &json!({"name": "", "options": []})).await;
    assert!(bad.is_err(), "a market without a name or options is refused");
    let nowhere =
        gm.post::<Value>(&format!("/api/matches/{total}/markets"), &json!({"name": "x", "options": []})).await;
    assert!(nowhere.is_err());
    // A market's id is not an action target under another match.
    assert!(gm.post::<Value>(&format!("/api/matches/{}/markets/{total}/open", mid + 1000), &json!({})).await.is_err());
    market_act(&app, mid, total, "open", json!({})).await;

    let mut p = app.player("mk_three").await;
    bet(&mut p, mid, mid, "a", 100, "c-d").await;
    bet(&mut p, mid, total, "over", 100, "c-t").await;
    // Odds of one market move on their own.
    let path = format!("/api/matches/{mid}/markets/{total}/odds");
    let view: Value =
        gm.fetch(Request::new("PUT", &path).json(&json!({"options": [{"key": "over", "odds": 1600}]}))).await.unwrap();
    assert_eq!((view["markets"][1]["odds_ver"].as_u64(), view["markets"][0]["odds_ver"].as_u64()), (Some(2), Some(1)));

    // Cancelling the match voids both markets: every stake back.
    app.act(mid, "cancel", json!({})).await;
    eventually("both markets refunded", || async {
        let states: Vec<i64> = markets(&app.match_view(mid).await).iter().map(|m| m.2).collect();
        (states == [8, 8]).then_some(())
    })
    .await;
    assert_eq!(balance(&mut p).await, grant);
    let late = gm
        .post::<Value>(&format!("/api/matches/{mid}/markets"), &json!({"name": "Late", "options": [{"key": "a", "label": "A", "odds": 1500}, {"key": "b", "label": "B", "odds": 1500}]}))
        .await;
    assert!(late.is_err(), "a finished match takes no market");
    app.finish().await;
}
