#!/usr/bin/env bash
# Real PostgreSQL and Redis servers (Debian's packages) on 127.0.0.1, for tests
# and local multi-server runs. Each `start DIR` is an independent instance.
#
#   scripts/services.sh install     apt-get install postgresql redis-server when missing (root)
#   scripts/services.sh start DIR   fresh servers under DIR; writes DIR/env and prints it
#   scripts/services.sh stop DIR    stop the servers started in DIR (no-op when not running)
#   scripts/services.sh stop-postgres DIR    stop DIR's PostgreSQL only, keeping its data
#   scripts/services.sh start-postgres DIR   start it again, on the same port
#
# PG_PORT / REDIS_PORT choose the ports (default: free ports picked by the kernel);
# SERVICES_TIMEOUT is the start/stop timeout in seconds (default 60).
set -euo pipefail

TIMEOUT=${SERVICES_TIMEOUT:-60}

die() {
    echo "services.sh: $*" >&2
    exit 1
}

is_root() { [[ $EUID -eq 0 ]]; }

# Newest /usr/lib/postgresql/<version>/bin holding the server binaries.
pg_bindir() {
    local d
    while read -r d; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            echo "$d"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV)
    return 1
}

have_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

# Run a PostgreSQL command as the `postgres` user (PostgreSQL refuses to run as
# root), or as the current user when we are not root. `cd /` so the postgres
# user never starts in a directory it cannot read.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

cmd_install() {
    local missing=()
    pg_bindir >/dev/null || missing+=(postgresql)
    have_redis || missing+=(redis-server)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if ! is_root; then
        die "missing ${missing[*]}; install as root: apt-get install -y ${missing[*]}"
    fi
    echo "· installing Debian's ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    pg_bindir >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
    have_redis || die "redis-server installed but redis-server/redis-cli not on PATH"
}

