#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (deny.toml says what is allowed and why):
#   - bans, licenses, sources: always (they need nothing from the network beyond crates.io);
#   - advisories (RustSec): when the advisory database can be fetched from GitHub, or a copy
#     fetched earlier is on this machine (~/.cargo/advisory-dbs); otherwise this says so loudly and,
#     unless MATCHDAY_REQUIRE_ADVISORIES=1, goes on (a CI without GitHub access still checks the rest).
# cargo-deny is installed from crates.io when missing (`cargo install --locked`, about 4 minutes on 2
# cores); cache ~/.cargo/bin between CI runs to skip that.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DENY_VERSION="0.20.2"

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny.sh: installing cargo-deny $DENY_VERSION from crates.io (cached in ~/.cargo/bin afterwards)"
    cargo install --locked --quiet cargo-deny --version "$DENY_VERSION"
fi

# `cargo deny --offline` reads `cargo metadata`, which needs the crates of every platform in
# Cargo.lock (windows and wasm ones too, which a Linux build never downloads): fetch them first.
cargo fetch --locked --quiet

if timeout 120 cargo deny fetch db >/dev/null 2>&1; then
    echo "deny.sh: advisory database fetched; checking advisories, bans, licenses, sources"
    cargo deny --offline check
    exit 0
fi

db_dir="$HOME/.cargo/advisory-dbs"
if compgen -G "$db_dir/advisory-db-*/crates" >/dev/null; then
    age=$(find "$db_dir" -maxdepth 2 -name crates -printf '%TY-%Tm-%Td\n' | sort | tail -n 1)
    echo "deny.sh: WARNING: cannot fetch the advisory database; checking against the copy from $age"
    cargo deny --offline check
    exit 0
fi

echo "deny.sh: ADVISORIES NOT CHECKED: the RustSec advisory database (github.com/RustSec/advisory-db)"
echo "deny.sh: cannot be fetched from here and no earlier copy exists in $db_dir."
echo "deny.sh: checking bans, licenses and sources only."
cargo deny --offline check bans licenses sources
if [ "${MATCHDAY_REQUIRE_ADVISORIES:-0}" = 1 ]; then
    echo "deny.sh: failing: MATCHDAY_REQUIRE_ADVISORIES=1 and the advisories were not checked" >&2
    exit 1
fi
