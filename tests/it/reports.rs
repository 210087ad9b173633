//! Reports, the audit log, and user and bet lists read from the MySQL record (docs/gm.md
//! "Reports"): each report is recomputed here from the rows of bets, ledger, users and matches and
//! must be equal, page by page, with its totals and its CSV.

use std::collections::{BTreeMap, BTreeSet};

use common::config::Role;
use protocol::msg;
use serde_json::{Value, json};
use test_support::app::{App, match_spec, token};
use test_support::{ADMIN, Client};

const DAY_MS: i64 = 86_400_000;

async fn bet(c: &mut Client, mid: u64, market: u64, option: &str, stake: i64) {
    let req = uuid::Uuid::new_v4().simple().to_string();
    let r = c
        .call(msg::PLACE_BET, json!({"match_id": mid, "market_id": market, "option": option, "stake": stake, "odds_ver": 1, "req_id": req}))
        .await;
    assert_eq!(r.code(), 0, "bet on {mid}/{market}: {r:?}");
}

/// The id of the user called `name`.
async fn uid(app: &App, name: &str) -> u64 {
    let r = app.gm().get(&format!("/api/users?name={name}"), ADMIN).await;
    r.body["user_id"].as_u64().unwrap_or_else(|| panic!("user {name}: {}", r.text))
}

