//! The TypeScript client (clients/ts) against `matchday up`, over ws:// and over wss:// with the
//! development CA `up --tls` makes: its Node suite (`npm test`: the generated types match
//! docs/schema/protocol.json, sign-up and login, a bet and its settlement pushes, refusals with
//! their typed bodies, and a server-side disconnect survived by reconnecting and resuming with the
//! bet in flight placed once). Needs Node and `npm ci --prefix clients/ts` (scripts/deps.sh).

use std::path::PathBuf;
use std::process::Command;

use crate::up::Up;

#[test]
fn the_typescript_client_passes_its_suite_against_matchday_up_over_ws() {
    suite(&[], "ts");
}

#[test]
fn the_typescript_client_passes_its_suite_against_matchday_up_over_wss() {
    suite(&["--tls"], "tst");
}

fn suite(args: &[&str], tag: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/ts");
    assert!(
        dir.join("node_modules/@msgpack/msgpack").exists(),
        "the TypeScript client's packages are missing: run scripts/deps.sh (npm ci --prefix clients/ts)"
    );
    let up = Up::start(args, tag);
    let mut npm = Command::new("npm");
    npm.args(["test", "--prefix"]).arg(&dir);
    npm.env("MATCHDAY_WS_URL", &up.ws_url).env("MATCHDAY_GM_URL", &up.gm_url).env("MATCHDAY_GM_TOKEN", &up.gm_token);
    if let Some(ca) = &up.ca {
        assert!(up.ws_url.starts_with("wss://"), "{}", up.ws_url);
        npm.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let out = npm.output().expect("run npm test (is Node installed? scripts/deps.sh)");
    let status = up.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the TypeScript suite failed:\n{stdout}\n{stderr}");
    // The tests ran and passed (node:test's summary), not an empty run: at least the four of clients/ts/test.
    let count =
        |what: &str| stdout.lines().find_map(|l| l.strip_prefix(what)).and_then(|n| n.trim().parse::<u32>().ok());
    assert!(count("# pass ").is_some_and(|n| n >= 4) && count("# fail ") == Some(0), "{stdout}");
    assert!(status.success(), "matchday up exits cleanly on SIGINT: {status}");
}
