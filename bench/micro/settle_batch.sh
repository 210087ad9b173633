#!/usr/bin/env bash
# The Redis CPU per bet of settle_batch.lua, uncontended: 20,000 open bets of 2,000 users (prefix `mb:`)
# settled by batches of 200, the calls piped by `redis-cli --pipe`, the cost from Redis's own
# `INFO cpu` delta. Pass a variant of the script to compare (docs/benchmarks.md).
#   bench/micro/settle_batch.sh [script.lua]     N=20000 B=200 by default
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT="${1:-$HERE/../../redis-scripts/settle_batch.lua}"
N="${N:-20000}"
B="${B:-200}"
. "$HERE/lib.sh"
clean
python3 "$HERE/settle_gen.py" setup "$N" "$B" | $CLI --pipe >/dev/null
SHA=$($CLI script load "$(cat "$SCRIPT")")
calls=$(mktemp)
trap 'rm -f "$calls"' EXIT
python3 "$HERE/settle_gen.py" settle "$N" "$B" "$SHA" >"$calls"
before=$(cpu)
$CLI --pipe <"$calls" | grep -q 'errors: 0' || { echo "settle_batch.sh: a call failed" >&2; exit 1; }
after=$(cpu)
left=$($CLI hlen mb:match:1:open)
echo "$(basename "$SCRIPT"): $(echo "($after - $before) * 1000000 / $N" | bc -l | xargs printf '%.1f') µs Redis CPU per bet settled; $left of $N bets left open"
clean
