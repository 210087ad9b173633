//! The store's contract with the scripts: every script in redis-scripts/ has a binding, every reply
//! a script's header lists has a variant in its binding's `Outcome` (and no variant is unlisted),
//! and nothing outside `common/src/store/` evaluates a script.

use std::collections::BTreeSet;

use common::store::ScriptName;

use crate::docs::{root, rust_files};

/// The reply names a script's header lists: in the `Reply:` section (up to `Errors:`), a line whose
/// first word (after `Reply:` on the first line) is a CamelCase name followed by a reply shape
/// (`{…}`), e.g. `-- Reply:   Placed  {0, bid, balance, odds, repeated}  placed`.
fn header_replies(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        let Some(text) = line.strip_prefix("--") else { break };
        let text = text.trim_start();
        if text.starts_with("Errors:") {
            break;
        }
        let text = match text.strip_prefix("Reply:") {
            Some(rest) => {
                inside = true;
                rest.trim_start()
            }
            None => text,
        };
        if !inside {
            continue;
        }
        let mut words = text.split_whitespace();
        let (Some(name), Some(shape)) = (words.next(), words.next()) else { continue };
        let camel =
            name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_alphanumeric());
        if camel && shape.starts_with('{') {
            names.push(name.to_owned());
        }
    }
    names
}

#[test]
fn every_script_has_a_binding_with_a_variant_for_each_reply_its_header_lists() {
    let dir = root().join("redis-scripts");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("redis-scripts/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".lua"))
        .collect();
    let bound: BTreeSet<String> = ScriptName::ALL.iter().map(|n| n.file().to_owned()).collect();
    let unbound: Vec<_> = files.difference(&bound).collect();
    assert!(unbound.is_empty(), "scripts without a binding in common/src/store (and ScriptName): {unbound:?}");

    let mut problems = Vec::new();
    for name in ScriptName::ALL {
        let listed: BTreeSet<String> = header_replies(name.source()).into_iter().collect();
        let variants: BTreeSet<String> = name.outcomes().iter().map(|v| (*v).to_owned()).collect();
        if listed.is_empty() {
            problems.push(format!("{}: its header's Reply: section names no reply", name.file()));
        }
        for missing in listed.difference(&variants) {
            problems.push(format!(
                "{}: the header lists {missing}, the binding's Outcome has no such variant",
                name.file()
            ));
        }
        for unlisted in variants.difference(&listed) {
            problems.push(format!("{}: Outcome::{unlisted} is not listed in the header", name.file()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_header_parser_finds_reply_names_and_skips_prose() {
    let header = "-- x.lua — test\n-- KEYS[1]  k\n-- Reply:   Placed  {0, bid}  placed (repeated = 1: the\n\
                  --                   First reply) and more\n--          NotOpen {1004, state}\n\
                  -- Errors:  Bad {x} is not a reply\nlocal a = 1\n";
    assert_eq!(header_replies(header), vec!["Placed", "NotOpen"]);
}

/// What evaluating or loading a Redis script looks like in Rust, with fred or raw commands.
const EVALUATING: &[&str] =
    &["evalsha(", "script_load(", "scripts.call(", "scripts.eval(", "\"EVAL", "\"FCALL", ".fcall(", "module_script::"];

/// `ScriptName::X` outside the store picks a script to run; `ScriptName::ALL` (reading sources) does not.
fn names_a_script(line: &str) -> bool {
    line.match_indices("ScriptName::").any(|(at, m)| {
        let rest = &line[at + m.len()..];
        rest.starts_with(|c: char| c.is_ascii_uppercase()) && !rest.starts_with("ALL")
    })
}

/// Redis EVAL through fred (`.eval(script, keys, args)`); mlua's `.eval()` takes no arguments.
fn redis_eval(line: &str) -> bool {
    line.match_indices(".eval(").any(|(at, m)| !line[at + m.len()..].trim_start().starts_with(')'))
}

#[test]
fn no_script_is_evaluated_outside_the_store() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let store = root.join("common/src/store");
    let this = root.join("tests/it/store/contract.rs");
    // The Lua host's `ctx.script` is where a handler folder's scripts are run: through the store's
    // untyped binding (module_script), which is what the pattern finds there.
    let host = root.join("logic/src/lua");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&store) && **f != this) {
        let code = std::fs::read_to_string(file).expect("readable");
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            let module_call = line.contains("module_script::");
            let bad = EVALUATING.iter().any(|p| line.contains(p)) || names_a_script(line) || redis_eval(line);
            if bad && !(module_call && (file.starts_with(&host) || file.starts_with(root.join("tests/it/store")))) {
                found.push(format!("{}:{}: {line}", file.strip_prefix(&root).unwrap_or(file).display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "scripts evaluated (or ARGV built for one) outside common/src/store:\n{}",
        found.join("\n")
    );
}
