#!/usr/bin/env bash
# Runs the whole test suite: makes sure Redis, MariaDB and the Python venv are there (scripts/deps.sh),
# then `cargo test --workspace` with MATCHDAY_TEST_PYTHON pointing at the venv's Python (the end-to-end
# tests drive a Python WebSocket client with it). Extra arguments go to cargo test, e.g.
#   scripts/test.sh -p matchday-connect          (one package instead of the workspace)
#   scripts/test.sh -- --nocapture
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/deps.sh"
export MATCHDAY_TEST_PYTHON="$ROOT/.venv/bin/python"

# The whole workspace unless the arguments pick packages (cargo ignores -p next to --workspace).
scope=(--workspace)
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        -p | -p?* | --package | --package=* | --workspace | --all) scope=() ;;
    esac
done

start=$SECONDS
status=0
cargo test ${scope[@]+"${scope[@]}"} "$@" || status=$?
elapsed=$((SECONDS - start))
if [ "$status" -eq 0 ]; then
    printf 'tests passed in %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
else
    printf 'tests FAILED (cargo test exit %d) after %dm%02ds\n' "$status" $((elapsed / 60)) $((elapsed % 60)) >&2
fi
exit "$status"
