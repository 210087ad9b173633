//! The documents and the code cannot drift apart on the lists a reader relies on:
//!
//! - every route of gm's OpenAPI document is in docs/gm.md's Routes table and in its
//!   `/openapi.json` listing, and neither names an `/api` route that gm does not serve;
//! - every key shape the key module builds is in docs/architecture.md's key table, and the table
//!   names no key the module does not build;
//! - every `matchday_…` metric the services emit is in docs/operations.md's Metrics table.
//!
//! No Redis or MySQL needed: the OpenAPI document is `gm::openapi()` (tests/it/openapi.rs checks that
//! it is what gm serves), the rest is read from the source tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const GM_MD: &str = include_str!("../../docs/gm.md");
const ARCHITECTURE_MD: &str = include_str!("../../docs/architecture.md");
const OPERATIONS_MD: &str = include_str!("../../docs/operations.md");

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of `doc` from the line `heading` (e.g. "## Routes") to the next heading of the same
/// or a higher level.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no section {heading:?}")) + 1;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = &doc[start..];
    let mut offset = body.find('\n').map_or(body.len(), |i| i + 1);
    let mut in_code = false;
    for line in body[offset..].split_inclusive('\n') {
        in_code ^= line.starts_with("```");
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !in_code && hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        offset += line.len();
    }
    &body[..offset]
}

/// The backticked items of the first cell of every table row in `text`.
fn first_cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l[1..].split('|').next().unwrap_or("").split('`').skip(1).step_by(2).map(str::to_owned).collect())
        .collect()
}

/// (METHOD, path) of every operation in gm's OpenAPI document.
fn openapi_routes() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(gm::openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// docs/gm.md's Routes table: "## Routes" up to its first subsection.
fn routes_section() -> &'static str {
    let text = section(GM_MD, "## Routes");
    &text[..text.find("\n#").unwrap_or(text.len())]
}

/// The routes of the Routes table. A cell lists routes as `` `POST /api/matches/{id}/approve` · `/open` ``:
/// an item without a method takes the one before it, and replaces the last segment of the path
/// before it unless it is a whole `/api/…` path. Query strings are dropped.
fn routes_table() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for cell in first_cells(routes_section()) {
        let (mut method, mut path) = (String::new(), String::new());
        for item in cell {
            let item = item.split('?').next().unwrap_or_default();
            match item.split_once(' ') {
                Some((m, p)) if m.chars().all(|c| c.is_ascii_uppercase()) => {
                    (method, path) = (m.to_owned(), p.to_owned());
                }
                _ if item.starts_with("/api/") || path.is_empty() => path = item.to_owned(),
                _ if item.starts_with('/') => {
                    let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
                    path = format!("{parent}{item}");
                }
                _ => continue,
            }
            routes.insert((method.clone(), path.clone()));
        }
    }
    routes
}

/// The routes of the `curl $GM/openapi.json | jq …` listing: its output lines `METHOD /path`.
fn openapi_listing() -> BTreeSet<(String, String)> {
    let start = GM_MD.find("/openapi.json | jq -r").expect("docs/gm.md shows the /openapi.json listing");
    GM_MD[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('$') && !l.starts_with("```"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (m, p) = l.split_once(' ').unwrap_or_else(|| panic!("listing line {l:?} is not `METHOD /path`"));
            (m.to_owned(), p.to_owned())
        })
        .collect()
}

fn show(routes: &BTreeSet<(String, String)>) -> String {
    routes.iter().map(|(m, p)| format!("\n  {m} {p}")).collect()
}

#[test]
fn every_gm_route_is_documented_in_gm_md_and_nothing_more() {
    let served = openapi_routes();
    assert!(served.len() > 20, "the OpenAPI document lists {} routes", served.len());

    let table = routes_table();
    let missing: BTreeSet<_> = served.difference(&table).cloned().collect();
    assert!(missing.is_empty(), "docs/gm.md's Routes table lacks routes gm serves:{}", show(&missing));
    let stale: BTreeSet<_> = table.iter().filter(|(_, p)| p.starts_with("/api/")).cloned().collect();
    let stale: BTreeSet<_> = stale.difference(&served).cloned().collect();
    assert!(stale.is_empty(), "docs/gm.md's Routes table names /api routes gm does not serve:{}", show(&stale));

    let listing = openapi_listing();
    let unlisted: BTreeSet<_> = served.difference(&listing).cloned().collect();
    let extra: BTreeSet<_> = listing.difference(&served).cloned().collect();
    assert!(
        unlisted.is_empty() && extra.is_empty(),
        "docs/gm.md's `curl $GM/openapi.json | jq` listing is not what gm serves: it lacks{}\nand has extra{}",
        show(&unlisted),
        show(&extra)
    );
}

/// `.rs` files under `dir`, skipping build output.
pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source files of the crates that run in production: every workspace folder with a `src/`
/// except bench, test-support, the client SDK and the fuzzer, plus the binary's own `src/`.
fn service_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for entry in std::fs::read_dir(root()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let src = entry.path().join("src");
        if src.is_dir() && !["bench", "test-support", "client", "fuzz", "target"].contains(&name.as_str()) {
            rust_files(&src, &mut files);
        }
    }
    files
}

