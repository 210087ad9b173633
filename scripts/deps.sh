#!/usr/bin/env bash
# Makes the development/test dependencies available on a Debian/Ubuntu machine:
#   - Redis   at 127.0.0.1:6379
#   - MariaDB at 127.0.0.1:3306, user root with an empty password, over TCP
#   - a Python venv at .venv with websockets and msgpack (the test client's packages) and
#     openapi-spec-validator (checks gm's OpenAPI document)
#   - chromium, Node.js and playwright-core in tests/console (the console's browser test)
#   - the TypeScript client's packages in clients/ts (its suite runs against matchday up)
# A dependency that already answers is left alone, so running this again is cheap (well under 1 s).
# `deps.sh --servers-only` skips the Python venv (what scripts/up.sh needs).
# Packages are installed with apt-get (through sudo when not root) only when a server is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REDIS_PORT=6379
MYSQL_PORT=3306
WAIT_SECS=30

say() { printf '%s\n' "$*"; }
die() {
    printf 'deps.sh: error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root for: $*  (run this script as root or install sudo)"
    fi
}

# apt-get install, with `apt-get update` only when the first attempt fails (stale or empty lists).
apt_install() {
    have apt-get || die "apt-get not found; install $* yourself (this script knows Debian/Ubuntu)"
    local log
    log="$(mktemp)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$log" 2>&1; then
        if ! { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "$@"; } >"$log" 2>&1; then
            tail -n 20 "$log" >&2
            rm -f "$log"
            die "apt-get install $* failed (output above)"
        fi
    fi
    rm -f "$log"
}

