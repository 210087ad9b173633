#!/usr/bin/env bash
# A local Redis Cluster for development and tests: 3 primaries and 3 replicas on private ports, data
# and logs under ./var/cluster (git-ignored), no persistence. Needs only redis-server and redis-cli
# (scripts/deps.sh --servers-only installs them).
#   scripts/cluster.sh up        start it (or find it running); prints its URL for redis.url
#   scripts/cluster.sh down      stop it and remove its data
#   scripts/cluster.sh status    CLUSTER INFO and the nodes
# CLUSTER_PORT (default 7380) is the first of six consecutive ports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/var/cluster"
FIRST="${CLUSTER_PORT:-7380}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((FIRST + i))); done

url() {
    local nodes=""
    for p in "${PORTS[@]:1:2}"; do nodes="$nodes&node=127.0.0.1:$p"; done
    echo "redis-cluster://127.0.0.1:${PORTS[0]}?${nodes#&}"
}

answers() { redis-cli -p "$1" ping >/dev/null 2>&1; }

up() {
    command -v redis-server >/dev/null || { echo "cluster.sh: redis-server is not installed (scripts/deps.sh --servers-only)" >&2; exit 1; }
    mkdir -p "$DIR"
    for p in "${PORTS[@]}"; do
        if answers "$p"; then
            continue
        fi
        mkdir -p "$DIR/$p"
        # A node that was stopped keeps its nodes.conf; a fresh start needs a fresh one.
        rm -f "$DIR/$p/nodes.conf"
        redis-server --port "$p" --bind 127.0.0.1 --dir "$DIR/$p" --cluster-enabled yes \
            --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save "" --appendonly no \
            --daemonize yes --logfile "$DIR/$p/redis.log" --pidfile "$DIR/$p/redis.pid"
    done
    for p in "${PORTS[@]}"; do
        for _ in $(seq 50); do answers "$p" && break; sleep 0.1; done
        answers "$p" || { echo "cluster.sh: the node on port $p did not start; see $DIR/$p/redis.log" >&2; exit 1; }
    done
    if [ "$(redis-cli -p "${PORTS[0]}" cluster info | tr -d '\r' | awk -F: '/^cluster_state/ {print $2}')" != "ok" ]; then
        local addrs=()
        for p in "${PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
        redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 ||
            { cat "$DIR/create.log" >&2; exit 1; }
        for _ in $(seq 100); do
            [ "$(redis-cli -p "${PORTS[0]}" cluster info | tr -d '\r' | awk -F: '/^cluster_state/ {print $2}')" = "ok" ] && break
            sleep 0.1
        done
    fi
    echo "cluster up: 3 primaries and 3 replicas on ports ${PORTS[0]}-${PORTS[5]}"
    echo "redis.url = $(url)"
}

down() {
    for p in "${PORTS[@]}"; do
        answers "$p" && redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
    done
    rm -rf "$DIR"
    echo "cluster down"
}

status() {
    redis-cli -p "${PORTS[0]}" cluster info | tr -d '\r' | grep -E '^cluster_(state|slots_assigned|known_nodes|size):'
    redis-cli -p "${PORTS[0]}" cluster nodes | awk '{print $2, $3, $9}'
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    url) url ;;
    *) echo "usage: scripts/cluster.sh up|down|status|url" >&2; exit 2 ;;
esac