/// The string literals of `format_args!("…")` and `format!("…")` calls in `code`.
fn format_strings(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for mac in ["format_args!(\"", "format!(\""] {
        for (at, _) in code.match_indices(mac) {
            let rest = &code[at + mac.len()..];
            out.push(rest[..rest.find('"').expect("closing quote")].to_owned());
        }
    }
    out
}

/// A key format string as a glob: each `{placeholder}`, `{{tag}}` or `{{{placeholder}}}` → `*`.
fn key_glob(format: &str) -> String {
    // A placeholder `{x}`, a hash tag `{{name}}` and a tagged placeholder `{{{x}}}` each stand for
    // one `{…}` of the documented key.
    let mut out = String::new();
    let mut depth = 0;
    for c in format.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    out.push('*');
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A documented key with each `{…}` replaced by `X`.
fn doc_key(key: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in key.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push('X');
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `text` matches `glob`, where `*` stands for one or more characters.
fn glob_match(glob: &str, text: &str) -> bool {
    match glob.split_once('*') {
        None => glob == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else { return false };
            (1..=rest.len()).any(|i| rest.is_char_boundary(i) && glob_match(tail, &rest[i..]))
        }
    }
}

#[test]
fn every_redis_key_is_in_the_architecture_key_table_and_nothing_more() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let modules: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| !f.starts_with(root().join("tests")))
        .filter(|f| std::fs::read_to_string(f).is_ok_and(|s| s.contains("pub struct Keys {")))
        .collect();
    assert_eq!(modules.len(), 1, "expected one key module (`pub struct Keys`), found {modules:?}");
    let code = std::fs::read_to_string(&modules[0]).unwrap();
    let code = code.split("#[cfg(test)]").next().unwrap();
    // Patterns (`node:*`, the whole prefix) are for SCAN, not keys.
    let globs: BTreeSet<String> =
        format_strings(code).iter().filter(|f| !f.contains('*')).map(|f| key_glob(f)).collect();
    assert!(globs.len() > 30, "found only {} key shapes in {}", globs.len(), modules[0].display());

    let documented: Vec<(String, String)> = first_cells(section(ARCHITECTURE_MD, "## Redis keys"))
        .into_iter()
        .flatten()
        .map(|k| (doc_key(&k), k))
        .collect();
    let missing: Vec<&String> =
        globs.iter().filter(|g| !documented.iter().any(|(key, _)| glob_match(g, key))).collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's key table lacks keys built in {} (as globs): {missing:?}",
        modules[0].display()
    );
    let stale: Vec<&String> =
        documented.iter().filter(|(key, _)| !globs.iter().any(|g| glob_match(g, key))).map(|(_, k)| k).collect();
    assert!(stale.is_empty(), "docs/architecture.md's key table names keys nothing builds: {stale:?}");
}

/// Every metric name the services' code records (its `"matchday_…"` literals).
fn emitted_metrics() -> BTreeSet<String> {
    let mut emitted = BTreeSet::new();
    for file in service_sources() {
        let code = std::fs::read_to_string(&file).unwrap();
        for (at, _) in code.match_indices("\"matchday_") {
            let name: String = code[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            emitted.insert(name);
        }
    }
    assert!(emitted.len() > 20, "found only {} metric names", emitted.len());
    emitted
}

#[test]
fn every_metric_is_in_the_operations_metrics_table() {
    let table = section(OPERATIONS_MD, "## Metrics");
    let documented: BTreeSet<String> = first_cells(table).into_iter().flatten().collect();
    let emitted = emitted_metrics();
    let missing: Vec<&String> = emitted.difference(&documented).collect();
    assert!(missing.is_empty(), "docs/operations.md's Metrics table lacks metrics the services emit: {missing:?}");
}

/// The Grafana dashboard (deploy/grafana/matchday.json) asks only for metrics the services record
/// (a renamed metric would leave a panel silently empty).
#[test]
fn the_grafana_dashboard_queries_only_metrics_the_services_record() {
    let text = std::fs::read_to_string(root().join("deploy/grafana/matchday.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let emitted = emitted_metrics();
    let mut queried = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a query");
            for (at, _) in expr.match_indices("matchday_") {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                // A histogram's series: name_bucket, name_sum, name_count.
                let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(&name);
                queried.insert(base.to_owned());
            }
        }
    }
    assert!(queried.len() >= 15, "the dashboard queries only {queried:?}");
    let unknown: Vec<&String> = queried.difference(&emitted).collect();
    assert!(unknown.is_empty(), "the dashboard queries metrics nothing records: {unknown:?}");
}

#[test]
fn the_helpers_read_what_they_should() {
    assert_eq!(key_glob("q:c2l:{{{group}}}"), "q:c2l:*");
    assert_eq!(key_glob("{queue}:inflight:{worker}"), "*:inflight:*");
    assert_eq!(doc_key("matches:{list,doing,finished}:{all,type}"), "matches:X:X");
    assert!(glob_match("*:inflight:*", &doc_key("q:c2l:{G}:inflight:{W}")));
    assert!(glob_match("match:*", "match:X") && !glob_match("match:*:pool", "match:X"));
    assert!(!glob_match("seq:user", "seq:match"));
}
