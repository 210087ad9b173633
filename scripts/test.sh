#!/usr/bin/env bash
# Runs the whole test suite: makes sure Redis, MariaDB and the Python venv are there (scripts/deps.sh),
# then `cargo test --workspace` with MATCHDAY_TEST_PYTHON pointing at the venv's Python (the end-to-end
# tests drive a Python WebSocket client with it). Extra arguments go to cargo test, e.g.
#   scripts/test.sh --fast                       (the fast tier: all but the chaos runs and the
#                                                 browser console test; a few minutes after the build)
#   scripts/test.sh -p matchday-connect          (one package instead of the workspace)
#   scripts/test.sh -- --nocapture
#   scripts/test.sh chaos::                      (the integration tests whose names contain chaos::)
# CI (.ci/run) runs the full set; fuzzing is scripts/fuzz.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/deps.sh"
export MATCHDAY_TEST_PYTHON="$ROOT/.venv/bin/python"

# --fast: skip the long tests by name (tests/it/chaos.rs, tests/it/console.rs), after any `--`
# the caller gave (the test harness takes the rest of the line).
fast=0
args=()
for arg in "$@"; do
    if [ "$arg" = --fast ]; then fast=1; else args+=("$arg"); fi
done
if [ "$fast" = 1 ]; then
    has_sep=0
    for arg in ${args[@]+"${args[@]}"}; do
        if [ "$arg" = -- ]; then has_sep=1; fi
    done
    if [ "$has_sep" = 0 ]; then args+=(--); fi
    args+=(--skip chaos:: --skip console::)
fi
set -- ${args[@]+"${args[@]}"}

# The whole workspace unless the arguments pick packages (cargo ignores -p next to --workspace).
scope=(--workspace)
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        -p | -p?* | --package | --package=* | --workspace | --all) scope=() ;;
    esac
done

# A failure's message and place, not a backtrace that pushes them out of a CI log's tail.
export RUST_BACKTRACE="${MATCHDAY_TEST_BACKTRACE:-0}"

start=$SECONDS
status=0
cargo test ${scope[@]+"${scope[@]}"} "$@" || status=$?
elapsed=$((SECONDS - start))
tier="tests"
if [ "$fast" = 1 ]; then tier="fast tier"; fi
if [ "$status" -eq 0 ]; then
    printf '%s passed in %dm%02ds\n' "$tier" $((elapsed / 60)) $((elapsed % 60))
else
    printf '%s FAILED (cargo test exit %d) after %dm%02ds\n' "$tier" "$status" $((elapsed / 60)) $((elapsed % 60)) >&2
fi
exit "$status"
