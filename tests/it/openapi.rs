//! gm's OpenAPI document: served at /openapi.json, derived from the code (utoipa), lists every
//! route of the contract, and is a valid OpenAPI 3 document (checked by openapi-spec-validator
//! from the test venv that scripts/deps.sh sets up).

use std::path::PathBuf;
use std::process::Command;

use common::Shutdown;
use serde_json::Value;
use test_support::http::Gm;
use test_support::{TestEnv, spawn_gm};

/// The gm routes of DESIGN.md §13 (the contract), and its extensions, as (method, OpenAPI path).
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/api/matches"),
    ("post", "/api/matches/import"),
    ("get", "/api/matches"),
    ("get", "/api/matches/{id}"),
    ("post", "/api/matches/{id}/approve"),
    ("post", "/api/matches/{id}/open"),
    ("post", "/api/matches/{id}/suspend"),
    ("post", "/api/matches/{id}/start"),
    ("post", "/api/matches/{id}/cancel"),
    ("post", "/api/matches/{id}/close"),
    ("put", "/api/matches/{id}/odds"),
    ("post", "/api/matches/{id}/result"),
    ("get", "/api/users"),
    ("get", "/api/whoami"),
    ("get", "/api/users/{id}"),
    ("post", "/api/users/{id}/grant"),
    // Extensions: bans (issue 8).
    ("post", "/api/users/{id}/ban"),
    ("post", "/api/users/{id}/unban"),
    ("post", "/api/payments/callback"),
    ("post", "/api/announcements"),
    ("get", "/api/stats"),
    ("get", "/api/nodes"),
    ("get", "/api/queues"),
    // Extensions: live operations (issue 9).
    ("post", "/api/ops/drain"),
    // Extensions: markets (issue 22).
    ("post", "/api/matches/{id}/markets"),
    ("post", "/api/matches/{id}/markets/{market_id}/{action}"),
    ("post", "/api/matches/{id}/markets/{market_id}/result"),
    ("put", "/api/matches/{id}/markets/{market_id}/odds"),
    // Extensions: dead letters (issue 22).
    ("get", "/api/dead"),
    ("get", "/api/dead/entries"),
    ("post", "/api/dead/requeue"),
    // Extensions: editing (issue 22).
    ("patch", "/api/matches/{id}"),
    ("patch", "/api/matches/{id}/markets/{market_id}"),
    // Extensions: Lua handlers (issue 9).
    ("post", "/api/ops/reload"),
    // Extensions: reports and the record's lists (issue 22).
    ("get", "/api/reports/{by}"),
    ("get", "/api/audit"),
    ("get", "/api/users/search"),
    ("get", "/api/bets"),
    // Extensions: accounts (issue 23).
    ("post", "/api/users/{id}/password-reset"),
    ("get", "/api/users/{id}/history"),
    // Extensions: the notice board (issue 23).
    ("post", "/api/notices"),
    ("get", "/api/notices"),
    ("get", "/api/notices/{id}"),
    ("post", "/api/notices/{id}/withdraw"),
    // Extensions: staff identity and money controls (issue 24).
    ("post", "/api/orders"),
    ("get", "/api/approvals"),
    ("get", "/api/approvals/{id}"),
    ("post", "/api/approvals/{id}/approve"),
    ("post", "/api/approvals/{id}/reject"),
    ("post", "/api/staff/login"),
    ("post", "/api/staff/logout"),
    ("get", "/api/staff"),
    ("post", "/api/staff"),
    ("patch", "/api/staff/{name}"),
    ("post", "/api/staff/tokens"),
    ("get", "/api/staff/tokens"),
    ("post", "/api/staff/tokens/{id}/revoke"),
];

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MATCHDAY_TEST_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(venv.exists(), "no test venv: run scripts/deps.sh (it creates .venv), or set MATCHDAY_TEST_PYTHON");
    venv
}

#[tokio::test]
async fn the_served_document_lists_every_route_and_validates_as_openapi_3() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let gm = Gm::new(spawn_gm(env.node(1), &shutdown).await);
    let served = gm.call("GET", "/openapi.json", None, None::<&()>).await;
    assert_eq!(served.status, 200, "no token needed");
    let doc = served.body;
    assert_eq!(doc, serde_json::to_value(gm::openapi()).unwrap(), "served = derived from the code");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);

    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    for (method, path) in CONTRACT {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is not in the OpenAPI document"
        );
    }
    assert_eq!(documented.len(), CONTRACT.len(), "documented routes beyond the contract: {documented:?}");
    // Every route that takes a token says so.
    for (method, path) in &documented {
        let op: &Value = &paths[path][method];
        let secured = op.get("security").is_some();
        // The provider's signed callback and the staff sign-in are the only routes without a token.
        let open = ["/api/payments/callback", "/api/staff/login"].contains(&path.as_str());
        assert_eq!(secured, !open, "{method} {path} security");
    }

    validates(&doc, "gm");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}

/// openapi-spec-validator accepts `doc`.
fn validates(doc: &Value, name: &str) {
    let file = std::env::temp_dir().join(format!("matchday-openapi-{name}-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out =
        Command::new(python()).args(["-m", "openapi_spec_validator"]).arg(&file).output().expect("run the validator");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the {name} document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The public read API's routes (docs/web.md).
const WEB: &[(&str, &str)] = &[
    ("get", "/api/matches"),
    ("get", "/api/matches/{id}"),
    ("get", "/api/results"),
    ("get", "/api/leaderboards/{board}/{period}"),
    ("get", "/api/notices"),
];

#[tokio::test]
async fn the_public_apis_document_lists_its_routes_and_validates_as_openapi_3() {
    let env = TestEnv::new().await;
    let shutdown = Shutdown::new();
    let web = Gm::new(test_support::spawn_web(env.node(1), &shutdown).await);
    let served = web.call("GET", "/openapi.json", None, None::<&()>).await;
    assert_eq!(served.status, 200);
    let doc = served.body;
    assert_eq!(doc, serde_json::to_value(web::openapi()).unwrap(), "served = derived from the code");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    documented.sort();
    let mut want: Vec<(String, String)> = WEB.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    want.sort();
    assert_eq!(documented, want);
    validates(&doc, "web");
    shutdown.shutdown(std::time::Duration::from_secs(5)).await;
}
