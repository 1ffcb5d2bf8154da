#!/usr/bin/env bash
# wrk through a front nginx (issue 14, docs/PERFORMANCE.md "Edge"), same run,
# same machine, each configuration in turn:
#   (a) plain: the front proxies every request to one stub upstream;
#   (b) auth_request: the include `cutover routes nginx-config` writes, its
#       decider an nginx `return 204` stub (the mechanism's own cost);
#   (c) cutover deciding: the same generated include, its decider
#       `cutover serve --decide-listen` (the route config splits every path
#       by cohort at 50 %, keys from the x-user header).
# Then the decide endpoint alone (GET, token-free listener) against today's
# evaluate endpoint (POST with a viewer token and a JSON body), same server.
# Every nginx runs as the invoking user under a mktemp folder on 127.0.0.1
# (tests/e2e/nginx_lib.sh), one worker each; all are stopped at exit.
#
#   bench/edge_bench.sh [BIN]     (BIN: the cutover binary, default build/cutover)
#   DURATION=10 CONNECTIONS=32 THREADS=2 bench/edge_bench.sh
#
# Prints one line per configuration: requests/s, p50 and p99 latency; then
# (b)/(a), (c)/(b) (goal >= 0.8), (c)/(a) and decide/evaluate (goal >= 1.5).
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
p_up="" p_decider="" p_plain="" p_auth="" p_ctrl="" p_decide="" p_live=""
for p in p_up p_decider p_plain p_auth p_ctrl p_decide p_live; do ngx_free_port "$p"; done

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

# (c) cutover serve deciding (its audit log and state in $work/state).
token="bench-viewer-token-0123456789"
(
    umask 077
    echo "viewer bench sha256:$(printf '%s' "$token" | sha256sum | cut -c1-64)" >"$work/tokens.txt"
)
cat >"$work/live.json" <<EOF
{"legacy_base_url": "http://127.0.0.1:$p_up", "rust_base_url": "http://127.0.0.1:$p_up", "pinned_routes": [],
 "mode": "cohort", "cohort_percentage": 50, "cohort_key_header": "x-user", "tokens_file": "tokens.txt"}
EOF
mkfifo "$work/serve.out"
"$BIN" serve --config "$work/live.json" --listen "127.0.0.1:$p_ctrl" --decide-listen "127.0.0.1:$p_decide" \
    --state-dir "$work/state" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; ngx_stop_all; rm -rf "$NGX_ROOT"' EXIT
exec 7<"$work/serve.out"
if ! read -r -t 20 _ <&7 || ! read -r -t 20 _ <&7; then
    echo "edge_bench: cutover serve did not start: $(cat "$work/serve.err")" >&2
    exit 1
fi
"$BIN" routes nginx-config --config "$work/live.json" --decider "127.0.0.1:$p_decide" \
    --listen "127.0.0.1:$p_live" --out "$work/live.conf" 2>/dev/null
ngx_start live "$work/live.conf" "$p_live"

# wrk scripts: a cohort key header on every request; the decide GET; evaluate's POST.
echo 'wrk.headers["x-user"] = "user:1"' >"$work/key.lua"
printf 'wrk.headers["X-Original-URI"] = "%s"\nwrk.headers["x-user"] = "user:1"\n' "$PATH_ASKED" >"$work/decide.lua"
printf '%s\n' 'wrk.method = "POST"' "wrk.headers[\"Authorization\"] = \"Bearer $token\"" \
    'wrk.headers["Content-Type"] = "application/json"' \
    "wrk.body = '{\"path\": \"${PATH_ASKED%%\?*}\", \"cohort_key\": \"user:1\"}'" >"$work/evaluate.lua"

# run LABEL URL [WRK_ARGS...]: one wrk run; prints "LABEL req/s p50 p99".
run() {
    local label="$1" url="$2" out rps p50 p99
    shift 2
    # Warm the kept-alive connections, then measure.
    wrk -t1 -c"$CONNECTIONS" -d1s "$@" "$url" >/dev/null
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")"
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

echo "edge_bench: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency URL; $(nproc) cores; $("$BIN" --version)"
run a_plain_proxy "http://127.0.0.1:$p_plain$PATH_ASKED" -s "$work/key.lua"
run b_auth_request_stub "http://127.0.0.1:$p_auth$PATH_ASKED" -s "$work/key.lua"
run c_cutover_deciding "http://127.0.0.1:$p_live$PATH_ASKED" -s "$work/key.lua"
run decide_endpoint "http://127.0.0.1:$p_decide/api/v1/route-split/decide" -s "$work/decide.lua"
run evaluate_endpoint "http://127.0.0.1:$p_ctrl/api/v1/control/route-split/evaluate" -s "$work/evaluate.lua"
rps() { cat "$work/$1.rps"; }
awk -v a="$(rps a_plain_proxy)" -v b="$(rps b_auth_request_stub)" -v c="$(rps c_cutover_deciding)" \
    -v d="$(rps decide_endpoint)" -v e="$(rps evaluate_endpoint)" 'BEGIN {
    printf "(b)/(a) = %.2f\n(c)/(b) = %.2f (goal >= 0.8)\n(c)/(a) = %.2f\n", b / a, c / b, c / a
    printf "decide/evaluate = %.2f (goal >= 1.5)\n", d / e
}'