# Two distinct free TCP ports on 127.0.0.1.
free_ports() {
    if command -v python3 >/dev/null && python3 - 2>/dev/null <<'EOF'; then
import socket

socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
        return
    fi
    local ports=() p
    while ((${#ports[@]} < 2)); do
        p=$((20000 + RANDOM % 40000))
        [[ " ${ports[*]} " == *" $p "* ]] && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        ports+=("$p")
    done
    echo "${ports[*]}"
}

# Fail with the last lines of LOG.
fail_with_log() {
    local log=$1
    shift
    echo "services.sh: $*" >&2
    if [[ -f $log ]]; then
        echo "--- last lines of $log:" >&2
        tail -n 25 "$log" >&2
    fi
    exit 1
}

# The postgres user must be able to reach DIR: give search (o+x) permission to
# any ancestor it cannot traverse (pytest's tmp dirs are 0700, owned by root).
make_reachable() {
    local dir=$1 path="" part
    local -a parts
    IFS=/ read -ra parts <<<"${dir#/}"
    for part in "${parts[@]}"; do
        path+="/$part"
        if ! runuser -u postgres -- test -x "$path"; then
            chmod o+x "$path"
            echo "services.sh: made $path searchable (o+x) for the postgres user" >&2
        fi
    done
}

# PID is running (a zombie is not: a slow init may take seconds to reap it).
alive() {
    local state
    state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

redis_pid() {
    local pidfile=$1/redis/redis.pid pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
    alive "$pid" || return 1
    echo "$pid"
}

pg_running() {
    local bindir=$1 dir=$2
    [[ -f $dir/pg/postmaster.pid ]] && as_pg "$bindir/pg_ctl" status -D "$dir/pg" >/dev/null 2>&1
}

cmd_start() {
    local dir bindir pg_port redis_port sock log deadline
    [[ $# -eq 1 ]] || die "usage: $0 start DIR"
    bindir=$(pg_bindir) || die "PostgreSQL is not installed: run scripts/services.sh install (make services)"
    have_redis || die "redis-server is not installed: run scripts/services.sh install (make services)"
    if is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' system user (is Debian's postgresql installed?)"
    fi

    mkdir -p "$1"
    dir=$(cd "$1" && pwd -P)
    if pg_running "$bindir" "$dir" || redis_pid "$dir" >/dev/null; then
        die "services already running in $dir: run scripts/services.sh stop $dir first"
    fi
    # Stop whatever did start when a later step fails.
    START_DIR=$dir
    STARTED_REDIS=
    trap 'rc=$?; if ((rc != 0)); then
        [[ -z $STARTED_REDIS ]] || kill "$STARTED_REDIS" 2>/dev/null || true
        cmd_stop "$START_DIR" >/dev/null 2>&1 || true
    fi' EXIT

    read -r pg_port redis_port <<<"$(free_ports)"
    pg_port=${PG_PORT:-$pg_port}
    redis_port=${REDIS_PORT:-$redis_port}
    [[ $pg_port =~ ^[0-9]+$ && $redis_port =~ ^[0-9]+$ && $pg_port != "$redis_port" ]] ||
        die "bad ports: PostgreSQL '$pg_port', Redis '$redis_port'"
    sock=$dir/pg-socket
    log=$dir/pg/postgresql.log
    if ((${#sock} + 20 > 107)); then
        die "path too long for a Unix socket: $sock (use a shorter DIR)"
    fi

    # PostgreSQL: a fresh cluster in DIR/pg, socket in DIR/pg-socket.
    rm -rf "$dir/pg" "$dir/pg-socket" "$dir/redis"
    mkdir -m 700 "$dir/pg" "$sock"
    if is_root; then
        chown postgres:postgres "$dir/pg" "$sock"
        make_reachable "$dir"
    fi
    as_pg "$bindir/initdb" -D "$dir/pg" -U postgres --no-locale --encoding=UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 ||
        fail_with_log "$dir/initdb.log" "initdb failed"
    as_pg tee -a "$dir/pg/postgresql.conf" >/dev/null <<EOF

# scripts/services.sh: loopback only, throwaway data
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_pg "$bindir/pg_ctl" start -D "$dir/pg" -l "$log" -w -t "$TIMEOUT" -s >/dev/null 2>&1 ||
        fail_with_log "$log" "PostgreSQL did not start on 127.0.0.1:$pg_port"

    # Redis: no persistence, everything under DIR/redis. Detached by setsid rather
    # than --daemonize, so we know its pid and notice at once when it cannot bind
    # (Redis's own --daemonize exits 0 before binding; a ping could then reach
    # another server on that port).
    mkdir -p "$dir/redis"
    # shellcheck disable=SC2094 # both append: Redis's own log and its early stderr
    setsid redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes \
        --daemonize no --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" \
        --logfile "$dir/redis/redis.log" --save "" --appendonly no \
        </dev/null >>"$dir/redis/redis.log" 2>&1 &
    STARTED_REDIS=$!

    deadline=$((SECONDS + TIMEOUT))
    until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -t 1; do
        ((SECONDS < deadline)) || fail_with_log "$log" "PostgreSQL not ready on 127.0.0.1:$pg_port"
        sleep 0.2
    done
    until [[ -f $dir/redis/redis.pid ]] &&
        redis-cli -h 127.0.0.1 -p "$redis_port" info server 2>/dev/null | tr -d '\r' |
        grep -qx "process_id:$STARTED_REDIS"; do
        alive "$STARTED_REDIS" ||
            fail_with_log "$dir/redis/redis.log" "redis-server exited (port $redis_port)"
        ((SECONDS < deadline)) ||
            fail_with_log "$dir/redis/redis.log" "Redis not ready on 127.0.0.1:$redis_port"
        sleep 0.2
    done

    as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$pg_port" -U postgres \
        -d postgres -c "CREATE ROLE ldn_bot LOGIN PASSWORD 'ldn_bot'" \
        -c "CREATE DATABASE ldn_bot OWNER ldn_bot" >/dev/null ||
        fail_with_log "$log" "could not create the ldn_bot role and database"

    cat >"$dir/env" <<EOF
LDN_BOT_DATABASE_URL=postgresql://ldn_bot:ldn_bot@127.0.0.1:$pg_port/ldn_bot
LDN_BOT_REDIS_URL=redis://127.0.0.1:$redis_port/0
EOF
    cat "$dir/env"
}

cmd_stop() {
    local dir bindir pid deadline
    [[ $# -eq 1 ]] || die "usage: $0 stop DIR"
    [[ -d $1 ]] || return 0
    dir=$(cd "$1" && pwd -P)
    if bindir=$(pg_bindir) && pg_running "$bindir" "$dir"; then
        as_pg "$bindir/pg_ctl" stop -D "$dir/pg" -m fast -w -t "$TIMEOUT" -s >/dev/null ||
            echo "services.sh: could not stop PostgreSQL in $dir/pg" >&2
    fi
    if pid=$(redis_pid "$dir"); then
        kill -TERM "$pid" 2>/dev/null || true # SIGTERM: Redis shuts down (nothing to save)
        deadline=$((SECONDS + TIMEOUT))
        while alive "$pid"; do
            if ((SECONDS >= deadline)); then
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
        rm -f "$dir/redis/redis.pid"
    fi
}

# An outage of DIR's PostgreSQL (for tests of what the bot does meanwhile), and its end.
cmd_postgres() {
    local action=$1 dir bindir
    [[ $# -eq 2 && -d $2/pg ]] || die "usage: $0 $action-postgres DIR (after start DIR)"
    dir=$(cd "$2" && pwd -P)
    bindir=$(pg_bindir) || die "PostgreSQL is not installed"
    if [[ $action == stop ]]; then
        pg_running "$bindir" "$dir" || return 0
        as_pg "$bindir/pg_ctl" stop -D "$dir/pg" -m fast -w -t "$TIMEOUT" -s >/dev/null
    else
        pg_running "$bindir" "$dir" && return 0
        as_pg "$bindir/pg_ctl" start -D "$dir/pg" -l "$dir/pg/postgresql.log" -w -t "$TIMEOUT" \
            -s >/dev/null 2>&1 || fail_with_log "$dir/pg/postgresql.log" "PostgreSQL did not start"
    fi
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start "${@:2}" ;;
stop) cmd_stop "${@:2}" ;;
stop-postgres) cmd_postgres stop "${@:2}" ;;
start-postgres) cmd_postgres start "${@:2}" ;;
*) die "usage: $0 install | start DIR | stop DIR | stop-postgres DIR | start-postgres DIR" ;;
esac
