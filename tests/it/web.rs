//! The public read API (`matchday web`, docs/web.md): matches by state and game with paging, one
//! match with its markets and odds, results, leaderboards equal to what players see, the public
//! notice board, uploaded avatars; every answer tagged and cacheable, a repeat a 304, and a change
//! of odds visible on the very next request (max-age 1 s: within a second for any cache).

use protocol::msg;
use serde_json::{Value, json};
use test_support::OPERATOR;
use test_support::app::{App, match_spec};

/// GET `path` on the public API; (status, ETag, Cache-Control, body).
async fn get(app: &App, path: &str, if_none_match: Option<&str>) -> (u16, String, String, Value) {
    let headers: Vec<(&str, String)> = if_none_match.map(|t| ("if-none-match", t.to_owned())).into_iter().collect();
    let r = app.web().get_with(path, &headers).await;
    (r.status, r.header("etag").to_owned(), r.header("cache-control").to_owned(), r.body)
}

fn ids(body: &Value) -> Vec<u64> {
    body["items"].as_array().unwrap().iter().map(|m| m["match_id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn matches_are_listed_by_state_and_game_page_by_page_tagged_and_an_odds_change_shows_at_once() {
    let app = App::spawn().await;
    let mut lol = Vec::new();
    for _ in 0..3 {
        lol.push(app.open_match(&match_spec("lol")).await.id);
    }
    let dota = app.open_match(&match_spec("dota2")).await.id;
    let pending = app.create_match(&match_spec("lol")).await;

    // Pages of 2 walk every open lol match once; the dota match and the pending one are not there.
    let (status, _, _, first) = get(&app, "/api/matches?game=lol&state=2&limit=2", None).await;
    assert_eq!((status, first["next"].as_u64()), (200, Some(2)), "{first}");
    let (_, _, _, second) = get(&app, "/api/matches?game=lol&state=2&limit=2&offset=2", None).await;
    assert_eq!(second.get("next"), None, "the last page: {second}");
    let mut seen = [ids(&first), ids(&second)].concat();
    seen.sort();
    assert_eq!(seen, lol);
    let (_, _, _, all) = get(&app, "/api/matches?limit=100", None).await;
    assert!(ids(&all).contains(&dota) && !ids(&all).contains(&pending), "{all}");

    // One match, tagged; the same again is a 304 without a body.
    let path = format!("/api/matches/{}", lol[0]);
    let (status, etag, cache, body) = get(&app, &path, None).await;
    assert_eq!((status, cache.as_str()), (200, "public, max-age=1"));
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    assert_eq!(body["options"][0]["odds"], 1850, "{body}");
    assert_eq!(body["markets"].as_array().map(Vec::len), Some(1), "the match's own market: {body}");
    let (status, again, _, empty) = get(&app, &path, Some(&etag)).await;
    assert_eq!((status, again.as_str(), empty), (304, etag.as_str(), Value::Null));

    // Staff change the odds: the very next request with the old tag gets the new odds.
    let odds = json!({"options": [{"key": "a", "odds": 1700}]});
    let r = app.gm().call("PUT", &format!("/api/matches/{}/odds", lol[0]), Some(OPERATOR), Some(&odds)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let (status, changed, _, body) = get(&app, &path, Some(&etag)).await;
    assert_eq!((status, body["options"][0]["odds"].as_i64()), (200, Some(1700)), "{body}");
    assert_ne!(changed, etag);

    // Bad requests are named and not cached; no match is a 404.
    for (bad, code) in [
        ("/api/matches?state=42", 400),
        ("/api/matches?game=chess", 400),
        ("/api/matches?limit=0", 400),
        ("/api/matches?limit=abc", 400),
        ("/api/matches/abc", 400),
        ("/api/matches/99999999", 404),
        (&format!("/api/matches/{pending}"), 404),
    ] {
        let (status, etag, cache, body) = get(&app, bad, None).await;
        assert_eq!((status, etag.as_str(), cache.as_str()), (code, "", "no-store"), "{bad}: {body}");
        assert!(body["error"]["message"].as_str().is_some(), "{bad}: {body}");
    }
    app.finish().await;
}

#[tokio::test]
async fn results_leaderboards_notices_and_avatars_are_public() {
    let dir = std::env::temp_dir().join(format!("md-web-avatars-{}", uuid::Uuid::new_v4().simple()));
    let store = dir.clone();
    let app =
        App::builder().config(move |cfg| cfg.logic.avatar_dir = store.to_string_lossy().into_owned()).spawn().await;
    let mut ann = app.player("web_ann").await;
    let mid = app.open_match(&match_spec("lol")).await.id;
    let bet = json!({"match_id": mid, "option": "a", "stake": 100, "odds_ver": 1, "req_id": "web-1"});
    assert_eq!(ann.call(msg::PLACE_BET, bet).await.code(), 0);
    app.act(mid, "start", json!({})).await;
    app.act(mid, "result", json!({"winner": "a"})).await;
    app.wait_state(mid, 9).await;

    let (_, _, _, results) = get(&app, "/api/results?game=lol", None).await;
    assert_eq!(ids(&results), vec![mid], "{results}");
    assert_eq!(results["items"][0]["result"], "a");

    // A board is what players see with 404 (without their own place).
    let (status, _, _, board) = get(&app, "/api/leaderboards/net/all", None).await;
    assert_eq!(status, 200, "{board}");
    let seen = ann.call(msg::LEADERBOARD, json!({"board": "net", "period": "all"})).await.body;
    assert_eq!(board["items"], seen["items"]);
    assert_eq!(board["items"][0]["score"], 85, "{board}");
    let (status, ..) = get(&app, "/api/leaderboards/wins/all", None).await;
    assert_eq!(status, 400);

    // Notices for everyone only; a withdrawn one leaves at once.
    let gm = app.gm();
    let all = gm.post("/api/notices", OPERATOR, &json!({"text": "Finals on Sunday"})).await.body;
    let uid = ann.call(msg::PROFILE, json!({})).await.body["user_id"].clone();
    gm.post("/api/notices", OPERATOR, &json!({"text": "just for ann", "target": "user", "target_id": uid})).await;
    let (_, etag, _, notices) = get(&app, "/api/notices", None).await;
    let texts: Vec<&str> = notices["items"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["Finals on Sunday"]);
    assert_eq!(notices["items"][0].get("read"), None);
    gm.post(&format!("/api/notices/{}/withdraw", all["id"].as_str().unwrap()), OPERATOR, &json!({})).await;
    let (status, _, _, notices) = get(&app, "/api/notices", Some(&etag)).await;
    assert_eq!((status, notices["items"].as_array().map(Vec::len)), (200, Some(0)));

    // An uploaded avatar is served here.
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[5u8; 64]].concat();
    let up = protocol::body::UploadAvatar { content_type: "image/png".into(), data: png.clone() };
    let r = ann.call(msg::UPLOAD_AVATAR, &up).await;
    assert_eq!(r.code(), 0, "{r:?}");
    let name = r.body["avatar_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let res = reqwest::get(format!("http://{}/avatars/{name}", app.web_addr)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), png.as_slice());
    app.check().await;
    app.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}
