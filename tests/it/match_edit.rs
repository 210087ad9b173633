//! Editing matches and markets (docs/gm.md "Edit a match"): where it is safe, audited, versioned,
//! pushed to watchers and bettors (905), and in MySQL.

use common::config::Role;
use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, match_spec};
use test_support::client::Frame;
use test_support::matchday_client::GmError;
use test_support::matchday_client::gm::Request;
use test_support::{Client, eventually};

async fn patch(app: &App, path: &str, body: Value) -> Result<Value, GmError> {
    app.staff(Role::Operator).fetch(Request::new("PATCH", path).json(&body)).await
}

/// The next 905 `c` is pushed (other pushes skipped).
async fn next_update(c: &mut Client) -> Frame {
    loop {
        let f = c.push().await;
        if f.head.id == msg::PUSH_MATCH_UPDATED {
            return f;
        }
    }
}

fn refused(r: Result<Value, GmError>, why: &str) {
    match r {
        Err(GmError::Api { status: 409, code, message, .. }) => {
            assert_eq!(code, "illegal_transition");
            assert!(message.contains(why), "{message}");
        }
        other => panic!("expected a 409 ({why}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_match_edited_before_and_while_open_reaches_watchers_and_bettors_the_audit_log_and_mysql() {
    let app = App::spawn().await;
    let mid = app.create_match(&match_spec("lol")).await;
    app.act(mid, "approve", json!({})).await;
    let mut watcher = app.player("ed_watcher").await;
    assert_eq!(watcher.call(msg::WATCH_MATCH, json!({"match_id": mid})).await.code(), 0);
    assert_eq!(watcher.call(msg::WATCH_MATCH, json!({"match_id": mid + 1000})).await.code(), 1007);
    let ver = app.match_view(mid).await["ver"].as_u64().unwrap();

    // Before betting opens: the title, the start time, the stream link and the options.
    let path = format!("/api/matches/{mid}");
    let later = 1_900_000_000_000u64 + 3_600_000;
    let options = json!([{"key": "a", "label": "A", "odds": 1700}, {"key": "b", "label": "B", "odds": 2200},
        {"key": "draw", "label": "Draw", "odds": 3000}]);
    let body =
        json!({"title": "A vs B (Bo3)", "start_at": later, "stream_url": "https://example.tv/ab", "options": options});
    let view = patch(&app, &path, body).await.unwrap();
    assert_eq!((view["ver"].as_u64(), view["odds_ver"].as_u64()), (Some(ver + 1), Some(2)));
    let pushed = next_update(&mut watcher).await.body;
    assert_eq!((pushed["match_id"].as_u64(), pushed["ver"].as_u64()), (Some(mid), Some(ver + 1)));
    assert_eq!((pushed["title"].as_str(), pushed["start_at"].as_u64()), (Some("A vs B (Bo3)"), Some(later)));
    assert_eq!(pushed["stream_url"], "https://example.tv/ab");
    assert_eq!(pushed["options"].as_array().map(Vec::len), Some(3));
    assert!(patch(&app, &path, json!({})).await.is_err(), "an empty edit is refused");
    assert!(patch(&app, &path, json!({"teams": ["only one"]})).await.is_err());
    assert!(patch(&app, &path, json!({"stream_url": "javascript:alert(1)"})).await.is_err());
    assert!(patch(&app, &path, json!({"type": "chess"})).await.is_err());

    // Open: a bettor takes the new option at the new odds version.
    app.act(mid, "open", json!({})).await;
    let mut bettor = app.player("ed_bettor").await;
    let bet = json!({"match_id": mid, "option": "draw", "stake": 100, "odds_ver": 2, "req_id": "ed-1"});
    let placed = bettor.call(msg::PLACE_BET, bet).await;
    assert_eq!((placed.code(), placed.body["odds"].as_i64()), (0, Some(3000)), "{placed:?}");

    // While open: the title and the start time change and reach both; the terms do not change.
    let view = patch(&app, &path, json!({"title": "A vs B (final)", "teams": ["Team A", "Team B"]})).await.unwrap();
    let ver2 = view["ver"].as_u64().unwrap();
    for c in [&mut watcher, &mut bettor] {
        let pushed = next_update(c).await.body;
        assert_eq!((pushed["title"].as_str(), pushed["ver"].as_u64()), (Some("A vs B (final)"), Some(ver2)));
        assert_eq!(pushed["teams"], json!(["Team A", "Team B"]));
    }
    refused(patch(&app, &path, json!({"options": options})).await, "before betting first opens");
    refused(patch(&app, &path, json!({"max_stake": 50})).await, "before betting first opens");
    let sooner = later - 600_000;
    assert_eq!(patch(&app, &path, json!({"start_at": sooner})).await.unwrap()["start_at"].as_u64(), Some(sooner));
    let listed = bettor.call(msg::LIST_MATCHES, json!({"state": 2, "limit": 100})).await;
    let found = listed.body["items"].as_array().unwrap().iter().find(|m| m["match_id"] == mid).cloned();
    assert_eq!(found.map(|m| m["start_at"].clone()), Some(json!(sooner)), "listed at its new time");

    // A market's name and terms: terms only before it opens.
    let market = json!({"name": "First blood", "options": [{"key": "a", "label": "A", "odds": 1900}, {"key": "b", "label": "B", "odds": 1900}]});
    let added: Value = app.staff(Role::Operator).post(&format!("{path}/markets"), &market).await.unwrap();
    let fb = added["markets"][1]["match_id"].as_u64().unwrap();
    let mpath = format!("{path}/markets/{fb}");
    let view = patch(
        &app,
        &mpath,
        json!({"options": [{"key": "a", "label": "A", "odds": 1800}, {"key": "b", "label": "B", "odds": 2000}]}),
    )
    .await
    .unwrap();
    assert_eq!(
        (view["markets"][1]["odds_ver"].as_u64(), view["markets"][1]["options"][0]["odds"].as_i64()),
        (Some(2), Some(1800))
    );
    app.staff(Role::Operator).post::<Value>(&format!("{mpath}/open"), &json!({})).await.unwrap();
    let view = patch(&app, &mpath, json!({"name": "First blood (map 1)"})).await.unwrap();
    assert_eq!(view["markets"][1]["market"], "First blood (map 1)");
    refused(patch(&app, &mpath, json!({"min_stake": 20})).await, "before betting first opens");
    let elsewhere = app.create_match(&match_spec("lol")).await;
    let wrong = patch(&app, &format!("/api/matches/{elsewhere}/markets/{fb}"), json!({"name": "x"})).await;
    assert_eq!(wrong.unwrap_err().status(), Some(404));

    // Started: the start time is fixed; the title still changes.
    app.act(mid, "start", json!({})).await;
    refused(patch(&app, &path, json!({"start_at": later})).await, "before the match starts");
    refused(patch(&app, &path, json!({"type": "dota2"})).await, "before the match starts");
    patch(&app, &path, json!({"title": "A vs B (final, live)"})).await.unwrap();
    assert_eq!(watcher.call(msg::WATCH_MATCH, json!({"match_id": mid, "watch": false})).await.code(), 0);

    // MySQL holds each change (the row at its last version) and gm_audit who made each.
    app.check().await;
    let pool = &app.db().pool;
    let view = app.match_view(mid).await;
    let row: (String, String, String, u64, String, u64) =
        sqlx::query_as("SELECT title, team_a, team_b, start_at, stream_url, ver FROM matches WHERE id = ?")
            .bind(mid)
            .fetch_one(pool)
            .await
            .unwrap();
    let want_ver = view["ver"].as_u64().unwrap();
    assert_eq!(
        row,
        (
            "A vs B (final, live)".into(),
            "Team A".into(),
            "Team B".into(),
            sooner,
            "https://example.tv/ab".into(),
            want_ver
        )
    );
    let market_row: (String, u64) =
        sqlx::query_as("SELECT market, odds_ver FROM matches WHERE id = ?").bind(fb).fetch_one(pool).await.unwrap();
    assert_eq!(market_row, ("First blood (map 1)".into(), 2));
    let audit: Vec<(String, String, String)> = eventually("the audit records are in MySQL", || async {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT action, target, who FROM gm_audit WHERE action IN ('match.edit', 'market.edit') ORDER BY ts, id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        (rows.len() == 6).then_some(rows)
    })
    .await;
    let edits: Vec<(&str, &str)> = audit.iter().map(|(a, t, _)| (a.as_str(), t.as_str())).collect();
    let (m, mk) = (format!("match:{mid}"), format!("match:{mid}:market:{fb}"));
    assert_eq!(
        edits,
        [
            ("match.edit", m.as_str()),
            ("match.edit", m.as_str()),
            ("match.edit", m.as_str()),
            ("market.edit", mk.as_str()),
            ("market.edit", mk.as_str()),
            ("match.edit", m.as_str())
        ]
    );
    assert!(audit.iter().all(|(_, _, who)| !who.is_empty()), "each names who made it: {audit:?}");
    let report = dbsvr::verify::run(app.redis(), pool, dbsvr::verify::Options::default()).await.unwrap();
    assert!(report.is_clean(), "MySQL equals Redis: {:?}", report.differences);
    app.finish().await;
}

#[tokio::test]
async fn a_moved_start_time_moves_the_automatic_start_and_nothing_starts_the_match_at_the_old_time() {
    let app = App::spawn().await;
    let now = || common::time::now_ms();
    let soon = now() + 1_500;
    let mut spec = match_spec("lol");
    spec["start_at"] = json!(soon);
    let mid = app.create_match(&spec).await;
    app.act(mid, "approve", json!({})).await;
    app.act(mid, "open", json!({})).await;
    let path = format!("/api/matches/{mid}");
    patch(&app, &path, json!({"start_at": now() + 3_600_000})).await.unwrap();

    // The old start time passes: nothing due by then is left in `sched`, and pushsvr has handled
    // everything it moved out; the match is still open.
    let sched = app.keys().sched();
    eventually("every event due by the old start time has been taken", || async {
        let due: i64 =
            fred::prelude::SortedSetsInterface::zcount(&app.redis().pool, &sched, f64::NEG_INFINITY, soon as f64)
                .await
                .unwrap();
        (due == 0 && now() > soon).then_some(())
    })
    .await;
    app.env.lanes_idle(&app.keys().notifies()).await;
    let view = app.match_view(mid).await;
    assert_eq!((view["state"].as_i64(), view["live"].as_bool()), (Some(2), Some(false)), "not started at the old time");

    // Moved to a moment from now: the match starts then, by itself.
    patch(&app, &path, json!({"start_at": now() + 1_000})).await.unwrap();
    app.wait_state(mid, 1).await;
    assert_eq!(app.match_view(mid).await["live"], true);
    app.finish().await;
}
