# shellcheck shell=bash disable=SC2034  # variables set here are for the scripts that source it
# nginx for the edge suites and benchmarks (issue 14, docs/EDGE.md): source it.
#
# Every nginx runs as the invoking user with its own prefix, config, pid,
# logs and temp folders under one mktemp folder ($NGX_ROOT), on 127.0.0.1 and
# free ports; nothing of the system's nginx is read or touched. Every nginx
# started here is stopped when the (sub)shell that called ngx_init exits,
# however it exits (an EXIT trap chained before any trap already set).
#
#   ngx_init                          # once per (sub)shell: $NGX_ROOT, the trap
#   ngx_free_port VAR                 # sets VAR to a port nothing uses
#   ngx_stub_upstream legacy PORT     # a "return 200" upstream naming itself
#   ngx_stub_decider PORT LOG         # a "return 204" decider (ngx_stub_decider doc below)
#   ngx_start NAME HTTP_INCLUDE PORT  # starts nginx NAME with that http {} include; waits for PORT
#   ngx_test NAME HTTP_INCLUDE        # nginx -t on it; output in NGX_OUT, status in NGX_RC
#   ngx_stop NAME / ngx_kill NAME / ngx_pause NAME / ngx_resume NAME
#
# ngx_start sets NGX_PID[NAME] (the master). Files of NAME: $NGX_ROOT/NAME/.
# NGX_ACCESS_LOG=off turns the access logs off (benchmarks).

declare -A NGX_PID=()
NGX_ROOT=""
declare -A NGX_PORTS_TAKEN=()

# ngx_init: creates $NGX_ROOT and chains the stop-everything trap on EXIT.
ngx_init() {
    command -v nginx >/dev/null || { echo "nginx_lib: needs nginx on PATH (scripts/install-deps.sh)" >&2; return 1; }
    NGX_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/cutover-nginx.XXXXXX")" || return 1
    local previous
    previous="$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")"
    # shellcheck disable=SC2064  # expand $previous and $NGX_ROOT now
    trap "ngx_stop_all; rm -rf '$NGX_ROOT'; $previous" EXIT
}

