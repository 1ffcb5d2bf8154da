#!/usr/bin/env bash
# Shared state in PostgreSQL (issue 15; docs/PERFORMANCE.md): two `cutover
# serve --state postgresql://...` replicas on a throwaway PostgreSQL
# (tests/e2e/pg_lib.sh, fsync=off) and one local-folder server.
#   1. propagation: an override on A until B holds its revision (B's
#      cutover_state_revision, polled over one keep-alive connection), p50/p99;
#   2. overrides per second through one replica (1 client, then 4);
#   3. evaluate throughput (wrk) against the local-folder server and a
#      shared-state replica, alternating ROUNDS times.
#
#   bench/replicas_bench.sh [BUILD_DIR]   (OVERRIDES=200 ROUNDS=2 DURATION=5s)
#
# Needs python3 (the client of 1 and 2) and wrk (3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build=$(realpath "${1:-$root/build}")
cutover="$build/cutover"
overrides=${OVERRIDES:-200}
rounds=${ROUNDS:-2}
duration=${DURATION:-5s}
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/pg_lib.sh
source "$root/tests/e2e/pg_lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/replicas-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap 'cleanup; pg_cleanup' EXIT
pg_start
"$cutover" state init "$PG_URL" >/dev/null
pg_sql "GRANT cutover_writer TO cutover_app" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
op="bench-operator-token"
(umask 077 && printf 'operator bench sha256:%s\n' "$(printf %s "$op" | sha256sum | cut -c1-64)" >"$tmp/tokens.txt")
echo '{"mode": "cohort", "cohort_percentage": 25, "legacy_base_url": "https://legacy.example.com", "tokens_file": "tokens.txt"}' \
  >"$tmp/routes.json"

# start NAME ARGS...: a server; sets ${NAME}_ADDR.
start() {
  local name=$1 line
  shift
  mkfifo "$tmp/$name.out"
  "$cutover" serve --config "$tmp/routes.json" --listen 127.0.0.1:0 --state-dir "$tmp/state-$name" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  exec {fd}<"$tmp/$name.out"
  read -r -t 20 line <&"$fd"
  printf -v "${name}_ADDR" '%s' "${line#listening on }"
}
start A --state "$PG_APP_URL"
start B --state "$PG_APP_URL"
start L
for a in "$A_ADDR" "$B_ADDR"; do
  for _ in $(seq 200); do curl -sf "http://$a/readyz" >/dev/null && break; sleep 0.05; done
done

python3 - "$A_ADDR" "$B_ADDR" "$op" "$overrides" <<'PY'
import http.client, json, sys, threading, time
a, b, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def conn(addr):
    h, p = addr.rsplit(":", 1)
    return http.client.HTTPConnection(h, int(p))
def revision(c):
    c.request("GET", "/metrics", headers=hdr)
    body = c.getresponse().read().decode()
    for line in body.splitlines():
        if line.startswith("cutover_state_revision "):
            return int(line.split()[1])
    raise SystemExit("no cutover_state_revision on B")
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
ca, cb = conn(a), conn(b)
targets = ["legacy", "rust", "clear", "rollback"]
lat = []
for i in range(n):
    body = json.dumps({"target": targets[i % 4]})
    ca.request("POST", "/api/v1/control/route-split/override", body=body, headers=hdr)
    r = ca.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("override: %d %s" % (r.status, data))
    t0 = time.monotonic()
    want = revision(ca)
    while revision(cb) < want:
        pass
    lat.append((time.monotonic() - t0) * 1000)
print("propagation A -> B over %d overrides: p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
      (n, pct(lat, 0.5), pct(lat, 0.99), max(lat)))
for clients in (1, 4):
    done = [0]
    lock = threading.Lock()
    def run():
        c = conn(a)
        for i in range(n // clients):
            c.request("POST", "/api/v1/control/route-split/override",
                      body=json.dumps({"target": targets[i % 4], "domain": "billing_l402"}), headers=hdr)
            r = c.getresponse()
            r.read()
            if r.status == 200:
                with lock:
                    done[0] += 1
    t0 = time.monotonic()
    ts = [threading.Thread(target=run) for _ in range(clients)]
    for t in ts: t.start()
    for t in ts: t.join()
    el = time.monotonic() - t0
    print("overrides through one replica, %d client(s): %d in %.2f s = %.0f/s" % (clients, done[0], el, done[0] / el))
PY

if command -v wrk >/dev/null; then
  cat >"$tmp/evaluate.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $op"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/control/route-split/evaluate", nil, '{"path":"/chat/x","cohort_key":"user:' .. (n % 256) .. '"}')
end
EOF
  for r in $(seq "$rounds"); do
    for which in L A; do
      addr_var="${which}_ADDR"
      out=$(wrk -t2 -c64 -d"$duration" --latency -s "$tmp/evaluate.lua" "http://${!addr_var}")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1=="50%" {print $2}' <<<"$out")
      p99=$(awk '$1=="99%" {print $2}' <<<"$out")
      label=$([[ $which == L ]] && echo "local folder" || echo "shared state")
      echo "evaluate, round $r, $label: $rps req/s, p50 $p50, p99 $p99"
    done
  done
fi
