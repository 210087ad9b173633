#!/usr/bin/env bash
# Runs every benchmark series of docs/benchmarks.md and prints their RESULT lines (full reports go to
# $OUT, default ./target/bench-<time>/). Needs the local Redis and MariaDB (scripts/deps.sh).
#   scripts/bench.sh                # everything (about 6 minutes)
#   scripts/bench.sh bets fsync     # only some series: bets rate fsync replica idle settle flush lua
# Run it on a quiet machine: every figure shares the cores with whatever else runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/deps.sh" >/dev/null
cargo build --release --features bench --bin matchday
BIN="$ROOT/target/release/matchday"
OUT="${OUT:-$ROOT/target/bench-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
export RUST_LOG="${RUST_LOG:-warn}"
series=("$@")
[ ${#series[@]} -eq 0 ] && series=(bets rate fsync replica idle settle flush lua)

run() { # name, args...
    local name="$1"
    shift
    "$BIN" bench "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err" || { echo "$name: FAILED (see $OUT/$name.err)"; return 1; }
    # The RESULT line where the scenario prints one, else its summary lines (settle, flush).
    printf '%-22s %s\n' "$name" "$(grep '^RESULT' "$OUT/$name.txt" ||
        grep -E '^ +(resultcenter|ceiling|dbsvr|ratio|steady)' "$OUT/$name.txt" | tr -s ' ' | paste -sd';')"
}

max_rate=""
for s in "${series[@]}"; do
    case "$s" in
    bets)
        for cw in "10 1" "50 1" "200 1" "200 4"; do
            set -- $cw
            run "bets-$1x$2" bets --clients "$1" --window "$2" --seconds 10 --ceiling
        done
        max_rate=$(sed -n 's/^RESULT bets_per_sec=\([0-9]*\).*/\1/p' "$OUT/bets-200x1.txt")
        ;;
    rate)
        if [ -z "$max_rate" ]; then
            run bets-200x1 bets --clients 200 --window 1 --seconds 10
            max_rate=$(sed -n 's/^RESULT bets_per_sec=\([0-9]*\).*/\1/p' "$OUT/bets-200x1.txt")
        fi
        for pct in 25 50 75; do
            run "rate-${pct}pct" bets --clients 200 --window 16 --seconds 10 --rate $((max_rate * pct / 100))
        done
        ;;
    replica)
        # A private primary (AOF off, as the baseline) with one replica; the same closed loop without
        # and with redis.wait_replicas = 1 (logic WAITs for the replica before each reply).
        dir=$(mktemp -d)
        port=$((6390 + RANDOM % 500))
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
            --daemonize yes --logfile "$dir/primary.log" --pidfile "$dir/primary.pid" >/dev/null
        mkdir -p "$dir/replica"
        redis-server --port $((port + 1)) --bind 127.0.0.1 --save "" --appendonly no --dir "$dir/replica" \
            --replicaof 127.0.0.1 "$port" --daemonize yes --logfile "$dir/replica.log" --pidfile "$dir/replica.pid" >/dev/null
        for _ in $(seq 100); do redis-cli -p $((port + 1)) info replication 2>/dev/null | grep -q 'master_link_status:up' && break; sleep 0.1; done
        for wait in 0 1; do
            MATCHDAY__REDIS__URL="redis://127.0.0.1:$port" MATCHDAY__REDIS__WAIT_REPLICAS=$wait \
                run "replica-wait$wait-200x1" bets --clients 200 --window 1 --seconds 10 --ceiling || true
        done
        redis-cli -p $((port + 1)) shutdown nosave >/dev/null 2>&1 || true
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
        rm -rf "$dir"
        ;;
    fsync)
        # A private Redis per policy (AOF on), the same closed loop and a rate of half its maximum.
        for policy in no everysec always; do
            dir=$(mktemp -d)
            port=$((6390 + RANDOM % 500))
            redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync "$policy" \
                --dir "$dir" --daemonize yes --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >/dev/null
            for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
            MATCHDAY__REDIS__URL="redis://127.0.0.1:$port" run "fsync-$policy-200x1" bets --clients 200 --window 1 --seconds 10 --ceiling || true
            r=$(sed -n 's/^RESULT bets_per_sec=\([0-9]*\).*/\1/p' "$OUT/fsync-$policy-200x1.txt")
            MATCHDAY__REDIS__URL="redis://127.0.0.1:$port" run "fsync-$policy-rate50" bets --clients 200 --window 16 --seconds 10 --rate $((r / 2)) || true
            redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
            rm -rf "$dir"
        done
        ;;
    idle) run idle idle --connections 100000 ;;
    settle)
        for batch in 50 200 500; do run "settle-$batch" settle --bets 10000 --batch "$batch"; done
        ;;
    flush)
        run flush-2000 flush --bets 30000 --rate 2000 --seconds 10
        run flush-10k-records flush --bets 30000 --rate 3334 --seconds 10   # ~10,000 records/s
        ;;
    lua)
        for c in 10 50 200; do run "lua-${c}x1" lua --clients "$c" --window 1 --seconds 10; done
        ;;
    *) echo "unknown series: $s (bets rate fsync replica idle settle flush lua)" >&2 && exit 2 ;;
    esac
done
echo "reports in $OUT"