/// A YYYY-MM-DD of the day `ms` falls in.
fn date(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let d = time::Date::from_julian_day(2_440_588 + days as i32).unwrap();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// A bet's row: id, uid, match_id, market_id, stake, state, payout, ts.
type BetRow = (u64, u64, u64, u64, i64, String, Option<i64>, i64);

/// The rows of the record a report is recomputed from.
struct Record {
    /// id, uid, match_id, market_id, stake, state, payout, ts
    bets: Vec<BetRow>,
    /// delta, reason, ts
    ledger: Vec<(i64, String, i64)>,
    /// created_at
    users: Vec<i64>,
    /// id, parent_id, market, title, type, start_at
    matches: Vec<(u64, u64, String, String, String, i64)>,
}

impl Record {
    async fn read(pool: &sqlx::MySqlPool) -> Record {
        let q = |sql| sqlx::query_as(sql);
        Record {
            bets: q("SELECT id, uid, match_id, market_id, stake, state, payout, CAST(ts AS SIGNED) FROM bets")
                .fetch_all(pool)
                .await
                .unwrap(),
            ledger: sqlx::query_as("SELECT delta, reason, CAST(ts AS SIGNED) FROM ledger")
                .fetch_all(pool)
                .await
                .unwrap(),
            users: sqlx::query_scalar("SELECT CAST(created_at AS SIGNED) FROM users").fetch_all(pool).await.unwrap(),
            matches: sqlx::query_as("SELECT id, parent_id, market, title, type, CAST(start_at AS SIGNED) FROM matches")
                .fetch_all(pool)
                .await
                .unwrap(),
        }
    }

    /// key, label and the bet figures of `bets`.
    fn row<'a>(key: String, label: String, bets: impl Iterator<Item = &'a BetRow>) -> Value {
        let (mut n, mut uids, mut stakes, mut payouts, mut refunds, mut open) = (0, BTreeSet::new(), 0, 0, 0, 0);
        for (_, uid, _, _, stake, state, payout, _) in bets {
            n += 1;
            uids.insert(*uid);
            stakes += stake;
            match state.as_str() {
                "won" => payouts += payout.unwrap(),
                "refunded" => refunds += stake,
                "open" => open += stake,
                _ => {}
            }
        }
        json!({"key": key, "label": label, "bets": n, "bettors": uids.len(), "stakes": stakes, "payouts": payouts,
               "refunds": refunds, "open": open, "house": stakes - payouts - refunds})
    }

    /// The expected rows and totals of a report by match, market or type over `[start, end)`.
    fn by_bets(&self, by: &str, start: i64, end: i64) -> (Vec<Value>, Value) {
        let mut in_range: Vec<_> = self.matches.iter().filter(|m| m.1 == 0 && m.5 >= start && m.5 < end).collect();
        in_range.sort_by_key(|m| (m.5, m.0));
        let ids: BTreeSet<u64> = in_range.iter().map(|m| m.0).collect();
        let scope = || self.bets.iter().filter(|b| ids.contains(&b.2));
        let rows = match by {
            "match" => in_range
                .iter()
                .map(|m| Self::row(m.0.to_string(), m.3.clone(), scope().filter(|b| b.2 == m.0)))
                .collect(),
            "market" => in_range
                .iter()
                .flat_map(|m| {
                    let mut markets: Vec<_> = self.matches.iter().filter(|k| k.0 == m.0 || k.1 == m.0).collect();
                    markets.sort_by_key(|k| k.0);
                    markets.into_iter().map(move |k| (m, k))
                })
                .map(|(m, k)| {
                    let name = if k.2.is_empty() { "Match winner" } else { &k.2 };
                    Self::row(k.0.to_string(), format!("{} · {name}", m.3), scope().filter(|b| b.3 == k.0))
                })
                .collect(),
            _ => {
                let types: BTreeSet<&String> = in_range.iter().map(|m| &m.4).collect();
                types
                    .into_iter()
                    .map(|t| {
                        let of: BTreeSet<u64> = in_range.iter().filter(|m| &m.4 == t).map(|m| m.0).collect();
                        Self::row(t.clone(), t.clone(), scope().filter(|b| of.contains(&b.2)))
                    })
                    .collect()
            }
        };
        (rows, Self::row("total".into(), String::new(), scope()))
    }

    /// The day figures of `[start, end)`: from the ledger, the bets placed and the sign-ups.
    fn day(&self, key: String, start: i64, end: i64) -> Value {
        let within = |ts: i64| ts >= start && ts < end;
        let mut row = Self::row(key, String::new(), self.bets.iter().filter(|b| within(b.7)));
        let (mut stakes, mut payouts, mut refunds, mut deposits) = (0, 0, 0, BTreeMap::<String, i64>::new());
        for (delta, reason, _) in self.ledger.iter().filter(|l| within(l.2)) {
            match reason.as_str() {
                "bet" => stakes -= delta,
                "payout" => payouts += delta,
                "refund" => refunds += delta,
                other => *deposits.entry(other.to_owned()).or_default() += delta,
            }
        }
        // Coins by day are the ledger's; bets, bettors and what is still open are the bets'.
        row["stakes"] = json!(stakes);
        row["payouts"] = json!(payouts);
        row["refunds"] = json!(refunds);
        row["house"] = json!(stakes - payouts - refunds);
        row["new_users"] = json!(self.users.iter().filter(|&&c| within(c)).count());
        row["deposits"] = json!(deposits);
        row
    }
}

