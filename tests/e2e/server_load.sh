#!/usr/bin/env bash
# End-to-end suite for the control server under load and attack (issue 7):
# `cutover serve` on an ephemeral 127.0.0.1 port (lib.sh's start_server),
# driven by wrk, curl and raw bash /dev/tcp connections.
#
#   tests/e2e/server_load.sh [BIN]
#   LOAD_SECONDS=60 tests/e2e/server_load.sh build/cutover
#
# - Load: wrk asks for the status and evaluates a path, alternately, at full
#   speed with the viewer token (a Lua script that counts answers by status
#   and checks every body) for LOAD_SECONDS seconds. The default, 20, is
#   what CI runs; docs/RELIABILITY.md records a 60 s run. Meanwhile one curl
#   loop changes overrides one after another, recording each acknowledged
#   one, and another samples the status and an evaluation. Checked: no 5xx
#   and no socket error, every sample shows a state the overrides were in
#   while that sample was in flight, exactly one audit line per
#   acknowledged override (in order, with its revision), the state file
#   equal to the last acknowledged override; then SIGKILL, a restart on the
#   same folder, and the last acknowledged override is still in force.
# - Attacks: every control endpoint without a token, with a wrong or
#   malformed one, and with a viewer token where an operator is needed;
#   oversized bodies, header blocks and request targets; requests that made
#   the HTTP library wait on an event thread (a bug this suite found); 50
#   slow clients, idle or sending a byte at a time. A normal client is
#   answered within 5 s all along, and the slow ones are closed by the
#   server's timeouts.
#
# BIN defaults to build/cutover under the repository root. Needs bash, curl,
# jq, wrk, awk, sha256sum, timeout, tail and mkfifo. Nothing sleeps to
# synchronise: background loops stop when a file appears, and waits are
# polls for a condition with a bound. The figures of a run are printed as
# `[ load ]` and `[ attack ]` lines.
#
# The tests run indirectly (run_test "$name"), in a subshell that sets TEST_TMP.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary server_load.sh "${1:-}" curl jq wrk awk sha256sum timeout tail mkfifo
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

LOAD_SECONDS="${LOAD_SECONDS:-20}"
if ! [[ "$LOAD_SECONDS" =~ ^[1-9][0-9]{0,3}$ ]]; then
    echo "server_load.sh: LOAD_SECONDS must be a whole number of seconds from 1 to 9999, not '$LOAD_SECONDS'" >&2
    exit 2
fi

# --- helpers --------------------------------------------------------------------

# The overrides the load test applies: the first, then the cycle over and
# over. No state in the cycle is the empty one, so a server that lost its
# state cannot pass for one that kept it. After the first: global legacy.
FIRST_OVERRIDE='{"target":"legacy"}'
OVERRIDE_CYCLE=(
    '{"target":"rust","domain":"chat_pilot"}'          # g=legacy     chat=rust_shell
    '{"target":"rust"}'                                # g=rust_shell chat=rust_shell
    '{"target":"rollback","domain":"Billing-L402"}'    #              + billing=legacy
    '{"target":"clear","domain":"chat_pilot"}'         # g=rust_shell billing=legacy
    '{"target":"clear"}'                               #              billing=legacy
    '{"target":"legacy","domain":"chat_pilot"}'        # chat=legacy  billing=legacy
    '{"target":"default","domain":"billing_l402"}'     # chat=legacy
    '{"target":"legacy"}'                              # g=legacy     chat=legacy
    '{"target":"clear","domain":"chat_pilot"}'         # g=legacy (as after the first)
)

# The evaluation the load asks for: /chat/load (chat_pilot) with key
# user:route, whose bucket (85) is outside the 60 % cohort.
EVAL_BODY='{"path":"/chat/load","cohort_key":"user:route"}'

