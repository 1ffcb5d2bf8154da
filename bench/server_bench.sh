#!/usr/bin/env bash
# The evaluate endpoint under load (docs/PERFORMANCE.md): wrk with 64
# connections against `cutover serve` (POST /api/v1/control/route-split/evaluate,
# a viewer token, cohort mode so every request hashes its key), and, in the
# same run on the same machine, against Debian's nginx answering a fixed 200
# from `return 200` (no disk, no upstream). The target: cutover at least half
# of nginx's requests per second. Prints requests/s and p50/p99 for each,
# ROUNDS rounds alternating the two.
#
#   bench/server_bench.sh [BUILD_DIR]     (ROUNDS=3 DURATION=10s THREADS=2 CONNECTIONS=64)
#
# Installs wrk and nginx when missing (apt-get; needs root or sudo). Both
# servers run from a temporary folder on free 127.0.0.1 ports and are stopped
# at the end; nginx runs in the foreground with its own config, so the
# distribution's nginx service is neither used nor started.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
cutover=$(realpath "$build/cutover")

need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/server-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "wrk: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), nginx: $(/usr/sbin/nginx -v 2>&1 | cut -d/ -f2)"
echo "load: -t$threads -c$connections -d$duration, $rounds rounds"

# --- cutover ---------------------------------------------------------------------
token="bench-viewer-token"
(umask 077 && printf 'viewer bench sha256:%s\n' "$(printf %s "$token" | sha256sum | cut -c1-64)" >"$tmp/tokens.txt")
cat >"$tmp/routes.json" <<'EOF'
{"mode": "cohort", "cohort_percentage": 25, "legacy_base_url": "https://legacy.example.com", "tokens_file": "tokens.txt"}
EOF
mkfifo "$tmp/cutover.out"
"$cutover" serve --config "$tmp/routes.json" --listen 127.0.0.1:0 --state-dir "$tmp/state" >"$tmp/cutover.out" 2>"$tmp/cutover.err" &
pids+=($!)
exec 7<"$tmp/cutover.out"
read -r -t 20 line <&7
cutover_addr=${line#listening on }

# --- nginx -----------------------------------------------------------------------
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      return 200 '{"data":{"path":"/chat/thread-1","target":"rust_shell","reason":"mode_cohort"}}';
    }
  }
}
EOF
/usr/sbin/nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 200); do  # bounded: nginx has no "ready" line to read
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
  sleep 0.05
done

# --- the load ----------------------------------------------------------------------
cat >"$tmp/evaluate.lua" <<EOF
-- POST evaluate with 256 different cohort keys, so the bucket is computed anew.
local bodies = {}
for i = 1, 256 do
  bodies[i] = string.format('{"path":"/chat/thread-%d","cohort_key":"user:%d"}', i, i * 7919)
end
local n = 0
request = function()
  n = n % 256 + 1
  return wrk.format("POST", "/api/v1/control/route-split/evaluate",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"}, bodies[n])
end
EOF
cat >"$tmp/nginx.lua" <<'EOF'
-- The same requests, so both sides read the same bytes.
local bodies = {}
for i = 1, 256 do
  bodies[i] = string.format('{"path":"/chat/thread-%d","cohort_key":"user:%d"}', i, i * 7919)
end
local n = 0
request = function()
  n = n % 256 + 1
  return wrk.format("GET", "/api/v1/control/route-split/evaluate",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer x"}, bodies[n])
end
EOF

# Sanity: the evaluate answer is a decision.
curl -s -H "Authorization: Bearer $token" -d '{"path":"/chat/1","cohort_key":"user:1"}' \
  "http://$cutover_addr/api/v1/control/route-split/evaluate" | grep -q '"reason":"mode_cohort"' \
  || { echo "cutover evaluate did not answer with a decision" >&2; exit 1; }

run() {  # NAME URL SCRIPT
  local out rps p50 p99
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$3" "$2")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  if grep -q 'Non-2xx' <<<"$out"; then echo "$1: non-2xx answers: $(grep 'Non-2xx' <<<"$out")" >&2; fi
  printf '%-8s %12s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
  echo "$1 $rps" >>"$tmp/results"
}

for r in $(seq "$rounds"); do
  echo "round $r"
  run nginx "http://127.0.0.1:$nginx_port" "$tmp/nginx.lua"
  run cutover "http://$cutover_addr" "$tmp/evaluate.lua"
done
awk '{s[$1] += $2; n[$1]++} END {
  c = s["cutover"] / n["cutover"]; g = s["nginx"] / n["nginx"];
  printf "mean: cutover %.0f req/s, nginx %.0f req/s, ratio %.2f (target >= 0.5)\n", c, g, c / g }' "$tmp/results"
