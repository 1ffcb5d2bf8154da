# shellcheck shell=bash disable=SC2034  # variables set here are for the scripts that source it
# A throwaway PostgreSQL for tests (source it; do not run it). Tests never
# touch the system cluster: the server's data, socket and log live in one
# mktemp folder, it listens on a unix socket in that folder only (no TCP),
# and it is stopped and the folder removed when the sourcing shell exits,
# however it exits.
#
#   source "$root/tests/e2e/pg_lib.sh"
#   pg_start                 # initdb + start; sets the variables below
#   psql "$PG_URL" -c ...    # or pg_sql 'SELECT 1'
#   pg_stop / pg_restart     # the database down and up again (same data)
#
# After pg_start:
#   PG_DIR         the folder (data in $PG_DIR/data, log in $PG_DIR/log)
#   PG_URL         postgresql:// URL of database "cutover" as the superuser
#   PG_APP_URL     the same database as login role cutover_app, which holds
#                  no privilege of its own until `cutover state init` has
#                  created the group role cutover_writer and pg_start_app
#                  granted it (what an operator does, docs/EDGE.md "Shared state")
#
# Run as root, the server runs as an unprivileged user (PostgreSQL refuses
# to run as root): `postgres`, which Debian's postgresql-common creates, or
# else a system user cutover-pgtest made here once. `nobody` does not work:
# it must own the data folder and its home is not writable. The binaries
# are Debian's postgresql-15 (PG_BIN overrides the folder). Settings are
# for tests only: fsync=off, synchronous_commit=off, trust authentication on
# the socket (the folder is mode 0700, so only its owner and root reach it).

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR=""
PG_URL=""
PG_APP_URL=""
_PG_RUN_AS=()

# _pg_as CMD...: runs CMD as the user that owns the cluster.
_pg_as() { "${_PG_RUN_AS[@]}" "$@"; }

# _pg_choose_user: sets _PG_RUN_AS (empty when not root).
_pg_choose_user() {
    _PG_RUN_AS=()
    [[ "$(id -u)" -eq 0 ]] || return 0
    local user=postgres
    if ! id -u "$user" >/dev/null 2>&1; then
        user=cutover-pgtest
        if ! id -u "$user" >/dev/null 2>&1; then
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
                { echo "pg_lib: cannot create user $user to run PostgreSQL" >&2; return 1; }
        fi
    fi
    _PG_RUN_AS=(runuser -u "$user" --)
}

# _pg_install_trap: pg_cleanup runs at exit, after whatever EXIT trap was set
# before; INT, TERM and HUP exit (so the EXIT trap runs).
_pg_install_trap() {
    local prev
    prev="$(trap -p EXIT)"
    if [[ -n "$prev" ]]; then
        eval "set -- $prev"
        # shellcheck disable=SC2064  # expanded now on purpose: the previous trap's text
        trap "$3; pg_cleanup" EXIT
    else
        trap pg_cleanup EXIT
    fi
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# pg_start: a new cluster in a new folder, started, with database "cutover"
# and login role cutover_app. Returns 1 (printing the log) when it fails.
pg_start() {
    [[ -x "$PG_BIN/initdb" ]] || { echo "pg_lib: $PG_BIN/initdb not found: install postgresql-15 (scripts/install-deps.sh)" >&2; return 1; }
    _pg_choose_user || return 1
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cutover-pg.XXXXXX")" || return 1
    _pg_install_trap
    if ((${#PG_DIR} > 80)); then
        echo "pg_lib: $PG_DIR is too long for a unix socket path; set TMPDIR to a shorter folder" >&2
        return 1
    fi
    if ((${#_PG_RUN_AS[@]})); then
        chown "${_PG_RUN_AS[2]}" "$PG_DIR" || return 1
        if ! _pg_as test -w "$PG_DIR"; then
            echo "pg_lib: ${_PG_RUN_AS[2]} cannot write $PG_DIR (a folder on its way is closed to it?); set TMPDIR" >&2
            return 1
        fi
    fi
    chmod 0700 "$PG_DIR"
    if ! _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C \
        >"$PG_DIR/initdb.log" 2>&1; then
        echo "pg_lib: initdb failed:" >&2
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF
# cutover tests (tests/e2e/pg_lib.sh): private socket, no TCP, no durability
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
log_min_messages = warning
CONF
    pg_restart || return 1
    PG_URL="postgresql:///cutover?host=$PG_DIR&user=postgres"
    PG_APP_URL="postgresql:///cutover?host=$PG_DIR&user=cutover_app"
    pg_sql_db postgres "CREATE DATABASE cutover" >/dev/null || return 1
    pg_sql "CREATE ROLE cutover_app LOGIN" >/dev/null || return 1
}

# pg_attach DIR: drives a cluster another shell started with pg_start
# (pg_stop, pg_restart, pg_sql), without removing it at exit.
pg_attach() {
    _pg_choose_user || return 1
    PG_DIR="$1"
    PG_URL="postgresql:///cutover?host=$PG_DIR&user=postgres"
    PG_APP_URL="postgresql:///cutover?host=$PG_DIR&user=cutover_app"
}

# pg_restart: starts the cluster (again) on its data; waits until it accepts
# connections.
pg_restart() {
    if ! _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 start >/dev/null; then
        echo "pg_lib: PostgreSQL did not start; its log:" >&2
        cat "$PG_DIR/log" >&2
        return 1
    fi
}

# pg_stop [MODE]: stops the cluster (MODE fast by default: connections are
# closed at once; immediate: like a crash). The data stays for pg_restart.
pg_stop() {
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 60 stop >/dev/null
}

# pg_is_running: whether the cluster's postmaster is up.
pg_is_running() {
    [[ -n "$PG_DIR" && -d "$PG_DIR/data" ]] && _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

# pg_sql SQL: runs SQL in database "cutover" as the superuser; prints the
# rows unaligned, without headers. pg_sql_db DB SQL: in another database.
pg_sql() { pg_sql_db cutover "$1"; }
pg_sql_db() {
    PGOPTIONS='--client-min-messages=warning' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At \
        -h "$PG_DIR" -U postgres -d "$1" -c "$2"
}

# pg_cleanup: stops the cluster (immediate: it is thrown away) and removes
# the folder. Safe to call more than once.
pg_cleanup() {
    [[ -n "$PG_DIR" ]] || return 0
    if pg_is_running; then pg_stop immediate || true; fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}
