#!/usr/bin/env bash
# Runs the whole test suite: makes sure Redis, MariaDB and the Python venv are there (scripts/deps.sh),
# then `cargo test --workspace` with MATCHDAY_TEST_PYTHON pointing at the venv's Python (the end-to-end
# tests drive a Python WebSocket client with it). Extra arguments go to cargo test, e.g.
#   scripts/test.sh --fast                       (the fast tier: all but the chaos runs and the
#                                                 browser console test; a few minutes after the build)
#   scripts/test.sh -p matchday-connect          (one package instead of the workspace)
#   scripts/test.sh -- --nocapture
#   scripts/test.sh chaos::                      (the integration tests whose names contain chaos::)
# A run without test names (the full set, or --fast) then runs the suites of the Redis Cluster pass
# again on a local 3-primary cluster (scripts/cluster.sh; MATCHDAY_TEST_REDIS points the tests at
# it): the betting, settlement, push, gm, dbsvr, ban, Lua-handler, store and end-to-end tests, with
# the same test binary (docs/scaling.md). --no-cluster skips that pass.
# CI (.ci/run) runs the full set; fuzzing is scripts/fuzz.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/deps.sh"
export MATCHDAY_TEST_PYTHON="$ROOT/.venv/bin/python"

# --fast: skip the long tests by name (tests/it/chaos.rs, tests/it/console.rs), after any `--`
# the caller gave (the test harness takes the rest of the line).
fast=0
cluster=1
args=()
for arg in "$@"; do
    case "$arg" in
        --fast) fast=1 ;;
        --no-cluster) cluster=0 ;;
        *) args+=("$arg") ;;
    esac
done
# The cluster pass follows only a run of every test (no names, packages or options given).
if [ "${#args[@]}" -gt 0 ]; then cluster=0; fi
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
if [ "$status" -eq 0 ] && [ "$cluster" = 1 ]; then
    # The same suites on a Redis Cluster: every script must run in one slot there (a CROSSSLOT
    # answer fails the test; on one Redis the store's record of cross-slot calls does).
    url="$("$ROOT/scripts/cluster.sh" up | sed -n 's/^redis.url = //p')"
    echo "== the cluster pass on $url"
    # (Left out: the outage test, which cuts the connection to a single Redis through a proxy.)
    # (--workspace: the features of the first run's build, so nothing is compiled again.)
    MATCHDAY_TEST_REDIS="$url" cargo test --workspace --test it -- \
        betting:: settle:: push:: gm:: dbsvr:: recovery:: ban:: lua:: store:: e2e:: \
        accounts:: notices:: reservations:: web:: orders:: leaderboard:: staff:: \
        --skip e2e::while_redis_is_unreachable || status=$?
fi
elapsed=$((SECONDS - start))
tier="tests"
if [ "$fast" = 1 ]; then tier="fast tier"; fi
if [ "$status" -eq 0 ]; then
    printf '%s passed in %dm%02ds\n' "$tier" $((elapsed / 60)) $((elapsed % 60))
else
    printf '%s FAILED (cargo test exit %d) after %dm%02ds\n' "$tier" "$status" $((elapsed / 60)) $((elapsed % 60)) >&2
fi
exit "$status"
