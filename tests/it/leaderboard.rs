//! Leaderboards (docs/protocol.md 404): kept by settlement, and equal to a
//! recomputation from the bets' rows in the MySQL record, for both boards and every period.

use std::collections::HashMap;

use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, match_spec};
use test_support::{Client, eventually};

async fn bet(c: &mut Client, mid: u64, option: &str, stake: i64) {
    let req = uuid::Uuid::new_v4().simple().to_string();
    let r = c
        .call(msg::PLACE_BET, json!({"match_id": mid, "option": option, "stake": stake, "odds_ver": 1, "req_id": req}))
        .await;
    assert_eq!(r.code(), 0, "bet on {mid}: {r:?}");
}

/// A whole board as a player sees it, page by page (3 per page): (user id, score, rank) best first.
async fn board(c: &mut Client, board: &str, period: &str) -> (Vec<(u64, i64, u64)>, Value) {
    let mut all = Vec::new();
    loop {
        let r =
            c.call(msg::LEADERBOARD, json!({"board": board, "period": period, "offset": all.len(), "limit": 3})).await;
        assert_eq!(r.code(), 0, "{board}/{period}: {r:?}");
        let items = r.body["items"].as_array().unwrap().clone();
        all.extend(
            items
                .iter()
                .map(|e| (e["user_id"].as_u64().unwrap(), e["score"].as_i64().unwrap(), e["rank"].as_u64().unwrap())),
        );
        if items.len() < 3 {
            return (all, r.body);
        }
    }
}

/// The board a set of scores makes: best first, equal scores by user id, sharing a rank.
fn ranked(scores: &HashMap<u64, i64>) -> Vec<(u64, i64, u64)> {
    let mut v: Vec<(u64, i64)> = scores.iter().map(|(u, s)| (*u, *s)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<(u64, i64, u64)> = Vec::new();
    for (i, (uid, score)) in v.iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.1 == *score => prev.2,
            _ => i as u64 + 1,
        };
        out.push((*uid, *score, rank));
    }
    out
}

#[tokio::test]
async fn leaderboards_after_settlement_match_a_recomputation_from_the_bets() {
    let app = App::spawn().await;
    let names = ["lb_ann", "lb_bob", "lb_cat", "lb_dan", "lb_eve", "lb_fay"];
    let mut players = Vec::new();
    for n in names {
        players.push(app.player(n).await);
    }
    // Three matches: one won by a, one by b, one cancelled (refunds count for neither board).
    let ma = app.open_match(&match_spec("lol")).await.id;
    let mb = app.open_match(&match_spec("lol")).await.id;
    let mc = app.open_match(&match_spec("dota2")).await.id;
    // Each player's bets: (match, option, stake).
    let plan: [&[(u64, &str, i64)]; 6] = [
        &[(ma, "a", 100), (mb, "b", 50), (mc, "a", 500)],
        &[(ma, "b", 200), (mb, "b", 100)],
        &[(ma, "a", 100), (mb, "a", 100)], // net: 85 - 100 = -15
        &[(ma, "a", 40), (ma, "a", 60), (mb, "a", 30)],
        &[(mc, "b", 300)], // only a refund: on no board
        &[(ma, "b", 20), (mb, "a", 20)],
    ];
    for (i, bets) in plan.into_iter().enumerate() {
        for (mid, option, stake) in bets {
            bet(&mut players[i], *mid, option, *stake).await;
        }
    }
    for (mid, winner) in [(ma, "a"), (mb, "b")] {
        app.act(mid, "start", json!({})).await;
        app.act(mid, "result", json!({"winner": winner})).await;
        app.wait_state(mid, 9).await;
    }
    app.act(mc, "cancel", json!({})).await;
    app.wait_state(mc, 8).await;

    // The bets as the MySQL record holds them, once dbsvr has written every one of them settled.
    let pool = &app.db().pool;
    let rows: Vec<(u64, i64, Option<i64>, String)> = eventually("every bet settled in MySQL", || async {
        let rows: Vec<(u64, i64, Option<i64>, String)> =
            sqlx::query_as("SELECT uid, stake, payout, state FROM bets").fetch_all(pool).await.unwrap();
        (rows.len() == 13 && rows.iter().all(|r| r.3 != "open")).then_some(rows)
    })
    .await;
    let bets = rows.iter().map(|(uid, stake, payout, state)| (*uid, *stake, payout.unwrap_or(0), state.as_str()));
    for (name, kind) in [("net", common::leaderboard::Board::Net), ("picks", common::leaderboard::Board::Picks)] {
        let want = ranked(&common::leaderboard::recompute(kind, bets.clone()));
        assert!(want.len() >= 4, "{name}: {want:?}");
        for period in ["day", "week", "all"] {
            let (got, last) = board(&mut players[0], name, period).await;
            assert_eq!(got, want, "the {name} board of the {period}");
            // The player's own place is the one the board shows them at.
            let me = got.iter().find(|e| e.0 == last["me"]["user_id"].as_u64().unwrap_or(0)).copied();
            assert_eq!(
                me.map(|e| (e.1, e.2)),
                last["me"]["score"].as_i64().zip(last["me"]["rank"].as_u64()),
                "{name}/{period} me: {last}"
            );
        }
    }
    // Names are shown; a player with only a refund is on no board and has no place of their own.
    let (_, last) = board(&mut players[4], "net", "all").await;
    assert!(last.get("me").is_none(), "{last}");
    let r = players[0].call(msg::LEADERBOARD, json!({"limit": 1})).await;
    assert_eq!(
        (r.body["board"].as_str(), r.body["items"][0]["name"].as_str().map(|n| n.starts_with("lb_"))),
        (Some("net"), Some(true)),
        "{r:?}"
    );
    assert!(r.body["period"].as_str().unwrap().contains("-W"), "the week by default: {r:?}");
    // A bad field is named.
    for (body, field) in [
        (json!({"board": "money"}), "board"),
        (json!({"period": "month"}), "period"),
        (json!({"date": "5/12/2026"}), "date"),
    ] {
        let r = players[0].call(msg::LEADERBOARD, body).await;
        assert_eq!(r.code(), 7, "{r:?}");
        assert!(r.body["msg"].as_str().unwrap().contains(&format!("{field}: ")), "{r:?}");
    }
    // An earlier day's board is empty; the day is shown by its date.
    let r = players[0].call(msg::LEADERBOARD, json!({"period": "day", "date": "2026-01-01"})).await;
    assert_eq!(
        (r.body["period"].as_str(), r.body["items"].as_array().map(Vec::len)),
        (Some("2026-01-01"), Some(0)),
        "{r:?}"
    );
    app.check().await;
    app.finish().await;
}