#[tokio::test]
async fn reports_equal_a_recomputation_from_the_bets_ledger_and_users_tables_and_export_csv() {
    let app = App::spawn().await;
    let now = common::time::now_ms() as i64;
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    // Two matches starting in the range (one with a second market), one long after it.
    let mut a = match_spec("lol");
    a["title"] = json!("Alpha vs Beta");
    a["start_at"] = json!(now + 3_600_000);
    a["markets"] = json!([{"name": "First blood", "options": [{"key": "a", "label": "A", "odds": 1900}, {"key": "b", "label": "B", "odds": 1900}]}]);
    let mut b = match_spec("dota2");
    b["title"] = json!("Gamma vs Delta");
    b["start_at"] = json!(now + 7_200_000);
    let (a, b, later) =
        (app.open_match(&a).await.id, app.open_match(&b).await.id, app.open_match(&match_spec("lol")).await.id);
    let fb = app.match_view(a).await["markets"][1]["match_id"].as_u64().unwrap();
    let gm = app.staff(Role::Operator);
    gm.post::<Value>(&format!("/api/matches/{a}/markets/{fb}/open"), &json!({})).await.unwrap();

    let (mut p1, mut p2, mut p3) =
        (app.player("rp_one").await, app.player("rp_two").await, app.player("rp_three").await);
    bet(&mut p1, a, a, "a", 100).await;
    bet(&mut p1, a, fb, "a", 50).await;
    bet(&mut p2, a, a, "b", 200).await;
    bet(&mut p3, b, b, "a", 300).await;
    bet(&mut p1, later, later, "a", 10).await;
    // a: "a" wins, first blood is void; b is cancelled; the later match stays open.
    app.act(a, "start", json!({})).await;
    app.act(a, "result", json!({"winner": "a"})).await;
    gm.post::<Value>(&format!("/api/matches/{a}/markets/{fb}/cancel"), &json!({})).await.unwrap();
    app.act(b, "cancel", json!({})).await;
    app.wait_state(a, 9).await;
    app.wait_state(b, 8).await;
    // A deposit through the payment provider; a grant, and coins taken back.
    let two = uid(&app, "rp_two").await;
    let order = app.gm().order(two, 500).await;
    let paid = app.gm().pay(&order, two, 500).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let admin = app.staff(Role::Admin);
    for (amount, req) in [(70, "rp-grant-1"), (-20, "rp-grant-2")] {
        let body = json!({"amount": amount, "reason": "report test", "request_id": req});
        admin.post::<Value>(&format!("/api/users/{}/grant", uid(&app, "rp_three").await), &body).await.unwrap();
    }
    app.check().await;

    let record = Record::read(&app.db().pool).await;
    let (from, to) = (date(today - DAY_MS), date(today + 2 * DAY_MS));
    let (start, end) = (today - DAY_MS, today + 3 * DAY_MS);
    let staff = app.gm();
    let get = |path: String| {
        let staff = staff.clone();
        async move {
            let r = staff.get(&path, token(Role::Viewer)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            r
        }
    };
    for by in ["match", "market", "type"] {
        let report = get(format!("/api/reports/{by}?from={from}&to={to}")).await.body;
        let (rows, totals) = record.by_bets(by, start, end);
        assert_eq!(report["items"], json!(rows), "by {by}");
        assert_eq!(report["totals"], totals, "by {by}");
        assert_eq!(report["total"], rows.len(), "by {by}");
    }
    // What the test did, in figures: the recomputation is not of an empty record.
    let by_match = get(format!("/api/reports/match?from={from}&to={to}")).await.body;
    let t = &by_match["totals"];
    assert_eq!((t["bets"].as_i64(), t["bettors"].as_i64(), t["stakes"].as_i64()), (Some(4), Some(3), Some(650)));
    assert_eq!((t["payouts"].as_i64(), t["refunds"].as_i64(), t["open"].as_i64()), (Some(185), Some(350), Some(0)));
    assert_eq!(t["house"], 650 - 185 - 350);
    let ids: Vec<String> =
        by_match["items"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [a.to_string(), b.to_string()], "the later match starts outside the range");
    let by_type = get(format!("/api/reports/type?from={from}&to={to}&type=lol")).await.body;
    assert_eq!(by_type["items"].as_array().unwrap().len(), 1, "{by_type}");
    assert_eq!(by_type["totals"]["stakes"], 350, "match a only");

    // By day, every day of the range, a page at a time.
    let days: Vec<Value> =
        (0..4).map(|i| record.day(date(start + i * DAY_MS), start + i * DAY_MS, start + (i + 1) * DAY_MS)).collect();
    let mut totals = record.day("total".into(), start, end);
    totals["label"] = json!("");
    let whole = get(format!("/api/reports/day?from={from}&to={to}")).await.body;
    assert_eq!(whole["items"], json!(days));
    assert_eq!(whole["totals"], totals);
    assert_eq!(whole["total"], 4);
    let page = get(format!("/api/reports/day?from={from}&to={to}&offset=1&limit=2")).await.body;
    assert_eq!(page["items"], json!(days[1..3]), "the second page of two days");
    let grant = app.cfg.logic.signup_grant;
    assert_eq!(whole["totals"]["deposits"], json!({"grant": 50, "payment": 500, "signup": 3 * grant}));
    assert_eq!(whole["totals"]["new_users"], 3);
    assert_eq!(whole["totals"]["bets"], 5, "the later match's bet was placed in the range");

    // CSV: the same rows and the totals, as a file.
    let csv = get(format!("/api/reports/day?from={from}&to={to}&format=csv")).await;
    assert!(csv.header("content-type").starts_with("text/csv"), "{:?}", csv.headers);
    assert!(csv.header("content-disposition").contains(&format!("matchday-day-{from}-{to}.csv")));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "key,label,bets,bettors,stakes,payouts,refunds,open,house,new_users,deposits_grant,deposits_payment,deposits_signup"
    );
    assert_eq!(lines.len(), 1 + 4 + 1, "{}", csv.text);
    let cells = |v: &Value| -> String {
        let mut c: Vec<String> = vec![v["key"].as_str().unwrap().into(), v["label"].as_str().unwrap().into()];
        for f in ["bets", "bettors", "stakes", "payouts", "refunds", "open", "house", "new_users"] {
            c.push(v[f].to_string());
        }
        for r in ["grant", "payment", "signup"] {
            c.push(v["deposits"][r].as_i64().unwrap_or(0).to_string());
        }
        c.join(",")
    };
    for (line, row) in lines[1..].iter().zip(days.iter().chain([&totals])) {
        assert_eq!(*line, cells(row));
    }
    let market_csv = get(format!("/api/reports/market?from={from}&to={to}&format=csv")).await;
    assert!(
        market_csv.text.contains("\"Alpha vs Beta · First blood\"")
            || market_csv.text.contains("Alpha vs Beta · First blood,")
    );

    // Bad requests are named.
    for (query, field) in [
        ("day?from=2026-02-30", "from"),
        ("day?from=2026-12-02&to=2026-12-01", "to"),
        ("match?format=xml", "format"),
        ("day?type=lol", "type"),
        ("match?type=chess", "type"),
        ("day?limit=0", "limit"),
    ] {
        let r = staff.get(&format!("/api/reports/{query}"), token(Role::Viewer)).await;
        assert_eq!((r.status, r.error_code()), (400, "invalid"), "{query}: {}", r.text);
        assert!(r.message().starts_with(field), "{query}: {}", r.message());
    }
    assert_eq!(staff.get("/api/reports/week", ADMIN).await.status, 400);
    assert_eq!(staff.get("/api/reports/day", "").await.status, 401);
    app.finish().await;
}