# jq: a status's overrides as one word, "g=<global>;<group>=<target>,...".
JQ_KEY='def key: "g=" + (.override_target // "none") + ";"
    + ((.domain_overrides // {}) | to_entries | sort_by(.key) | map(.key + "=" + .value) | join(","));'
# jq: the same word from the state file.
JQ_FILE_KEY='"g=" + (.global // "none") + ";"
    + ((.groups // {}) | to_entries | sort_by(.key) | map(.key + "=" + .value) | join(","))'

# decision_of KEY GROUP: "target/reason" the state KEY gives a path of GROUP
# with key user:route (group override, else global, else the cohort: legacy).
decision_of() {
    local key="$1" group="$2" global groups
    global="${key%%;*}"
    global="${global#g=}"
    groups=",${key#*;},"
    if [[ "$groups" == *",$group="* ]]; then
        local t="${groups#*,"$group"=}"
        printf '%s/domain_override' "${t%%,*}"
    elif [[ "$global" != none ]]; then
        printf '%s/runtime_override' "$global"
    else
        printf 'legacy/mode_cohort'
    fi
}

# now_us: wall-clock microseconds (bash's own clock: no process started).
now_us() { local t="$EPOCHREALTIME"; printf '%s' "${t/./}"; }

# wait_gone PID SECONDS WHAT: waits (bounded) for a process to end and reaps it.
wait_gone() {
    timeout "$2" tail -s 0.05 --pid="$1" -f /dev/null || fatal "$3 (pid $1) did not end within $2 s"
    wait "$1" 2>/dev/null
}

# field NAME FILE: the value of the first "NAME=value" word in FILE.
field() { grep -o "\\b$1=[0-9.]*" "$2" | head -n1 | cut -d= -f2; }

# normal_client_start / normal_client_stop: a client that keeps asking for
# the status (curl, at most 5 s a request) until stopped; stop asserts that
# it was answered at least once and never failed.
normal_client_start() {
    rm -f "$TEST_TMP/normal.stop"
    : >"$TEST_TMP/normal.log"
    (
        while [[ ! -e "$TEST_TMP/normal.stop" ]]; do
            curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 \
                -H "Authorization: Bearer $VIEW_TOKEN" "$BASE$CTRL/status" >>"$TEST_TMP/normal.log"
        done
    ) &
    NORMAL_PID=$!
}
normal_client_stop() {
    touch "$TEST_TMP/normal.stop"
    wait_gone "$NORMAL_PID" 30 "the normal client"
    local total bad slowest
    total="$(wc -l <"$TEST_TMP/normal.log")"
    bad="$(grep -vc '^200 ' "$TEST_TMP/normal.log")"
    slowest="$(sort -k2 -g "$TEST_TMP/normal.log" | tail -n1 | cut -d' ' -f2)"
    if ((total < 1)); then _e2e_fail "the normal client was never answered"; fi
    assert_eq 0 "$bad" "normal client requests that failed: $(grep -v '^200 ' "$TEST_TMP/normal.log" | head -n3 | tr '\n' ' ')"
    NORMAL_SUMMARY="$total requests, all 200, slowest ${slowest} s"
}

# refused WHAT STATUSES CODES CURL_ARGS...: a request the server must refuse
# cleanly: an answer with a status in STATUSES (e.g. "413" or "400|413")
# and the error envelope with an error.code in CODES; or, where STATUSES has
# "|closed", the server closing the connection before the client could read
# an answer (it stops reading an oversized request, and what the client was
# still sending makes the close a reset). Prints an `[ attack ]` line.
refused() {
    local what="$1" statuses="$2" code="$3" rc status
    shift 3
    rm -f "$TEST_TMP/.refused"
    status="$(curl -s -o "$TEST_TMP/.refused" -w '%{http_code}' --max-time 10 "$@")"
    rc=$?
    local body=""
    [[ -f "$TEST_TMP/.refused" ]] && body="$(cat "$TEST_TMP/.refused")"
    if [[ "$status" == 000 && "|$statuses|" == *"|closed|"* && ($rc == 52 || $rc == 55 || $rc == 56) ]]; then
        echo "[ attack ] $what: connection closed by the server (curl exit $rc)"
        return 0
    fi
    if [[ "|$statuses|" != *"|$status|"* ]]; then
        _e2e_fail "$what: expected $statuses, got HTTP $status (curl exit $rc) $(_e2e_show "$body")"
        return 1
    fi
    local got
    got="$(printf '%s' "$body" | jq -r '.error.code' 2>/dev/null)"
    if [[ "|$code|" != *"|$got|"* ]]; then _e2e_fail "$what: error.code: expected $code, got $(_e2e_show "$got")"; fi
    echo "[ attack ] $what: $status $got"
}

# --- load -------------------------------------------------------------------------

# The wrk script: status and evaluate alternately, with the viewer token;
# counts answers by status class and bodies that are not what the endpoint
# answers; done() prints the totals over every thread.
write_wrk_script() {
    cat >"$TEST_TMP/load.lua" <<'EOF'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent, status_answers, evaluate_answers = 0, 0, 0
  answers_2xx, answers_4xx, answers_5xx, answers_other, bad_bodies = 0, 0, 0, 0, 0
  local token = os.getenv("LOAD_TOKEN")
  status_request = wrk.format("GET", "/api/v1/control/route-split/status", {["Authorization"] = "Bearer " .. token})
  evaluate_request = wrk.format("POST", "/api/v1/control/route-split/evaluate",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, os.getenv("LOAD_EVAL_BODY"))
end

function request()
  sent = sent + 1
  if sent % 2 == 0 then return status_request end
  return evaluate_request
end

function response(status, headers, body)
  if status >= 500 then answers_5xx = answers_5xx + 1
  elseif status >= 400 then answers_4xx = answers_4xx + 1
  elseif status >= 200 and status < 300 then answers_2xx = answers_2xx + 1
  else answers_other = answers_other + 1 end
  if body:find('{"data":{"enabled":', 1, true) == 1 and body:find('"rollback_matrix":', 1, true) then
    status_answers = status_answers + 1
  elseif body:find('{"data":{"path":"/chat/load",', 1, true) == 1 and
         (body:find('"target":"legacy"', 1, true) or body:find('"target":"rust_shell"', 1, true)) then
    evaluate_answers = evaluate_answers + 1
  else
    bad_bodies = bad_bodies + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, name in ipairs({"status_answers", "evaluate_answers", "answers_2xx", "answers_4xx",
                         "answers_5xx", "answers_other", "bad_bodies"}) do
    total[name] = 0
    for _, thread in ipairs(threads) do total[name] = total[name] + thread:get(name) end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format("[ load ] wrk requests=%d seconds=%.1f req_per_s=%.0f status_answers=%d evaluate_answers=%d\n",
    summary.requests, seconds, summary.requests / seconds, total.status_answers, total.evaluate_answers))
  io.write(string.format("[ load ] wrk answers_2xx=%d answers_4xx=%d answers_5xx=%d answers_other=%d bad_bodies=%d\n",
    total.answers_2xx, total.answers_4xx, total.answers_5xx, total.answers_other, total.bad_bodies))
  io.write(string.format("[ load ] wrk connect_errors=%d read_errors=%d write_errors=%d timeouts=%d non_2xx_3xx=%d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("[ load ] wrk latency_ms p50=%.2f p99=%.2f max=%.2f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
EOF
}

# override_writer: applies the overrides one after another until
# $TEST_TMP/load.stop exists; logs "W SENT_US ACK_US HTTP_STATUS BODY" a
# request (request k has x-request-id load-k).
override_writer() {
    local k=0 body out t0 t1 status
    while [[ ! -e "$TEST_TMP/load.stop" ]]; do
        k=$((k + 1))
        if ((k == 1)); then body="$FIRST_OVERRIDE"; else body="${OVERRIDE_CYCLE[(k - 2) % ${#OVERRIDE_CYCLE[@]}]}"; fi
        t0="$(now_us)"
        out="$(curl -s --max-time 60 -w ' %{http_code}' -H "Authorization: Bearer $OP_TOKEN" \
            -H 'Content-Type: application/json' -H "x-request-id: load-$k" --data-binary "$body" "$BASE$CTRL/override")"
        t1="$(now_us)"
        status="${out##* }"
        printf 'W %s %s %s %s\n' "$t0" "$t1" "$status" "${out% *}" >>"$TEST_TMP/writer.log"
    done
}

# sampler: asks for the status (S) and an evaluation (E) in turn until
# $TEST_TMP/load.stop exists; logs "S|E SENT_US ANSWERED_US HTTP_STATUS BODY".
sampler() {
    local out t0 t1
    while [[ ! -e "$TEST_TMP/load.stop" ]]; do
        t0="$(now_us)"
        out="$(curl -s --max-time 30 -w ' %{http_code}' -H "Authorization: Bearer $VIEW_TOKEN" "$BASE$CTRL/status")"
        t1="$(now_us)"
        printf 'S %s %s %s %s\n' "$t0" "$t1" "${out##* }" "${out% *}" >>"$TEST_TMP/samples.log"
        t0="$(now_us)"
        out="$(curl -s --max-time 30 -w ' %{http_code}' -H "Authorization: Bearer $VIEW_TOKEN" \
            -H 'Content-Type: application/json' --data-binary "$EVAL_BODY" "$BASE$CTRL/evaluate")"
        t1="$(now_us)"
        printf 'E %s %s %s %s\n' "$t0" "$t1" "${out##* }" "${out% *}" >>"$TEST_TMP/samples.log"
    done
}

# to_rows LOG: "KIND SENT ANSWERED STATUS VALUE" with VALUE the state key (W,
# S) or "target/reason" (E), "unreadable" when the body is not an answer.
to_rows() {
    jq -R -r "$JQ_KEY"'
        split(" ") as $f | ($f[4:] | join(" ")) as $b | (try ($b | fromjson) catch null) as $j
        | [$f[0], $f[1], $f[2], $f[3],
           (if ($j | type) != "object" or ($j.data | type) != "object" then "unreadable"
            elif $f[0] == "E" then "\($j.data.target)/\($j.data.reason)"
            else ($j.data | key) end)]
        | join(" ")' "$1"
}

test_load_while_overrides_change_then_sigkill_and_restart() {
    write_setup
    start_server
    write_wrk_script
    : >"$TEST_TMP/writer.log"
    : >"$TEST_TMP/samples.log"

    override_writer &
    local writer=$!
    sampler &
    local sampler_pid=$!
    LOAD_TOKEN="$VIEW_TOKEN" LOAD_EVAL_BODY="$EVAL_BODY" timeout $((LOAD_SECONDS + 60)) \
        wrk -t2 -c32 -d"${LOAD_SECONDS}s" --timeout 10s -s "$TEST_TMP/load.lua" "$BASE" >"$TEST_TMP/wrk.out" 2>&1
    local wrk_rc=$?
    touch "$TEST_TMP/load.stop"
    wait_gone "$writer" 90 "the override writer"
    wait_gone "$sampler_pid" 90 "the sampler"
    assert_eq 0 "$wrk_rc" "wrk exit status ($(tail -n3 "$TEST_TMP/wrk.out"))"
    grep '^\[ load \]' "$TEST_TMP/wrk.out"

    # wrk: both endpoints answered, nothing but 2xx, no socket error.
    local out="$TEST_TMP/wrk.out" name requests
    requests="$(field requests "$out")"
    [[ -n "$requests" ]] || fatal "wrk printed no figures: $(tail -n5 "$out")"
    if ((requests < 1000)); then _e2e_fail "wrk made only $requests requests"; fi
    if (($(field status_answers "$out") < 1 || $(field evaluate_answers "$out") < 1)); then
        _e2e_fail "wrk did not get both endpoints answered"
    fi
    assert_eq "$requests" "$(field answers_2xx "$out")" "wrk: every answer a 2xx"
    for name in answers_4xx answers_5xx answers_other bad_bodies connect_errors read_errors write_errors timeouts non_2xx_3xx; do
        assert_eq 0 "$(field "$name" "$out")" "wrk $name"
    done

    # The server is alive and saw no 5xx.
    kill -0 "$PID" 2>/dev/null || fatal "the server died under load: $(tail -n5 "$SERVER_ERR")"
    req GET /healthz
    assert_eq 200 "$CODE" "/healthz after the load"
    req GET /metrics "$VIEW_TOKEN"
    assert_not_contains "$BODY" 'code="5' "metrics: a 5xx answer"

    # The overrides: every one acknowledged.
    to_rows "$TEST_TMP/writer.log" >"$TEST_TMP/writer.rows"
    to_rows "$TEST_TMP/samples.log" >"$TEST_TMP/samples.rows"
    local sent acked
    sent="$(wc -l <"$TEST_TMP/writer.rows")"
    acked="$(awk '$4 == 200 && $5 != "unreadable"' "$TEST_TMP/writer.rows" | wc -l)"
    if ((acked < 10)); then _e2e_fail "only $acked overrides acknowledged"; fi
    assert_eq "$sent" "$acked" "overrides acknowledged of those sent ($(awk '$4 != 200' "$TEST_TMP/writer.rows" | head -n2))"
    local last_key
    last_key="$(tail -n1 "$TEST_TMP/writer.rows" | cut -d' ' -f5)"
    local counted
    counted="$(grep '^cutover_route_overrides_total{' <<<"$BODY" | awk '{s += $NF} END {print s + 0}')"
    assert_eq "$acked" "$counted" "metrics: cutover_route_overrides_total"

    # Every sample shows a state the overrides were in while it was in
    # flight: state i (after acknowledged override i; 0 = none) may be seen
    # from when override i was sent until override i+1 was acknowledged.
    local verdict
    verdict="$(awk -v eval_group=chat_pilot '
        function decision(key,   global, rest, n, parts, i, kv) {
            global = substr(key, 3, index(key, ";") - 3)
            rest = substr(key, index(key, ";") + 1)
            n = split(rest, parts, ",")
            for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == eval_group) return kv[2] "/domain_override" }
            if (global != "none") return global "/runtime_override"
            return "legacy/mode_cohort"
        }
        BEGIN { n = 0; sent[0] = 0; key[0] = "g=none;" }
        NR == FNR { if ($4 == 200) { n++; sent[n] = $2 + 0; acked[n] = $3 + 0; key[n] = $5 }; next }
        {
            samples++; kinds[$1]++
            if ($4 != 200 || $5 == "unreadable") { bad++; if (bad <= 3) print "unanswered sample: " $0; next }
            ok = 0
            for (i = 0; i <= n && !ok; i++) {
                if (sent[i] > $3 + 0) break
                if (i < n && acked[i + 1] < $2 + 0) continue
                if ((($1 == "E") ? decision(key[i]) : key[i]) == $5) ok = 1
            }
            if (!ok) { bad++; if (bad <= 3) print "inconsistent sample: " $0 }
        }
        END { printf "samples=%d status_samples=%d evaluate_samples=%d inconsistent=%d\n", samples, kinds["S"], kinds["E"], bad + 0 }
    ' "$TEST_TMP/writer.rows" "$TEST_TMP/samples.rows")"
    printf '%s\n' "$verdict" | grep -v '^samples=' | sed 's/^/    /'
    local summary
    summary="$(tail -n1 <<<"$verdict")"
    assert_match "$summary" '^samples=[0-9]+ status_samples=[1-9][0-9]* evaluate_samples=[1-9][0-9]* inconsistent=0$' \
        "sampled answers consistent with a committed state"

    # The audit log: one line per acknowledged override, in order, each the
    # request it records (request id, target, scope) with the next revision.
    local audit="$TEST_TMP/state/audit.jsonl" cycle expected actual
    jq -e -s 'length' "$audit" >/dev/null 2>&1 || _e2e_fail "audit log: a line is not JSON"
    assert_eq "$acked" "$(wc -l <"$audit")" "audit log lines"
    cycle="[$(IFS=,; printf '%s' "${OVERRIDE_CYCLE[*]}")]"
    expected="$(jq -n -r --argjson first "$FIRST_OVERRIDE" --argjson cycle "$cycle" --argjson n "$acked" '
        range(1; $n + 1) as $k
        | (if $k == 1 then $first else $cycle[($k - 2) % ($cycle | length)] end) as $b
        | "load-\($k) \($k) alice \($b.target) "
          + (if ($b.domain // "") == "" then "global" else "domain:" + ($b.domain | ascii_downcase | gsub("-"; "_")) end)')"
    actual="$(jq -r 'select(.event == "route.split.override.updated") | "\(.request_id) \(.revision) \(.identity) \(.target) \(.scope)"' "$audit")"
    if [[ "$expected" != "$actual" ]]; then
        _e2e_fail "audit log differs from the acknowledged overrides: $(diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | head -n6 | tr '\n' ' ')"
    fi

    # The state file: valid, the last acknowledged state, its revision.
    local state="$TEST_TMP/state/overrides.json"
    jq -e . "$state" >/dev/null 2>&1 || _e2e_fail "state file is not valid JSON"
    assert_eq "$last_key" "$(jq -r "$JQ_FILE_KEY" "$state")" "state file: the last acknowledged override"
    assert_eq "$acked" "$(jq -r .revision "$state")" "state file revision"
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq "$last_key" "$(jqb "$JQ_KEY"' .data | key')" "status after the load"
    echo "[ load ] overrides sent=$sent acknowledged=$acked audit_lines=$(wc -l <"$audit") last_state=$last_key revision=$(jq -r .revision "$state")"
    echo "[ load ] curl $summary"

    # SIGKILL, then a restart on the same folder: the last acknowledged
    # override is in force, and the next change continues the revisions.
    remember_file "$state"
    {
        kill -KILL "$PID"
        wait_gone "$PID" 15 "the SIGKILLed server"
    } 2>/dev/null  # not bash's "Killed" notice
    start_server
    assert_file_unchanged "$state" "a start does not rewrite the state file"
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "status after the restart"
    local restarted_key
    restarted_key="$(jqb "$JQ_KEY"' .data | key')"
    assert_eq "$last_key" "$restarted_key" "overrides after SIGKILL and restart"
    local group path want
    for group in chat_pilot billing_l402; do
        if [[ "$group" == chat_pilot ]]; then path=/chat/after-restart; else path=/billing/after-restart; fi
        want="$(decision_of "$last_key" "$group")"
        req POST "$CTRL/evaluate" "$VIEW_TOKEN" "{\"path\":\"$path\",\"cohort_key\":\"user:route\"}"
        assert_eq "$want" "$(jqb '"\(.data.target)/\(.data.reason)"')" "evaluate $path after the restart"
    done
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust","domain":"auth_entry"}'
    assert_eq 200 "$CODE" "an override after the restart"
    assert_eq $((acked + 1)) "$(tail -n1 "$audit" | jq -r .revision)" "the revision after the restart"
    assert_eq $((acked + 1)) "$(wc -l <"$audit")" "audit lines after the restart"
    echo "[ load ] after SIGKILL and restart: status $restarted_key, next override revision $(tail -n1 "$audit" | jq -r .revision)"
    stop_server
}

# --- attacks: authentication -----------------------------------------------------

# expect_401 WHAT [METHOD]: the last answer is 401 unauthorized with
# WWW-Authenticate (and, but to a HEAD, the error envelope).
# (Pattern matches rather than jq: this runs a hundred times.)
expect_401() {
    assert_eq 401 "$CODE" "$1: HTTP status"
    assert_contains $'\n'"${HDRS,,}"$'\n' $'\nwww-authenticate: bearer\n' "$1: WWW-Authenticate"
    if [[ "${2:-}" != HEAD ]]; then
        assert_contains "$BODY" '"error":{"code":"unauthorized","message":"Unauthenticated."}' "$1: error"
    fi
}

# server.sh checks one wrong credential or two per endpoint; this checks
# every endpoint with every kind of bad credential, the order of the checks
# (the token before the body), and that nothing a refused request sent
# changed the state or reached the audit log.
test_every_control_endpoint_refuses_missing_wrong_and_viewer_tokens() {
    write_setup
    start_server
    # The endpoints that take a token (docs/formats/http-api.md): METHOD PATH BODY.
    local -a endpoints=(
        "GET $CTRL/status -"
        "HEAD $CTRL/status -"
        "POST $CTRL/evaluate {\"path\":\"/chat\"}"
        "POST $CTRL/override {\"target\":\"legacy\"}"
        "GET /metrics -"
        "HEAD /metrics -"
    )
    local -a bad_credentials=(
        "X-None: no credentials at all"
        "Authorization: Bearer wrong-token"
        "Authorization: Bearer $OP_TOKEN$OP_TOKEN"
        "Authorization: Bearer ${VIEW_TOKEN%?}"
        "Authorization: Bearer"
        "Authorization: Bearer    "
        "Authorization: Basic $(printf 'alice:%s' "$OP_TOKEN" | base64 -w0)"
        "Authorization: $OP_TOKEN"
        "Authorization: Token $OP_TOKEN"
        "Authorization: Bearer sha256:$(sha_of_text "$OP_TOKEN")"
        "Authorization: Bearer $(sha_of_text "$OP_TOKEN")"
        "X-Api-Key: $OP_TOKEN"
        "Cookie: token=$OP_TOKEN"
    )
    local entry method path body credential n=0
    local -a args
    for entry in "${endpoints[@]}"; do
        read -r method path body <<<"$entry"
        args=()
        [[ "$method" == HEAD ]] && args+=(-I)
        [[ "$body" == - ]] && body=""
        for credential in "${bad_credentials[@]}"; do
            req "$method" "$path" "" "$body" "${args[@]}" -H "$credential"
            expect_401 "$method $path with '${credential:0:40}'" "$method"
            n=$((n + 1))
        done
        # A token in the query string is not a token.
        req "$method" "$path?access_token=$OP_TOKEN&token=$OP_TOKEN" "" "$body" "${args[@]}"
        expect_401 "$method $path with the token in the query" "$method"
        n=$((n + 1))
        # Operator tokens do everything viewers do.
        req "$method" "$path" "$OP_TOKEN" "$body" "${args[@]}"
        assert_eq 200 "$CODE" "$method $path with the operator token"
    done
    echo "[ attack ] $n requests with a missing, unknown or misplaced token on ${#endpoints[@]} endpoint forms: all 401"
    # The operator request above set the global override; clear it.
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"clear"}'
    local revision_before audit_before
    revision_before="$(jq -r .revision "$TEST_TMP/state/overrides.json")"
    audit_before="$(grep -c '"route.split.override.updated"' "$TEST_TMP/state/audit.jsonl")"

    # The token is checked before the body is read: no token and a broken
    # body is 401, a viewer and a broken body on override is 403.
    req POST "$CTRL/evaluate" "" '{"path":'
    expect_401 "evaluate, broken body, no token"
    req POST "$CTRL/override" "" '{"target":'
    expect_401 "override, broken body, no token"
    req POST "$CTRL/override" "$VIEW_TOKEN" '{"target":'
    expect_error 403 forbidden
    # A viewer may not change anything, whatever the target and scope.
    local target domain m=0
    for target in legacy rust rust_shell clear default rollback sideways; do
        for domain in '' chat_pilot billing-l402 nowhere; do
            if [[ -z "$domain" ]]; then body="{\"target\":\"$target\"}"; else body="{\"target\":\"$target\",\"domain\":\"$domain\"}"; fi
            req POST "$CTRL/override" "$VIEW_TOKEN" "$body"
            assert_eq 403 "$CODE" "viewer override $body"
            assert_contains "$BODY" '"error":{"code":"forbidden",' "viewer override $body"
            m=$((m + 1))
        done
    done
    echo "[ attack ] $m override requests with the viewer token: all 403"
    # A viewer still reads and evaluates (the 403s are about the role).
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "viewer reads the status"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}'
    assert_eq 200 "$CODE" "viewer evaluates"
    req GET /metrics "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "viewer reads the metrics"

    # Spellings of the control paths are not the control API: none of them
    # shows the status or changes anything without a token.
    local spelling
    for spelling in "$CTRL/status/" "/$CTRL/status" "$CTRL/./status" "$CTRL/x/../status" "$CTRL/%73tatus" \
        "/API/v1/control/route-split/status" "$CTRL/status%00" "$CTRL/status;a=b" "$CTRL/status%2f"; do
        req GET "$spelling" "" "" --path-as-is
        assert_not_contains "$BODY" '"rollback_matrix"' "GET $spelling without a token"
        assert_ne 500 "$CODE" "GET $spelling"
        req POST "${spelling/status/override}" "" '{"target":"legacy"}' --path-as-is
        assert_not_contains "$BODY" '"rollback_matrix"' "POST ${spelling/status/override} without a token"
        assert_ne 200 "$CODE" "POST ${spelling/status/override}"
    done

    # Nothing refused changed the state or reached the audit log.
    assert_eq "$revision_before" "$(jq -r .revision "$TEST_TMP/state/overrides.json")" "state revision"
    assert_eq "$audit_before" "$(grep -c '"route.split.override.updated"' "$TEST_TMP/state/audit.jsonl")" "override audit lines"
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 'null {}' "$(jqb '"\(.data.override_target) \(.data.domain_overrides | tojson)"')" "no override in force"
    if grep -q -e "$OP_TOKEN" -e "$VIEW_TOKEN" "$TEST_TMP/state/audit.jsonl" "$SERVER_ERR"; then
        _e2e_fail "a token reached the audit log or the server's log"
    fi
    stop_server
}

# --- attacks: oversized requests --------------------------------------------------

test_oversized_bodies_headers_and_targets_are_refused_while_others_are_served() {
    write_setup
    start_server
    normal_client_start
    local big="$TEST_TMP/big.json" huge="$TEST_TMP/huge.bin"
    printf '{"path":"/%s"}' "$(head -c 70000 /dev/zero | tr '\0' a)" >"$big"
    head -c 3000000 /dev/zero | tr '\0' a >"$huge"
    local json=(-H 'Content-Type: application/json')

    # Bodies over 64 KiB: 413 on every endpoint, before the token is looked at.
    refused "70 KB body, evaluate" 413 payload_too_large "${json[@]}" -H "Authorization: Bearer $VIEW_TOKEN" \
        --data-binary "@$big" "$BASE$CTRL/evaluate"
    refused "70 KB body, override" 413 payload_too_large "${json[@]}" -H "Authorization: Bearer $OP_TOKEN" \
        --data-binary "@$big" "$BASE$CTRL/override"
    refused "70 KB body, override, no token" 413 payload_too_large "${json[@]}" --data-binary "@$big" "$BASE$CTRL/override"
    refused "70 KB body, web entry" 413 payload_too_large --data-binary "@$big" "$BASE/chat"
    refused "70 KB chunked body, evaluate" 413 payload_too_large "${json[@]}" -H 'Transfer-Encoding: chunked' \
        -H "Authorization: Bearer $VIEW_TOKEN" --data-binary "@$big" "$BASE$CTRL/evaluate"
    refused "3 MB body, override" "413|closed" payload_too_large "${json[@]}" -H "Authorization: Bearer $OP_TOKEN" \
        --data-binary "@$huge" "$BASE$CTRL/override"
    refused "3 MB chunked body, override" "400|413|closed" "invalid_request|payload_too_large" "${json[@]}" -H 'Transfer-Encoding: chunked' \
        -H "Authorization: Bearer $OP_TOKEN" --data-binary "@$huge" "$BASE$CTRL/override"

    # A body announced at 10 GB and never sent is refused at once, and the
    # connection closed.
    raw_connect 7
    local start ms
    start="$(now_us)"
    printf 'POST %s/override HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 10000000000\r\n\r\n' \
        "$CTRL" "$OP_TOKEN" >&7
    read_response 7 || _e2e_fail "10 GB announced: no answer"
    ms=$((($(now_us) - start) / 1000))
    assert_eq "HTTP/1.1 413 Payload Too Large" "$RAW_STATUS" "10 GB announced"
    local rest="" rc
    read -r -t 5 rest <&7
    rc=$?
    assert_eq 1 "$rc" "10 GB announced: the connection is closed after the answer (1: end of stream, >128: still open)"
    echo "[ attack ] 10 GB Content-Length, no body: $RAW_STATUS in $ms ms, connection closed"
    exec 7>&-

    # Header blocks: one 20 KB header (the library's limit is 8 KiB a line);
    # 64 KB of small headers (the server hands a header block on once it
    # outgrows 16 KiB without its end).
    local many=() i
    for ((i = 0; i < 320; i++)); do many+=(-H "X-Pad-$i: $(printf '%0190d' "$i")"); done
    refused "one 20 KB header" "400|closed" invalid_request -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" \
        -H "Authorization: Bearer $VIEW_TOKEN" "$BASE$CTRL/status"
    refused "320 headers, 64 KB" "400|closed" invalid_request "${many[@]}" -H "Authorization: Bearer $VIEW_TOKEN" \
        "$BASE$CTRL/status"
    # Request targets: over 8 KiB is 414.
    refused "10 KB request target" 414 uri_too_long "$BASE/chat/$(head -c 10000 /dev/zero | tr '\0' a)"
    refused "10 KB query on status" 414 uri_too_long -H "Authorization: Bearer $VIEW_TOKEN" \
        "$BASE$CTRL/status?q=$(head -c 10000 /dev/zero | tr '\0' a)"
    refused "100 KB request target" "414|closed" uri_too_long "$BASE/chat/$(head -c 100000 /dev/zero | tr '\0' a)"

    normal_client_stop
    echo "[ attack ] normal client during the oversized requests: $NORMAL_SUMMARY"
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "status after the oversized requests"
    assert_eq null "$(jqb .data.override_target)" "no oversized override was applied"
    assert_no_path "$TEST_TMP/state/overrides.json" "no state written"
    stop_server
}

# Regression (found by this suite): each of these requests made the HTTP
# library wait for bytes the request never announced, on an event thread,
# for its read timeout (5 s); a few at once stalled the whole server, and
# the idle sweep then dropped the requests that had waited behind them
# unanswered. Now each is answered at once and its connection closed.
test_requests_without_usable_framing_hold_no_thread() {
    trap '' PIPE  # a failed write shows as a missing answer, not a silent end
    write_setup
    start_server
    local head="POST $CTRL/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $VIEW_TOKEN\r\n"
    local pad=""
    local i
    for ((i = 0; i < 90; i++)); do pad+="X-Pad-$i: $(printf '%0180d' "$i")\r\n"; done
    # name | payload | the answer's status line
    local -a cases=(
        "a POST without Content-Length|$head\r\n|HTTP/1.1 400 Bad Request"
        "a 10 GB Content-Length and no body|${head}Content-Length: 10000000000\r\n\r\n|HTTP/1.1 413 Payload Too Large"
        "17 KB of headers and no end|$head$pad|HTTP/1.1 400 Bad Request"
        "a chunk longer than its size says|${head}Transfer-Encoding: chunked\r\n\r\n4\r\n0123456789\r\n0\r\n\r\n|HTTP/1.1 400 Bad Request"
    )
    local entry name payload want fd n=0
    local -a fds=() names=() wants=()
    # Four connections of each kind: more than the server's event threads.
    # Each payload goes out in one write (cat), so that the server has all
    # of it when it answers (bytes arriving after the close would reset the
    # connection before the client reads the answer).
    for entry in "${cases[@]}"; do
        IFS='|' read -r name payload want <<<"$entry"
        n=$((n + 1))
        printf '%b' "$payload" >"$TEST_TMP/payload$n"
        for ((i = 0; i < 4; i++)); do
            exec {fd}<>"/dev/tcp/127.0.0.1/${ADDR##*:}" || fatal "cannot connect"
            cat "$TEST_TMP/payload$n" >&"$fd" || _e2e_fail "$name: cannot send"
            fds+=("$fd")
            names+=("$name")
            wants+=("$want")
        done
    done
    local start normal answered=0
    start="$(now_us)"
    req GET "$CTRL/status" "$VIEW_TOKEN" "" --max-time 4
    normal="$CODE"
    assert_eq 200 "$CODE" "a normal client while ${#fds[@]} such requests are in (before the fix: no answer)"
    for ((i = 0; i < ${#fds[@]}; i++)); do
        fd="${fds[i]}"
        if read_response "$fd"; then
            assert_eq "${wants[i]}" "$RAW_STATUS" "${names[i]}"
            local rest="" rc
            read -r -t 5 rest <&"$fd"
            rc=$?
            assert_eq 1 "$rc" "${names[i]}: connection closed after the answer (1: end of stream)"
            answered=$((answered + 1))
        else
            _e2e_fail "${names[i]}: no answer"
        fi
        exec {fd}>&-
    done
    local ms=$((($(now_us) - start) / 1000))
    # Before the fix: 5 s per request and event thread, 16 requests, 2 threads.
    if ((ms > 4500)); then _e2e_fail "the ${#fds[@]} answers took $ms ms"; fi
    echo "[ attack ] ${#fds[@]} requests without usable framing: $answered answered and closed within $ms ms; normal client: HTTP $normal"
    stop_server
}

# --- attacks: slow clients ---------------------------------------------------------

# 20 clients connect and send nothing, 20 send a request line and then one
# header byte at a time, 10 send whole headers and then the body a byte at a
# time. While they hold their connections, a normal client is answered
# within 5 s every time; the idle ones are closed after the keep-alive
# timeout (2 s), the dribbling ones 7 s after they connected, whatever they
# still send (docs/formats/http-api.md, Connections).
test_fifty_slow_clients_hold_no_thread_and_are_closed_by_the_timeouts() {
    trap '' PIPE  # writing to a connection the server closed must not end the test
    write_setup
    start_server
    local port="${ADDR##*:}" i fd
    local -a fds=() kinds=() opened=() closed_after=() received=()
    for ((i = 0; i < 50; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fatal "cannot open slow connection $i"
        fds[i]="$fd"
        opened[i]="$(now_us)"
        closed_after[i]=""
        if ((i < 20)); then
            kinds[i]=idle
        elif ((i < 40)); then
            kinds[i]=header
            printf 'GET %s/status HTTP/1.1\r\nHost: x\r\nX-Slow: ' "$CTRL" >&"$fd"
        else
            kinds[i]=body
            printf 'POST %s/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 4096\r\n\r\n{"path":"/' \
                "$CTRL" "$VIEW_TOKEN" >&"$fd"
        fi
    done

    # Rounds: each dribbler that is still open sends one more byte, every
    # connection is checked for its end, and the normal client asks once.
    # Bounded: 40 s, far beyond the 7 s the slowest should take.
    local open=50 rounds=0 normal_ok=0 normal_failed=0 slowest=0 t code line
    local deadline=$(($(now_us) + 40000000))
    while ((open > 0 && $(now_us) < deadline)); do
        rounds=$((rounds + 1))
        for ((i = 0; i < 50; i++)); do
            [[ -n "${closed_after[i]}" ]] && continue
            fd="${fds[i]}"
            [[ "${kinds[i]}" != idle ]] && printf 'a' 2>/dev/null 1>&"$fd"
            if read -r -t 0 -u "$fd" 2>/dev/null; then
                # Readable: the end of the stream (or an answer, which the
                # server should not send to half a request).
                line=""
                IFS= read -r -d '' -t 2 -u "$fd" line 2>/dev/null
                received[i]="$line"
                closed_after[i]=$((($(now_us) - opened[i]) / 1000))
                exec {fd}>&-
                open=$((open - 1))
            fi
        done
        t="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 \
            -H "Authorization: Bearer $VIEW_TOKEN" "$BASE$CTRL/status")"
        code="${t%% *}"
        if [[ "$code" == 200 ]]; then normal_ok=$((normal_ok + 1)); else normal_failed=$((normal_failed + 1)); fi
        t="${t#* }"
        t="${t/./}"
        t=$((10#${t:0:4}))  # the first digits of seconds with 6 decimals: ms (to 5 s)
        ((t > slowest)) && slowest=$t
        if ((rounds == 1)); then
            assert_eq 200 "$code" "the normal client while 50 slow clients are connected"
        fi
        sleep 0.05  # pacing the dribble inside the bounded poll
    done

    assert_eq 0 "$open" "slow connections still open after 40 s"
    assert_eq 0 "$normal_failed" "normal client requests that failed"
    if ((normal_ok < 5)); then _e2e_fail "the normal client was answered only $normal_ok times"; fi
    local idle_min=999999 idle_max=0 drib_min=999999 drib_max=0 ms
    for ((i = 0; i < 50; i++)); do
        ms="${closed_after[i]:-999999}"
        assert_eq "" "${received[i]:-}" "slow client $i (${kinds[i]}): bytes sent before the close"
        if [[ "${kinds[i]}" == idle ]]; then
            ((ms < idle_min)) && idle_min=$ms
            ((ms > idle_max)) && idle_max=$ms
        else
            ((ms < drib_min)) && drib_min=$ms
            ((ms > drib_max)) && drib_max=$ms
        fi
    done
    # Lower bounds: closed by the timeouts, not by something else; upper
    # bounds: generous for a busy machine.
    if ((idle_min < 1500 || idle_max > 15000)); then _e2e_fail "idle clients closed after ${idle_min}-${idle_max} ms, expected about 2000"; fi
    if ((drib_min < 6000 || drib_max > 25000)); then _e2e_fail "dribbling clients closed after ${drib_min}-${drib_max} ms, expected about 7000"; fi
    echo "[ attack ] 50 slow clients: 20 idle closed after ${idle_min}-${idle_max} ms, 30 dribbling closed after ${drib_min}-${drib_max} ms;" \
        "normal client $normal_ok/$((normal_ok + normal_failed)) answered, slowest $slowest ms"
    req GET /healthz
    assert_eq 200 "$CODE" "/healthz after the slow clients"
    stop_server
}

run_test test_load_while_overrides_change_then_sigkill_and_restart
run_test test_every_control_endpoint_refuses_missing_wrong_and_viewer_tokens
run_test test_oversized_bodies_headers_and_targets_are_refused_while_others_are_served
run_test test_requests_without_usable_framing_hold_no_thread
run_test test_fifty_slow_clients_hold_no_thread_and_are_closed_by_the_timeouts
finish_tests
