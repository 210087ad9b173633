//! docs/protocol.md and the code's catalogues cannot drift: every msg id and error code in the code
//! is documented with the same name, and the document lists nothing the code does not have.

use std::collections::BTreeMap;

use protocol::ErrorCode;
use protocol::msg::{CATALOGUE, Direction};

const DOC: &str = include_str!("../../docs/protocol.md");

/// Rows `| number | name | ...` of the table under `heading`.
fn table(heading: &str) -> BTreeMap<u16, Vec<String>> {
    let start = DOC.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let mut rows = BTreeMap::new();
    for line in DOC[start..].lines().skip(1).skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect();
        if let Ok(n) = cells[0].parse::<u16>() {
            assert!(rows.insert(n, cells[1..].to_vec()).is_none(), "{n} listed twice");
        }
    }
    rows
}

#[test]
fn message_ids_match_the_catalogue() {
    let doc = table("## Message ids");
    for m in CATALOGUE {
        let row = doc.get(&m.id).unwrap_or_else(|| panic!("msg {} ({}) is not documented", m.id, m.name));
        assert_eq!(row[0], m.name, "name of {}", m.id);
        let direction = match m.direction {
            Direction::Request => "request",
            Direction::Push => "push",
        };
        assert_eq!(row[1], direction, "direction of {}", m.id);
    }
    for id in doc.keys() {
        assert!(protocol::msg::info(*id).is_some(), "docs list msg {id}, which the code does not have");
    }
}

/// Requests are live iff logic handles them; pushes are live iff pushsvr sends them.
#[test]
fn live_messages_are_exactly_the_handled_ones() {
    let doc = table("## Message ids");
    for (id, row) in &doc {
        let live = row.last().map(String::as_str) == Some("live");
        let (served, by) = match protocol::msg::info(*id).map(|m| m.direction) {
            Some(Direction::Push) => (pushsvr::PUSHES.contains(id), "pushsvr::PUSHES"),
            _ => (logic::HANDLERS.iter().any(|(h, _)| h == id), "the dispatch table"),
        };
        assert_eq!(live, served, "msg {id}: the docs say {:?}, {by} says served = {served}", row.last());
    }
}

#[test]
fn error_codes_match_the_catalogue() {
    let doc = table("## Error codes");
    for code in ErrorCode::ALL {
        let row = doc.get(&code.code()).unwrap_or_else(|| panic!("code {} is not documented", code.code()));
        assert_eq!(row[0], code.name(), "name of code {}", code.code());
    }
    for n in doc.keys() {
        assert!(ErrorCode::from_code(*n).is_some(), "docs list code {n}, which the code does not have");
    }
}

/// docs/schema/protocol.json is what the code generates (`matchday schema`): a message, body field
/// or error code changed in the protocol crate without the file fails here.
#[test]
fn the_checked_in_schema_is_what_the_code_generates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/protocol.json");
    let file = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let generated = protocol::schema::document_text();
    if file != generated {
        let line = file.lines().zip(generated.lines()).position(|(a, b)| a != b);
        let line = line.unwrap_or_else(|| file.lines().count().min(generated.lines().count())) + 1;
        panic!(
            "docs/schema/protocol.json differs from the code (first at line {line}): \
             run `cargo run -- schema > docs/schema/protocol.json`, then `npm run gen --prefix clients/ts`"
        );
    }
}
