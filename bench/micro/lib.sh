# Shared by bench/micro/*.sh (sourced): the redis-cli to use, removing the benches' `mb:` keys, and
# Redis's own CPU seconds so far (user + sys, from INFO cpu).
CLI="${REDIS_CLI:-redis-cli}"
clean() { $CLI --scan --pattern 'mb:*' | xargs -r -n 1000 $CLI del >/dev/null; }
cpu() { $CLI info cpu | awk -F: '/used_cpu_(user|sys):/ { s += $2 } END { printf "%.6f", s }'; }
