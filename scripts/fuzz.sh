#!/usr/bin/env bash
# Fuzzes what connect reads from clients: every cargo-fuzz target in fuzz/ (frame_decode,
# head_splice) for SECONDS each (default 30), one after the other, starting from a copy of the
# committed corpus fuzz/corpus/<target> (new inputs go to the copy, so the tree stays clean).
# Installs cargo-fuzz when it is missing (cargo install --locked) and builds with RUSTC_BOOTSTRAP=1
# on the stable toolchain. Prints, per target, the executions and exec/s from libFuzzer's final
# stats; exits non-zero when a target crashes (the input is kept in fuzz/artifacts/<target>/, and
# `cargo fuzz run <target> fuzz/artifacts/<target>/<file>` replays it). Extra arguments go to
# libFuzzer, e.g.
#   scripts/fuzz.sh 20                       (what CI runs)
#   scripts/fuzz.sh 3600 -runs=10000000      (the docs/reliability.md figures: whichever ends first)
#   FUZZ_WORK=/tmp/fuzz scripts/fuzz.sh 60   (keeps the grown corpora and the logs in /tmp/fuzz)
# Every run has an RSS limit and a single-allocation limit, so a frame that declares a huge length
# it does not carry (a MessagePack bomb) fails the run if the decoder allocates for it up front.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_EACH="${1:-30}"
shift || true
case "$SECONDS_EACH" in
    '' | *[!0-9]*)
        echo "usage: scripts/fuzz.sh [SECONDS] [libFuzzer args...]" >&2
        exit 2
        ;;
esac
RSS_LIMIT_MB=512
MALLOC_LIMIT_MB=64 # inputs are at most 4 KiB (libFuzzer's default -max_len): no allocation needs more
TIMEOUT_SECS=10    # one input taking longer than this is a hang

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v c++ >/dev/null 2>&1 || {
    echo "scripts/fuzz.sh: a C++ compiler is missing (libFuzzer is C++): apt-get install g++" >&2
    exit 1
}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz needs nightly-only flags (sanitizers); RUSTC_BOOTSTRAP lets stable rustc accept them.
export RUSTC_BOOTSTRAP=1
# AddressSanitizer holds freed memory in a 256 MB quarantine, which counts against the RSS limit;
# a smaller one keeps that limit about what the decoders allocate.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"

echo "== cargo fuzz build"
cargo fuzz build
mapfile -t targets < <(cargo fuzz list)

# FUZZ_WORK=DIR keeps the grown corpora and libFuzzer's logs there; by default they go at exit.
if [ -n "${FUZZ_WORK:-}" ]; then
    work="$FUZZ_WORK"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi

# One of libFuzzer's final stats (-print_final_stats=1) from a run's log.
final_stat() { awk -v key="stat::$2:" '$1 == key { print $2 }' "$1" | tail -n 1; }

status=0
summary=()
for target in "${targets[@]}"; do
    corpus="$work/corpus-$target"
    mkdir -p "$corpus"
    cp -R "fuzz/corpus/$target/." "$corpus/"
    seeds=$(find "$corpus" -type f | wc -l)
    log="$work/$target.log"
    echo "== cargo fuzz run $target (${SECONDS_EACH}s, $seeds seed inputs)"
    rc=0
    cargo fuzz run "$target" "$corpus" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB" \
        -timeout="$TIMEOUT_SECS" -print_final_stats=1 "$@" >"$log" 2>&1 || rc=$?
    runs="$(final_stat "$log" number_of_executed_units)"
    per_sec="$(final_stat "$log" average_exec_per_sec)"
    rss="$(final_stat "$log" peak_rss_mb)"
    corpus_now=$(find "$corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc)"
        status=1
        # What libFuzzer says about the crash: the panic, the kind of failure, where the input went.
        grep -E "panicked at|^==[0-9]+== ERROR|SUMMARY|^Test unit written|^artifact_prefix|malloc\(|out-of-memory" \
            "$log" >&2 || tail -n 40 "$log" >&2
    fi
    line="$(printf '%-14s %12s runs  %8s exec/s  corpus %5s -> %-5s  peak RSS %4s MB  %s' \
        "$target" "${runs:-?}" "${per_sec:-?}" "$seeds" "$corpus_now" "${rss:-?}" "$result")"
    echo "$line"
    summary+=("$line")
done

echo "== fuzz summary (${SECONDS_EACH}s per target)"
printf '%s\n' "${summary[@]}"
exit "$status"