# True when something accepts TCP connections on 127.0.0.1:$1 (no client needed).
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Polls "$@" until it succeeds or WAIT_SECS pass; gives up early when $process (an executable path,
# may be empty) has not been running for a few seconds after the start.
wait_for() {
    local process="$1"
    shift
    local start=$SECONDS
    while [ $((SECONDS - start)) -lt "$WAIT_SECS" ]; do
        "$@" && return 0
        if [ -n "$process" ] && [ $((SECONDS - start)) -ge 3 ] &&
            ! as_root start-stop-daemon --status --exec "$process"; then
            "$@" && return 0
            return 1
        fi
        sleep 0.2
    done
    return 1
}

# ---------------------------------------------------------------------------------------------- Redis

redis_ok() {
    if have redis-cli; then
        [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
    else
        port_open "$REDIS_PORT"
    fi
}

redis_bin() {
    local b
    for b in $(type -aP redis-server) /usr/bin/redis-server; do
        if [ -f "$b" ] && [ -x "$b" ]; then
            echo "$b"
            return
        fi
    done
}

ensure_redis() {
    if redis_ok; then
        say "Redis:   already running on 127.0.0.1:$REDIS_PORT"
        return
    fi
    if port_open "$REDIS_PORT"; then
        die "something listens on 127.0.0.1:$REDIS_PORT but does not answer 'redis-cli ping' with PONG (a password? not Redis?)"
    fi
    local did=""
    if [ -z "$(redis_bin)" ]; then
        apt_install redis-server
        did="installed redis-server, "
        # The package may have started the service itself.
        if redis_ok; then
            say "Redis:   ${did}running on 127.0.0.1:$REDIS_PORT"
            return
        fi
    fi
    local bin
    bin="$(redis_bin)"
    [ -n "$bin" ] || die "redis-server is still missing after installing the redis-server package"
    as_root mkdir -p /var/lib/redis /var/log/redis
    local args=(--daemonize yes --port "$REDIS_PORT" --save "" --appendonly no
        --dir /var/lib/redis --logfile /var/log/redis/ci.log)
    # `-::1` (bind ::1 when it exists) needs Redis >= 7; older servers get IPv4 only.
    if ! as_root "$bin" --bind 127.0.0.1 -::1 "${args[@]}" >/dev/null 2>&1; then
        as_root "$bin" --bind 127.0.0.1 "${args[@]}" >/dev/null ||
            die "redis-server did not start; see /var/log/redis/ci.log"
    fi
    wait_for "" redis_ok ||
        die "Redis did not answer on 127.0.0.1:$REDIS_PORT within ${WAIT_SECS}s; see /var/log/redis/ci.log"
    say "Redis:   ${did}started on 127.0.0.1:$REDIS_PORT"
}

# -------------------------------------------------------------------------------------------- MariaDB

mysql_client() {
    if have mariadb; then echo mariadb; elif have mysql; then echo mysql; fi
}

# root with an empty password over TCP, which is what the services and tests use.
mysql_login_ok() {
    local client
    client="$(mysql_client)"
    [ -n "$client" ] || return 1
    timeout 5 "$client" --no-defaults --protocol=tcp -h127.0.0.1 -P"$MYSQL_PORT" -uroot --password= \
        --connect-timeout=2 -e 'select 1' >/dev/null 2>&1
}

mysql_ok() {
    if [ -n "$(mysql_client)" ]; then mysql_login_ok; else port_open "$MYSQL_PORT"; fi
}

mariadbd_bin() {
    local b
    for b in /usr/sbin/mariadbd /usr/sbin/mysqld; do
        if [ -x "$b" ]; then
            echo "$b"
            return
        fi
    done
}

# A fresh Debian install lets root in only through the socket (unix_socket auth), and a TCP login
# from 127.0.0.1 is matched against root@localhost or root@127.0.0.1 depending on skip-name-resolve:
# allow an empty password for both.
fix_root_login() {
    local client
    client="$(mysql_client)"
    [ -n "$client" ] || return 1
    as_root "$client" -uroot -e "
        ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
        CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;" >/dev/null 2>&1
}

# Makes root log in over TCP, fixing the accounts through the socket when needed.
ensure_root_login() {
    mysql_login_ok && return 0
    if ! fix_root_login || ! mysql_login_ok; then
        die "MariaDB answers on 127.0.0.1:$MYSQL_PORT but root cannot log in over TCP with an empty password,
and fixing that through the socket as root failed. Allow it yourself, e.g. with
  sudo mariadb -uroot -e \"CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION\""
    fi
    return 1 # it works now, but only after a fix
}

ensure_mysql() {
    if mysql_ok; then
        if [ -n "$(mysql_client)" ]; then
            say "MariaDB: already running on 127.0.0.1:$MYSQL_PORT"
        else
            say "MariaDB: something answers on 127.0.0.1:$MYSQL_PORT (no mariadb client here to check the root login)"
        fi
        return
    fi
    if port_open "$MYSQL_PORT"; then
        if ensure_root_login; then
            say "MariaDB: already running on 127.0.0.1:$MYSQL_PORT"
        else
            say "MariaDB: already running on 127.0.0.1:$MYSQL_PORT; enabled root login over TCP with an empty password"
        fi
        return
    fi
    local did=""
    if [ -z "$(mariadbd_bin)" ]; then
        apt_install mariadb-server
        did="installed mariadb-server, "
    fi
    local bin
    bin="$(mariadbd_bin)"
    [ -n "$bin" ] || die "mariadbd is still missing after installing the mariadb-server package"
    [ -n "$(mysql_client)" ] || apt_install mariadb-client
    if ! port_open "$MYSQL_PORT"; then # the package may have started the service itself
        # The socket and pid file live in /run/mysqld, which the init system normally creates.
        as_root mkdir -p /run/mysqld /var/log/mysql
        if id mysql >/dev/null 2>&1; then as_root chown mysql:mysql /run/mysqld /var/log/mysql; fi
        if [ ! -d /var/lib/mysql/mysql ]; then
            local install log
            install="$(command -v mariadb-install-db || command -v mysql_install_db || true)"
            [ -n "$install" ] || die "mariadb-install-db is missing (it comes with mariadb-server)"
            log="$(mktemp)"
            if ! as_root "$install" --user=mysql --datadir=/var/lib/mysql --skip-test-db >"$log" 2>&1; then
                tail -n 20 "$log" >&2
                rm -f "$log"
                die "$install --datadir=/var/lib/mysql failed (output above)"
            fi
            rm -f "$log"
            did="${did}initialised /var/lib/mysql, "
        fi
        as_root start-stop-daemon --start --oknodo --background --exec "$bin"
        wait_for "$bin" port_open "$MYSQL_PORT" ||
            die "MariaDB did not answer on 127.0.0.1:$MYSQL_PORT within ${WAIT_SECS}s; see /var/log/mysql/error.log (or run $bin by hand)"
        did="${did}started"
    else
        did="${did}running"
    fi
    if ! ensure_root_login; then
        did="$did; enabled root login over TCP with an empty password"
    fi
    say "MariaDB: ${did%, } on 127.0.0.1:$MYSQL_PORT"
}

# --------------------------------------------------------------------------------------------- Python

ensure_venv() {
    local venv="$ROOT/.venv" py="$ROOT/.venv/bin/python"
    if [ -x "$py" ] && "$py" -c 'import websockets, msgpack, openapi_spec_validator' >/dev/null 2>&1; then
        say "Python:  .venv ready (websockets, msgpack, openapi-spec-validator)"
        return
    fi
    if ! have python3; then
        apt_install python3 python3-venv
    fi
    # Debian/Ubuntu ship venv's pip bootstrap (ensurepip) separately, in python3-venv.
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    if [ -x "$py" ] && "$py" -m pip --version >/dev/null 2>&1; then
        :
    else
        python3 -m venv --clear "$venv" || die "python3 -m venv $venv failed"
    fi
    "$py" -m pip install --quiet --disable-pip-version-check websockets msgpack openapi-spec-validator ||
        die "pip install websockets msgpack openapi-spec-validator into $venv failed"
    "$py" -c 'import websockets, msgpack, openapi_spec_validator' ||
        die "websockets/msgpack/openapi_spec_validator still do not import in $venv"
    say "Python:  .venv set up with websockets, msgpack, openapi-spec-validator ($("$py" --version 2>&1))"
}

# ------------------------------------------------------------------------------------ browser test

# The console's browser test (tests/it/console.rs): Debian's chromium, Node.js with npm, and
# playwright-core at the version tests/console/package-lock.json pins (no browser download).
ensure_browser() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
    if ! have node || ! have npm; then
        apt_install nodejs npm
    fi
    if [ ! -f "$ROOT/tests/console/node_modules/playwright-core/package.json" ]; then
        (cd "$ROOT/tests/console" && npm ci --no-audit --no-fund --silent) ||
            die "npm ci in tests/console failed"
    fi
    say "Browser: $(/usr/bin/chromium --version 2>/dev/null | head -c 40), node $(node --version), playwright-core ready"
}

# ------------------------------------------------------------------------------- TypeScript client

# clients/ts's packages (tests/it/ts_client.rs runs its suite): npm ci when they are missing or
# older than its package-lock.json.
ensure_ts_client() {
    local lock="$ROOT/clients/ts/package-lock.json" installed="$ROOT/clients/ts/node_modules/.package-lock.json"
    if [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; then
        (cd "$ROOT/clients/ts" && npm ci --no-audit --no-fund --silent) ||
            die "npm ci in clients/ts failed"
    fi
    say "TS:      clients/ts packages ready (typescript $(cd "$ROOT/clients/ts" && node -p 'require("typescript/package.json").version'))"
}

ensure_redis
ensure_mysql
if [ "${1:-}" != "--servers-only" ]; then
    ensure_venv
    ensure_browser
    ensure_ts_client
fi
