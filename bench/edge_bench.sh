#!/usr/bin/env bash
# wrk through a front nginx (issue 14, docs/PERFORMANCE.md "Edge"), same run,
# same machine, each configuration in turn:
#   (a) plain: the front proxies every request to one stub upstream;
#   (b) auth_request: the include `cutover routes nginx-config` writes, its
#       decider an nginx `return 204` stub (the mechanism's own cost);
#   (c) cutover deciding: added with the decide endpoint (issue 14, wave 2).
# Every nginx runs as the invoking user under a mktemp folder on 127.0.0.1
# (tests/e2e/nginx_lib.sh), one worker each; all are stopped at exit.
#
#   bench/edge_bench.sh [BIN]     (BIN: the cutover binary, default build/cutover)
#   DURATION=10 CONNECTIONS=32 THREADS=2 bench/edge_bench.sh
#
# Prints one line per configuration: requests/s, p50 and p99 latency.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/nginx_lib.sh
source "$root/tests/e2e/nginx_lib.sh"

BIN="${1:-$root/build/cutover}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
PATH_ASKED="${PATH_ASKED:-/chat/thread-1?x=1}"
for tool in nginx wrk "$BIN"; do
    command -v "$tool" >/dev/null || { echo "edge_bench: needs $tool (scripts/install-deps.sh; build cutover)" >&2; exit 1; }
done

export NGX_ACCESS_LOG=off
ngx_init
work="$NGX_ROOT/bench"
mkdir -p "$work"
p_up="" p_decider="" p_plain="" p_auth=""
ngx_free_port p_up
ngx_free_port p_decider
ngx_free_port p_plain
ngx_free_port p_auth

# The stub upstream (both targets point at it: the bench measures the front).
ngx_stub_upstream stub "$p_up" >"$work/upstream.conf"
ngx_start upstream "$work/upstream.conf" "$p_up"

# The decider stub: 204 naming rust_shell for every path, no log.
cat >"$work/decider.conf" <<EOF
server {
    listen 127.0.0.1:$p_decider;
    location / {
        add_header x-cutover-target rust_shell;
        add_header x-cutover-reason stub_decided;
        return 204;
    }
}
EOF
ngx_start decider "$work/decider.conf" "$p_decider"

# (a) plain proxy.
cat >"$work/plain.conf" <<EOF
upstream bench_stub {
    server 127.0.0.1:$p_up;
    keepalive 32;
}
server {
    listen 127.0.0.1:$p_plain;
    location / {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://bench_stub;
    }
}
EOF
ngx_start plain "$work/plain.conf" "$p_plain"

# (b) the generated include, decided by the stub. No pins: every request asks.
cat >"$work/routes.json" <<EOF
{"legacy_base_url": "http://127.0.0.1:$p_up", "rust_base_url": "http://127.0.0.1:$p_up", "pinned_routes": []}
EOF
"$BIN" routes nginx-config --config "$work/routes.json" --decider "127.0.0.1:$p_decider" \
    --listen "127.0.0.1:$p_auth" --out "$work/auth.conf" 2>/dev/null
ngx_start auth "$work/auth.conf" "$p_auth"

# run LABEL PORT: one wrk run; prints "LABEL req/s p50 p99".
run() {
    local label="$1" port="$2" out rps p50 p99
    # Warm the kept-alive connections, then measure.
    wrk -t1 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$port$PATH_ASKED" >/dev/null
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$port$PATH_ASKED")"
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "edge_bench: $label answered non-2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    printf '%-28s %12s req/s   p50 %9s   p99 %9s\n' "$label" "$rps" "$p50" "$p99"
    echo "$rps" >"$work/$label.rps"
}

echo "edge_bench: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:PORT$PATH_ASKED; $(nproc) cores"
run a_plain_proxy "$p_plain"
run b_auth_request_stub "$p_auth"
awk -v a="$(cat "$work/a_plain_proxy.rps")" -v b="$(cat "$work/b_auth_request_stub.rps")" \
    'BEGIN { printf "(b)/(a) = %.2f\n", b / a }'
