#!/usr/bin/env bash
# The Redis CPU of one place_bet.lua call, uncontended: redis-benchmark pipelines EVALSHA (4
# connections x 16) against 100,000 funded wallets under the prefix `mb:` (random users, one match),
# and the script's cost is Redis's own `INFO cpu` delta over the calls. Pass a variant of the script
# to compare (docs/benchmarks.md, "Where the rest of a bet's Redis CPU is").
#   bench/micro/place_bet.sh [script.lua]        N=200000 calls by default
# Uses the local Redis (REDIS_CLI, default redis-cli); removes its `mb:*` keys before and after.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRIPT="${1:-$ROOT/redis-scripts/place_bet.lua}"
N="${N:-200000}"
. "$ROOT/bench/micro/lib.sh"
clean
# redis-benchmark replaces each __rand_int__ with its own 12-digit random number below 100,000.
$CLI eval "
redis.call('HSET', 'mb:match:1', 'state', 2, 'odds:a', 1900, 'odds_ver', 1, 'min_stake', 1,
  'max_stake', 1000000, 'options', '[]')
for i = 0, 99999 do redis.call('HSET', 'mb:wallet:' .. string.format('%012d', i), 'balance', 1000000000, 'ver', 0) end
return 1" 0 >/dev/null
SHA=$($CLI script load "$(cat "$SCRIPT")")
$CLI config resetstat >/dev/null
before=$(cpu)
redis-benchmark -q -r 100000 -n "$N" -P 16 -c 4 evalsha "$SHA" 8 mb:match:1 mb:wallet:__rand_int__ \
    mb:user:__rand_int__:bets mb:match:1:pool mb:ledger:__rand_int__ mb:q:outbox \
    mb:match:1:open mb:match:1:bettors __rand_int__ 1 a 10 1 req__rand_int__ __rand_int__ 1700000000000 \
    "$(printf 'p%.0s' {1..96})" 10:1700000000000:1:areq__rand_int__ >/dev/null
after=$(cpu)
placed=$($CLI llen mb:q:outbox)
echo "$(basename "$SCRIPT"): $(echo "($after - $before) * 1000000 / $N" | bc -l | xargs printf '%.1f') µs Redis CPU per call; $placed of $N calls placed a bet"
$CLI info commandstats | grep -E '^cmdstat_(evalsha|hmget|hset|lpush|sadd|hincrby):' | sed 's/,rejected.*//'
clean