#[tokio::test]
async fn the_audit_log_users_and_bets_are_searched_and_paged() {
    let app = App::spawn().await;
    let m = app.open_match(&match_spec("lol")).await.id;
    let mut players = Vec::new();
    for name in ["srch_ann", "srch_bob", "srch_cyd", "other_dan"] {
        let mut c = app.player(name).await;
        bet(&mut c, m, m, "a", 10).await;
        players.push(c);
    }
    bet(&mut players[0], m, m, "b", 20).await;
    app.act(m, "suspend", json!({})).await;
    app.check().await;
    let staff = app.gm();
    let get = |path: &str, role| {
        let (staff, path) = (staff.clone(), path.to_owned());
        async move { staff.get(&path, token(role)).await }
    };

    // The audit log: the match's lifecycle by otto (the operator), newest first; viewers may not read it.
    let log = get(&format!("/api/audit?target=match:{m}"), Role::Operator).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let actions: Vec<&str> =
        log.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["match.suspend", "match.open", "match.approve", "match.create"], "{}", log.text);
    assert!(log.body["items"].as_array().unwrap().iter().all(|e| e["who"] == "otto" && e["role"] == "operator"));
    assert_eq!(log.body["items"][3]["payload"]["title"], "A vs B", "the request, as JSON");
    let paged = get(&format!("/api/audit?target=match:{m}&action=match.&offset=1&limit=2"), Role::Operator).await.body;
    assert_eq!((paged["total"].as_u64(), paged["items"][0]["action"].as_str()), (Some(4), Some("match.open")));
    assert_eq!(get("/api/audit?who=nobody", Role::Operator).await.body["total"], 0);
    assert_eq!(get("/api/audit?action=match.s", Role::Operator).await.body["total"], 1);
    assert_eq!(get("/api/audit", Role::Viewer).await.status, 403);
    assert_eq!(get("/api/audit?from=someday", Role::Operator).await.status, 400);

    // Users: by part of the name (any case), by id, paged, newest first.
    let found = get("/api/users/search?q=SRCH_&limit=2", Role::Viewer).await.body;
    let names = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    let rest = get("/api/users/search?q=srch_&limit=2&offset=2", Role::Viewer).await.body;
    assert_eq!((found["total"].as_u64(), names(&found).len(), names(&rest).len()), (Some(3), 2, 1));
    let listed: Vec<&Value> =
        found["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).collect();
    let mut all: Vec<String> = listed.iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
    let order: Vec<(u64, u64)> =
        listed.iter().map(|u| (u["created_at"].as_u64().unwrap(), u["user_id"].as_u64().unwrap())).collect();
    assert!(order.windows(2).all(|w| w[0] > w[1]), "newest first: {order:?}");
    all.sort();
    assert_eq!(all, ["srch_ann", "srch_bob", "srch_cyd"]);
    let ann = uid(&app, "srch_ann").await;
    let by_id = get(&format!("/api/users/search?q={ann}"), Role::Viewer).await.body;
    assert_eq!(names(&by_id), ["srch_ann"]);
    assert_eq!(by_id["items"][0]["balance"], app.cfg.logic.signup_grant - 30);
    assert_eq!(
        get("/api/users/search?q=100%25", Role::Viewer).await.body["total"],
        0,
        "% is a character, not a wildcard"
    );

    // Bets: by player, match and state, newest first, paged.
    let mine = get(&format!("/api/bets?user_id={ann}"), Role::Viewer).await.body;
    let stakes: Vec<i64> = mine["items"].as_array().unwrap().iter().map(|b| b["stake"].as_i64().unwrap()).collect();
    assert_eq!(stakes, [20, 10]);
    assert_eq!(mine["items"][0]["option"], "b");
    let on_match = get(&format!("/api/bets?match_id={m}&state=open&limit=3"), Role::Viewer).await.body;
    assert_eq!((on_match["total"].as_u64(), on_match["items"].as_array().unwrap().len()), (Some(5), 3));
    assert_eq!(get(&format!("/api/bets?match_id={m}&state=won"), Role::Viewer).await.body["total"], 0);
    assert_eq!(get("/api/bets?state=winning", Role::Viewer).await.status, 400);
    app.finish().await;
}

#[tokio::test]
async fn without_mysql_the_records_reads_answer_unavailable_and_the_rest_of_gm_works() {
    // A MySQL URL where nothing listens: gm starts all the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = App::builder()
        .without(test_support::app::Service::Dbsvr)
        .config(move |cfg| cfg.mysql.url = format!("mysql://root@{closed}/matchday"))
        .spawn()
        .await;
    let staff = app.gm();
    for path in ["/api/reports/day", "/api/audit", "/api/users/search?q=a", "/api/bets"] {
        let r = staff.get(path, ADMIN).await;
        assert_eq!((r.status, r.error_code()), (503, "unavailable"), "{path}: {}", r.text);
        assert_eq!(r.header("retry-after"), "1", "{path}");
    }
    assert_eq!(staff.get("/api/matches", ADMIN).await.status, 200, "Redis's reads do not need MySQL");
    app.finish().await;
}