# ngx_used_ports: every local TCP port in any state (IPv4 and IPv6), in decimal.
ngx_used_ports() {
    awk 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
         FNR > 1 { n = split($2, a, ":"); print hex(a[n]) }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ngx_free_port VAR: sets VAR to a port below the kernel's ephemeral range (so no outgoing
# connection can hold it), that no socket uses and this shell has not handed
# out before.
ngx_free_port() {
    local var="$1" taken port i low
    low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    ((low > 11000)) || low=32768
    taken=" $(ngx_used_ports | tr '\n' ' ') "
    for ((i = 0; i < 200; i++)); do
        port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
        [[ "$taken" == *" $port "* || -n "${NGX_PORTS_TAKEN[$port]:-}" ]] && continue
        NGX_PORTS_TAKEN[$port]=1
        printf -v "$var" '%s' "$port"
        return 0
    done
    echo "nginx_lib: no free port found" >&2
    return 1
}

# _ngx_main NAME HTTP_INCLUDE: writes $NGX_ROOT/NAME/nginx.conf around the include.
_ngx_main() {
    local name="$1" include="$2" dir="$NGX_ROOT/$1"
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
# nginx $name for cutover's edge tests (tests/e2e/nginx_lib.sh)
daemon off;
master_process on;
worker_processes 1;
user $(id -un) $(id -gn);
pid $dir/nginx.pid;
error_log $dir/logs/error.log notice;
events { worker_connections 1024; }
http {
    access_log ${NGX_ACCESS_LOG:-$dir/logs/access.log};
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $include;
}
EOF
}

# ngx_test NAME HTTP_INCLUDE: `nginx -t` on the include; sets NGX_RC and NGX_OUT.
ngx_test() {
    _ngx_main "$1" "$2"
    local dir="$NGX_ROOT/$1"
    NGX_OUT="$(nginx -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>&1)"
    NGX_RC=$?
}

# _ngx_port_open PORT: true when 127.0.0.1:PORT accepts a connection.
_ngx_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ngx_start NAME HTTP_INCLUDE PORT: starts nginx NAME in the background and
# returns once PORT accepts connections (at most 10 s); 1 if it does not.
ngx_start() {
    local name="$1" include="$2" port="$3" dir="$NGX_ROOT/$1" i
    _ngx_main "$name" "$include"
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" </dev/null >"$dir/logs/stdout" 2>&1 &
    NGX_PID[$name]=$!
    for ((i = 0; i < 1000; i++)); do
        _ngx_port_open "$port" && return 0
        if ! kill -0 "${NGX_PID[$name]}" 2>/dev/null; then
            echo "nginx_lib: nginx $name exited: $(tail -n 5 "$dir/logs/error.log" 2>/dev/null)" >&2
            return 1
        fi
        sleep 0.01
    done
    echo "nginx_lib: nginx $name did not listen on $port within 10 s" >&2
    return 1
}

# ngx_group NAME: the master's and its workers' pids.
ngx_group() {
    local pid="${NGX_PID[$1]:-}"
    [[ -n "$pid" ]] || return 0
    echo "$pid"
    pgrep -P "$pid" 2>/dev/null || true
}

# ngx_pause NAME / ngx_resume NAME: SIGSTOP / SIGCONT the master and workers
# (the kernel still accepts connections; nothing answers).
# shellcheck disable=SC2046  # one pid a word
ngx_pause() { kill -STOP $(ngx_group "$1") 2>/dev/null; }
# shellcheck disable=SC2046
ngx_resume() { kill -CONT $(ngx_group "$1") 2>/dev/null; }

# ngx_kill NAME: SIGKILL the master and its workers; waits for the master.
ngx_kill() {
    local pids
    pids="$(ngx_group "$1")"
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    wait "${NGX_PID[$1]}" 2>/dev/null
    unset "NGX_PID[$1]"
}

# ngx_stop NAME: SIGTERM (fast shutdown), waits at most 5 s, then SIGKILL.
ngx_stop() {
    local pid="${NGX_PID[$1]:-}"
    [[ -n "$pid" ]] || return 0
    ngx_resume "$1"
    kill -TERM "$pid" 2>/dev/null
    if ! timeout 5 tail -s 0.01 --pid="$pid" -f /dev/null 2>/dev/null; then
        ngx_kill "$1"
        return 0
    fi
    wait "$pid" 2>/dev/null
    unset "NGX_PID[$1]"
}

# ngx_stop_all: ngx_stop for every nginx started here, the SIGTERMs sent at once.
ngx_stop_all() {
    local name
    for name in "${!NGX_PID[@]}"; do
        ngx_resume "$name"
        kill -TERM "${NGX_PID[$name]}" 2>/dev/null
    done
    for name in "${!NGX_PID[@]}"; do ngx_stop "$name"; done
}

# ngx_stub_upstream NAME PORT: prints an http {} include for an upstream that
# answers every request 200 with the header x-upstream: NAME and the body
#   NAME METHOD REQUEST_URI content-length=N cutover-target=T cutover-reason=R
# (REQUEST_URI raw, with its query); /status/CODE answers CODE instead.
ngx_stub_upstream() {
    local name="$1" port="$2"
    cat <<EOF
server {
    listen 127.0.0.1:$port;
    location / {
        add_header x-upstream $name always;
        return 200 "$name \$request_method \$request_uri content-length=\$content_length cutover-target=\$http_x_cutover_target cutover-reason=\$http_x_cutover_reason\n";
    }
    location ~ /status/503 { add_header x-upstream $name always; return 503 "$name 503\n"; }
    location ~ /status/500 { add_header x-upstream $name always; return 500 "$name 500\n"; }
    location ~ /status/404 { add_header x-upstream $name always; return 404 "$name 404\n"; }
    location ~ /status/201 { add_header x-upstream $name always; return 201 "$name 201\n"; }
}
EOF
}

# ngx_stub_decider PORT: prints an http {} include for a stand-in of cutover's
# decide endpoint: 204 with x-cutover-target from the raw X-Original-URI
# (rust_shell for paths under /chat, /new, /status and /fault; legacy
# otherwise), x-cutover-reason stub_decided, x-cutover-group stub_group,
# x-cutover-revision 7. Paths under /fault/ inject the decider's faults:
# /fault/500 and /fault/403 answer that status and /fault/200 answers 200, each
# still naming rust_shell (which must be ignored). LOG gets one line per
# decision asked: the X-Original-URI it was asked about.
ngx_stub_decider() {
    local port="$1" log="$2"
    cat <<'EOF'
log_format cutover_stub_decider '$http_x_original_uri';
map $http_x_original_uri $stub_target {
    default legacy;
    "~^/(?:chat|new|status|fault)(?:[/?]|$)" rust_shell;
}
EOF
    cat <<EOF
server {
    listen 127.0.0.1:$port;
    access_log $log cutover_stub_decider;
    location = /api/v1/route-split/decide {
        add_header x-cutover-target \$stub_target always;
        add_header x-cutover-reason stub_decided always;
        add_header x-cutover-group stub_group always;
        add_header x-cutover-revision 7 always;
        if (\$http_x_original_uri ~ ^/fault/500) { return 500; }
        if (\$http_x_original_uri ~ ^/fault/403) { return 403; }
        if (\$http_x_original_uri ~ ^/fault/200) { return 200 "not a decision"; }
        return 204;
    }
}
EOF
}

# --- the suites' front (edge.sh, live.sh): these need tests/e2e/lib.sh -------------------
#
#   ngx_stubs_up                      # the legacy and new stub upstreams; sets P_LEGACY, P_NEW
#   ngx_front_up DECIDER [ARGS...]    # the front from $TEST_TMP/routes.json; sets P_FRONT, FRONT_CONF
#   ngx_fetch RAW_PATH [CURL_ARGS...] # one request through the front

# ngx_stubs_up: picks P_LEGACY and P_NEW and starts the stub upstreams "legacy"
# and "new" on them (ngx_stub_upstream); stops the test if either fails.
ngx_stubs_up() {
    { ngx_free_port P_LEGACY && ngx_free_port P_NEW; } || fatal "no free port"
    ngx_stub_upstream legacy "$P_LEGACY" >"$TEST_TMP/legacy.conf"
    ngx_stub_upstream new "$P_NEW" >"$TEST_TMP/new.conf"
    ngx_start legacy "$TEST_TMP/legacy.conf" "$P_LEGACY" || fatal "legacy stub did not start"
    ngx_start new "$TEST_TMP/new.conf" "$P_NEW" || fatal "new stub did not start"
}

# ngx_front_up DECIDER [NGINX_CONFIG_ARGS...]: picks P_FRONT and starts the
# front nginx "front" on it with the include `cutover routes nginx-config`
# writes from $TEST_TMP/routes.json for the decider at DECIDER (HOST:PORT)
# into FRONT_CONF; stops the test if either fails.
ngx_front_up() {
    local decider="$1"
    shift
    ngx_free_port P_FRONT || fatal "no free port"
    FRONT_CONF="$TEST_TMP/front.conf"
    must routes nginx-config --config "$TEST_TMP/routes.json" --decider "$decider" \
        --listen "127.0.0.1:$P_FRONT" --out "$FRONT_CONF" "$@"
    ngx_start front "$FRONT_CONF" "$P_FRONT" || fatal "front nginx did not start: $(cat "$NGX_ROOT/front/logs/error.log")"
}

# ngx_fetch RAW_PATH [CURL_ARGS...]: one request to the front, the path sent
# as is; sets CODE, BODY, HDRS, UPSTREAM (the x-upstream header: legacy or
# new), REASON, TARGET and MS (the request's wall time).
ngx_fetch() {
    local path="$1" start
    shift
    start="$(date +%s%N)"
    CODE="$(curl -s --path-as-is --max-time 10 -o "$TEST_TMP/.body" -D "$TEST_TMP/.hdrs" -w '%{http_code}' "$@" \
        "http://127.0.0.1:$P_FRONT$path")"
    MS=$((($(date +%s%N) - start) / 1000000))
    BODY="$(cat "$TEST_TMP/.body")"
    HDRS="$(tr -d '\r' <"$TEST_TMP/.hdrs")"
    UPSTREAM="$(header x-upstream)"
    REASON="$(header x-cutover-reason)"
    TARGET="$(header x-cutover-target)"
}
