#!/usr/bin/env bash
# End-to-end suite for the route split (SPEC §6): `cutover serve` started on
# an ephemeral 127.0.0.1 port and driven with curl (authentication, each
# target and reason, each 422, overrides that survive a restart and that a
# second replica sees, the audit log, the web entry's redirects and 503,
# /metrics, a corrupt state file refused, SIGTERM), and `cutover routes`.
#
#   tests/e2e/server.sh [BIN]
#
# BIN defaults to build/cutover under the repository root. Needs bash, curl,
# jq, sha256sum, timeout and tail. Nothing sleeps to synchronise: the server
# prints its address as its first line on a FIFO the test reads, and a test
# that waits for a process to end uses `timeout tail --pid`.
#
# The tests run indirectly (run_test "$name"), in a subshell that sets TEST_TMP.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary server.sh "${1:-}" curl jq sha256sum timeout tail mkfifo
# The caller's environment must not steer the route split.
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

# --- helpers --------------------------------------------------------------------
#
# The server helpers (write_setup, start_server, stop_server, req, header,
# jqb, expect_error, raw_connect, read_response) and the tokens are in
# lib.sh, shared with server_load.sh.

# --- the server -------------------------------------------------------------------

test_prints_address_health_and_readiness_without_a_token() {
    write_setup
    start_server
    req GET /healthz
    assert_eq 200 "$CODE" "/healthz"
    assert_eq ok "$(jqb .status)"
    req GET /readyz
    assert_eq 200 "$CODE" "/readyz"
    assert_eq ready "$(jqb .status)"
    stop_server
    assert_contains "$(cat "$SERVER_ERR")" "SIGTERM, shutting down"
    assert_contains "$(cat "$SERVER_ERR")" "stopped"
}

test_authentication_401_and_403() {
    write_setup
    start_server
    req GET "$CTRL/status"
    expect_error 401 unauthorized "Unauthenticated."
    assert_eq Bearer "$(header WWW-Authenticate)" "WWW-Authenticate"
    req GET "$CTRL/status" "wrong-token"
    expect_error 401 unauthorized
    req GET "$CTRL/status" "" "" -H "Authorization: bearer $VIEW_TOKEN"
    expect_error 401 unauthorized  # the scheme is "Bearer"
    req GET "$CTRL/status" "" "" -H "Authorization: Bearer $OP_TOKEN-x"
    expect_error 401 unauthorized
    req POST "$CTRL/evaluate" "" '{"path":"/chat"}'
    expect_error 401 unauthorized
    req POST "$CTRL/override" "" '{"target":"legacy"}'
    expect_error 401 unauthorized
    req GET /metrics
    expect_error 401 unauthorized

    req GET "$CTRL/status" "$VIEW_TOKEN" "" -H 'x-request-id: trace-42'
    assert_eq 200 "$CODE" "viewer reads the status"
    assert_eq trace-42 "$(header x-request-id)" "the caller's request id comes back"
    req GET "$CTRL/status" "$VIEW_TOKEN" "" -H 'x-request-id: not usable!'
    assert_match "$(header x-request-id)" '^req_[0-9]+_[0-9]+$' "an unusable request id is replaced"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}'
    assert_eq 200 "$CODE" "viewer evaluates"
    req POST "$CTRL/override" "$VIEW_TOKEN" '{"target":"legacy"}'
    expect_error 403 forbidden
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq null "$(jqb .data.override_target)" "a refused override changed nothing"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
    assert_eq 200 "$CODE" "operator overrides"
    assert_eq legacy "$(jqb .data.override_target)"
    stop_server
}

test_evaluate_each_target_and_reason() {
    write_setup
    start_server
    # default salt: user:1 -> bucket 57 (< 60: rust_shell), user:route -> 85 (legacy).
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"chat/thread-1/","cohort_key":"user:1"}'
    assert_eq 200 "$CODE"
    assert_eq '{"path":"/chat/thread-1","target":"rust_shell","reason":"mode_cohort","route_domain":"chat_pilot","rollback_target":"rust_shell","cohort_bucket":57,"cohort_key":"user:1"}' \
        "$(jqb '.data | tojson')" "decision"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/billing/x","cohort_key":"user:route"}'
    assert_eq legacy "$(jqb .data.target)"
    assert_eq 85 "$(jqb .data.cohort_bucket)"
    assert_eq billing_l402 "$(jqb .data.route_domain)"
    assert_eq legacy "$(jqb .data.rollback_target)"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/api/runtime/codex/workers/w1"}'
    assert_eq codex_worker_control_rust_authority "$(jqb .data.reason)"
    assert_eq runtime_codex_worker_control "$(jqb .data.route_domain)"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/api/me"}'
    assert_eq api_rust_authority "$(jqb .data.reason)"
    assert_eq false "$(jqb '.data | has("cohort_bucket")')" "only mode_cohort reports a bucket"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/docs"}'
    assert_eq unclassified "$(jqb .data.route_domain)"
    assert_eq legacy "$(jqb .data.rollback_target)"
    # The key: body, else x-oa-route-key, x-device-id, x-forwarded-for, user-agent; blank -> anonymous.
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat","cohort_key":"  "}' -H 'x-oa-route-key: user:1' -H 'x-device-id: dev'
    assert_eq user:1 "$(jqb .data.cohort_key)" "a blank body key falls back to x-oa-route-key"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}' -H 'x-oa-route-key:  ' -H 'x-device-id: dev-7'
    assert_eq dev-7 "$(jqb .data.cohort_key)" "a blank header falls through"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat","cohort_key":null}' -H 'x-forwarded-for: 198.51.100.22'
    assert_eq 198.51.100.22 "$(jqb .data.cohort_key)"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}' -H 'User-Agent:'
    assert_eq anonymous "$(jqb .data.cohort_key)"
    assert_eq 80 "$(jqb .data.cohort_bucket)" "anonymous -> bucket 80"
    assert_eq legacy "$(jqb .data.target)" "80 >= 60"
    # Overrides in order: domain_override, runtime_override.
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust","domain":"billing-l402"}'
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/l402/paywalls","cohort_key":"user:route"}'
    assert_eq rust_shell "$(jqb .data.target)"
    assert_eq domain_override "$(jqb .data.reason)"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat","cohort_key":"user:1"}'
    assert_eq legacy "$(jqb .data.target)"
    assert_eq runtime_override "$(jqb .data.reason)"
    stop_server
}

test_kill_switch_disabled_and_modes_from_config_and_environment() {
    write_setup '{"force_legacy": true, "tokens_file": "tokens.txt"}'
    start_server
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}'
    assert_eq force_legacy "$(jqb .data.reason)"
    stop_server
    write_setup '{"enabled": false, "tokens_file": "tokens.txt"}'
    start_server
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat"}'
    assert_eq route_split_disabled "$(jqb .data.reason)"
    stop_server
    write_setup '{"rust_routes": ["/chat"], "tokens_file": "tokens.txt"}'
    OA_ROUTE_SPLIT_MODE=legacy start_server
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat/1"}'
    assert_eq mode_legacy "$(jqb .data.reason)" "the environment overrides the file"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/settings"}'
    assert_eq legacy_route_default "$(jqb .data.reason)"
    stop_server
    write_setup '{"tokens_file": "tokens.txt"}'
    start_server
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/settings"}'
    assert_eq mode_rust "$(jqb .data.reason)" "the reference default mode"
    stop_server
}

test_each_422_and_bad_bodies() {
    write_setup
    start_server
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"   "}'
    expect_error 422 invalid_request "Path is required."
    assert_eq '["Path is required."]' "$(jqb '.errors.path | tojson')" "errors.path"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{}'
    expect_error 422 invalid_request "Path is required."
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path": 7, "cohort_key": []}'
    expect_error 422 invalid_request "Path must be a string. (and 1 more error)"
    assert_eq '["Cohort key must be a string."]' "$(jqb '.errors.cohort_key | tojson')"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"sideways"}'
    expect_error 422 invalid_request "Target must be one of: legacy, rust, rollback, clear."
    assert_eq '["Target must be one of: legacy, rust, rollback, clear."]' "$(jqb '.errors.target | tojson')"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy","domain":" Nowhere "}'
    expect_error 422 invalid_request "Unknown route domain 'nowhere'."
    assert_eq '["Unknown route domain '"'"'nowhere'"'"'."]' "$(jqb '.errors.domain | tojson')"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rollback","domain":"nowhere"}'
    expect_error 422 invalid_request "Unknown route domain."
    req POST "$CTRL/override" "$OP_TOKEN" '{"domain":"chat_pilot"}'
    expect_error 422 invalid_request "Target is required."
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":true}'
    expect_error 422 invalid_request "Target must be a string."
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy","domain":5}'
    expect_error 422 invalid_request "Domain must be a string."
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":'
    expect_error 400 invalid_request
    assert_contains "$(jqb .message)" "not valid JSON"
    req POST "$CTRL/override" "$OP_TOKEN" '["legacy"]'
    expect_error 422 invalid_request "The request body must be a JSON object."
    printf '{"path":"/%s"}' "$(head -c 70000 /dev/zero | tr '\0' a)" >"$TEST_TMP/big.json"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" "" --data-binary "@$TEST_TMP/big.json"
    expect_error 413 payload_too_large
    req DELETE "$CTRL/override" "$OP_TOKEN"
    expect_error 405 method_not_allowed
    assert_eq POST "$(header Allow)"
    req GET "$CTRL/evaluate" "$VIEW_TOKEN"
    expect_error 405 method_not_allowed
    # None of that changed anything, and the server is still up.
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 200 "$CODE"
    assert_eq null "$(jqb .data.override_target)"
    assert_eq '{}' "$(jqb '.data.domain_overrides | tojson')"
    assert_no_path "$TEST_TMP/state/overrides.json" "no state written by refused requests"
    stop_server
}

test_override_targets_aliases_and_rollback() {
    write_setup
    start_server
    declare -A want=([legacy]=legacy [rust]=rust_shell [RUST_SHELL]=rust_shell [rollback]=legacy)
    for t in legacy rust RUST_SHELL rollback; do
        req POST "$CTRL/override" "$OP_TOKEN" "{\"target\":\" $t \"}"
        assert_eq 200 "$CODE" "target $t"
        assert_eq "${want[$t]}" "$(jqb .data.override_target)" "global $t"
    done
    for t in clear default; do
        req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
        req POST "$CTRL/override" "$OP_TOKEN" "{\"target\":\"$t\"}"
        assert_eq null "$(jqb .data.override_target)" "global $t"
    done
    # rollback per group: each group's matrix target.
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rollback","domain":"Chat-Pilot"}'
    assert_eq rust_shell "$(jqb .data.domain_overrides.chat_pilot)"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rollback","domain":"billing_l402"}'
    assert_eq legacy "$(jqb .data.domain_overrides.billing_l402)"
    assert_eq legacy "$(jqb '.data.route_groups[] | select(.domain=="billing_l402") | .override_target')"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"clear","domain":"billing_l402"}'
    assert_eq '["chat_pilot"]' "$(jqb '.data.domain_overrides | keys | tojson')"
    stop_server
}

test_overrides_survive_a_restart_and_are_audited() {
    write_setup
    start_server
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}' -H 'x-request-id: change-1'
    assert_eq 200 "$CODE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rollback","domain":"chat_pilot"}'
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust","domain":"chat_pilot"}'
    stop_server

    # The state file: canonical JSON, revision 3, by alice.
    assert_eq 3 "$(jq -r .revision "$TEST_TMP/state/overrides.json")"
    assert_eq alice "$(jq -r .updated_by "$TEST_TMP/state/overrides.json")"
    # The audit log: one synced line per override, no token in it.
    local audit="$TEST_TMP/state/audit.jsonl"
    assert_eq 3 "$(grep -c '"route.split.override.updated"' "$audit")" "override lines"
    assert_eq '{"request_id":"change-1","identity":"alice","role":"operator","target":"legacy","scope":"global","previous":null,"current":"legacy","revision":1}' \
        "$(sed -n 1p "$audit" | jq -c '{request_id, identity, role, target, scope, previous, current, revision}')" "first audit line"
    assert_match "$(sed -n 1p "$audit" | jq -r .time)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "time"
    assert_eq '"domain:chat_pilot" "rust_shell" "rust_shell"' \
        "$(sed -n 3p "$audit" | jq -r '[.scope, .previous, .current] | map(tojson) | join(" ")')" "third line: previous value"
    if grep -q -e "$OP_TOKEN" -e "$VIEW_TOKEN" "$audit"; then _e2e_fail "a token leaked into the audit log"; fi

    start_server
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq legacy "$(jqb .data.override_target)" "global override after the restart"
    assert_eq rust_shell "$(jqb .data.domain_overrides.chat_pilot)" "group override after the restart"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/settings","cohort_key":"user:1"}'
    assert_eq runtime_override "$(jqb .data.reason)"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"clear"}'
    stop_server
    assert_eq 4 "$(grep -c '"route.split.override.updated"' "$audit")" "lines appended, never rewritten"
    assert_eq 'legacy null' "$(tail -n1 "$audit" | jq -r '[.previous, .current] | map(tostring) | join(" ")')"
}

test_a_second_replica_sees_the_same_overrides() {
    write_setup
    start_server
    local pid_a="$PID" base_a="$BASE"
    start_server
    local pid_b="$PID" base_b="$BASE"
    BASE="$base_a"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy","domain":"auth_entry"}'
    assert_eq 200 "$CODE"
    # B picks the change up within its refresh interval (10 ms); curl calls
    # are the clock here, bounded to 200 tries.
    BASE="$base_b"
    local seen="" i
    for ((i = 0; i < 200; i++)); do
        req GET "$CTRL/status" "$VIEW_TOKEN"
        seen="$(jqb .data.domain_overrides.auth_entry)"
        [[ "$seen" == legacy ]] && break
    done
    assert_eq legacy "$seen" "replica B's view of A's override"
    # And B's change builds on A's (revision 2, both overrides kept).
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust","domain":"billing_l402"}'
    assert_eq '{"auth_entry":"legacy","billing_l402":"rust_shell"}' "$(jqb '.data.domain_overrides | tojson')"
    assert_eq 2 "$(jq -r .revision "$TEST_TMP/state/overrides.json")"
    stop_server "$pid_a"
    stop_server "$pid_b"
}

test_web_entry_redirects_legacy_with_path_and_query() {
    write_setup
    start_server
    req GET '/billing/invoices/7?tab=paid&x=%20y' "" "" -H 'x-oa-route-key: user:route'
    assert_eq 307 "$CODE" "legacy -> 307"
    assert_eq 'https://legacy.example.test/billing/invoices/7?tab=paid&x=%20y' "$(header Location)" "Location"
    assert_eq legacy "$(header x-cutover-target)"
    assert_eq mode_cohort "$(header x-cutover-reason)"
    req GET '/chat/thread-1?q=1' "" "" -H 'x-oa-route-key: user:1'
    assert_eq 200 "$CODE" "rust_shell without a rust base URL -> 200 with the decision"
    assert_eq rust_shell "$(jqb .data.target)"
    assert_eq rust_shell "$(header x-cutover-target)"
    req HEAD '/login' "" "" -H 'x-oa-route-key: user:route' -I
    assert_eq 307 "$CODE" "HEAD is decided like GET"
    # A request target that is not a path is refused rather than redirected
    # to "https://legacy.example.test" + ".evil.example/x".
    req GET '' "" "" --request-target '.evil.example/x'
    expect_error 400 invalid_request
    req POST /chat "" '{}'
    expect_error 405 method_not_allowed
    stop_server
    local audit="$TEST_TMP/state/audit.jsonl"
    assert_eq 0 "$(grep -c '"route.split.decision"' "$audit" || true)" "no audit line per web request (issue 14)"
}

test_web_entry_503_without_legacy_target_and_rust_redirect() {
    write_setup '{"rust_routes": ["/chat"], "rust_base_url": "http://rust.example.test:8080", "tokens_file": "tokens.txt"}'
    start_server
    req GET '/settings/profile?x=1'
    expect_error 503 legacy_route_unavailable "Legacy route target is not configured."
    assert_eq legacy "$(header x-cutover-target)"
    assert_eq legacy_route_default "$(header x-cutover-reason)"
    req GET '/chat/9?a=b'
    assert_eq 307 "$CODE"
    assert_eq 'http://rust.example.test:8080/chat/9?a=b' "$(header Location)"
    assert_eq rust_shell "$(header x-cutover-target)"
    assert_eq mode_rust "$(header x-cutover-reason)"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
    req GET '/chat/9'
    expect_error 503 legacy_route_unavailable
    assert_eq runtime_override "$(header x-cutover-reason)"
    stop_server
}

test_metrics_count_decisions_overrides_and_latency() {
    write_setup
    start_server
    req GET /billing "" "" -H 'x-oa-route-key: user:route'
    req GET /billing "" "" -H 'x-oa-route-key: user:route'
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/api/x"}'
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rollback","domain":"chat_pilot"}'
    req GET /metrics "$VIEW_TOKEN"
    assert_eq 200 "$CODE"
    assert_contains "$(header Content-Type)" "text/plain; version=0.0.4"
    assert_contains "$BODY" 'cutover_route_decisions_total{source="web",target="legacy",route_domain="billing_l402",reason="mode_cohort"} 2'
    assert_contains "$BODY" 'cutover_route_decisions_total{source="evaluate",target="rust_shell",route_domain="api_rust_authority",reason="api_rust_authority"} 1'
    assert_contains "$BODY" 'cutover_route_overrides_total{scope="domain:chat_pilot",target="rollback"} 1'
    assert_contains "$BODY" '# TYPE cutover_http_request_duration_seconds histogram'
    assert_contains "$BODY" 'cutover_http_request_duration_seconds_count{route="web"} 2'
    assert_contains "$BODY" 'cutover_http_request_duration_seconds_bucket{route="evaluate",le="+Inf"} 1'
    assert_contains "$BODY" 'cutover_http_responses_total{route="web",code="307"} 2'
    stop_server
}

test_corrupt_state_is_refused_at_start() {
    write_setup
    mkdir -p "$TEST_TMP/state"
    printf '{"schema": "cutover.route_overrides.v1", "revision": 2, "global": "sideways"' >"$TEST_TMP/state/overrides.json"
    remember_file "$TEST_TMP/state/overrides.json"
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state"
    assert_eq 1 "$RC" "exit status: refused for safety"
    assert_eq "" "$OUT" "nothing listened"
    assert_contains "$ERR" "state file $TEST_TMP/state/overrides.json is corrupt"
    assert_contains "$ERR" "audit.jsonl"
    assert_file_unchanged "$TEST_TMP/state/overrides.json" "the corrupt file is kept, never reset"
    # A group the config no longer has is refused too.
    printf '{"schema":"cutover.route_overrides.v1","revision":1,"updated_at":"","updated_by":"","global":null,"groups":{"retired":"legacy"}}' \
        >"$TEST_TMP/state/overrides.json"
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state"
    assert_eq 1 "$RC"
    assert_contains "$ERR" "route group 'retired'"
}

test_bad_config_and_tokens_are_refused_at_start() {
    write_setup '{"cohort_percentage": 150, "route_groups": [{"domain": "a", "route_prefixes": ["/a"], "rollback_target": "nginx"}], "tokens_file": "tokens.txt"}'
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0
    assert_eq 2 "$RC"
    assert_contains "$ERR" "route config $TEST_TMP/routes.json is not usable"
    assert_contains "$ERR" "cohort_percentage"
    assert_contains "$ERR" "route_groups[0].rollback_target: unknown target 'nginx'"
    write_setup '{"mode": "rust"}'
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0
    assert_eq 2 "$RC"
    assert_contains "$ERR" "names no tokens_file"
    write_setup
    echo "admin carol sha256:$(sha_of_text x)" >"$TEST_TMP/tokens.txt"
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0
    assert_eq 2 "$RC"
    assert_contains "$ERR" "tokens file $TEST_TMP/tokens.txt is not usable: line 1: unknown role 'admin'"
    write_setup
    cutover serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1
    assert_eq 2 "$RC"
    assert_contains "$ERR" "--listen '127.0.0.1' must be HOST:PORT"
    assert_no_path "$TEST_TMP/state" "nothing created by refused starts"
}

test_sigterm_waits_for_nothing_and_exits_zero_with_idle_keepalive() {
    write_setup
    start_server
    # An idle keep-alive connection must not hold the shutdown for long.
    exec 9<>/dev/tcp/127.0.0.1/"${ADDR##*:}"
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&9
    local status_line
    read -r -t 10 status_line <&9
    assert_contains "$status_line" "200"
    local start end
    start="$(date +%s%N)"
    stop_server
    end="$(date +%s%N)"
    if (((end - start) / 1000000 > 5000)); then _e2e_fail "shutdown took $(((end - start) / 1000000)) ms"; fi
    exec 9>&-
}

test_sighup_reopens_the_audit_log_after_rotation() {
    write_setup
    start_server
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
    mv "$TEST_TMP/state/audit.jsonl" "$TEST_TMP/state/audit.jsonl.1"
    kill -HUP "$PID"
    # The reopen is done when the server says so on standard error; read it
    # from the file the server writes (bounded: 200 curl round trips).
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q "audit log reopened" "$SERVER_ERR" && break
        req GET /healthz
    done
    assert_contains "$(cat "$SERVER_ERR")" "SIGHUP, audit log reopened"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"clear"}'
    stop_server
    assert_eq 1 "$(grep -c '"target":"legacy"' "$TEST_TMP/state/audit.jsonl.1")" "the rotated file keeps the old line"
    assert_eq 1 "$(grep -c '"target":"clear"' "$TEST_TMP/state/audit.jsonl")" "the new file gets the new line"
}

test_connections_pipelining_partial_requests_and_100_continue() {
    write_setup
    start_server
    # Two requests in one write: two answers, in order.
    raw_connect 7
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n' >&7
    read_response 7 || fatal "no first answer"
    assert_eq "HTTP/1.1 200 OK" "$RAW_STATUS" "first pipelined answer"
    assert_contains "$RAW_BODY" '"status":"ok"'
    read_response 7 || fatal "no second answer"
    assert_contains "$RAW_BODY" '"status":"ready"' "second pipelined answer"
    # Clients that send half a request hold no thread: with more of them
    # than the server has event threads, others are still answered.
    local fd
    for fd in 10 11 12 13 14; do
        raw_connect "$fd"
        printf 'POST /api/v1/control/route-split/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 16\r\n\r\n{"path":' "$VIEW_TOKEN" >&"$fd"
    done
    req GET /healthz
    assert_eq 200 "$CODE" "answered while five requests are half sent"
    # The halves complete: each gets its answer.
    for fd in 10 11 12 13 14; do
        printf '"/chat"}' >&"$fd"
        read_response "$fd" || fatal "no answer on $fd"
        assert_eq "HTTP/1.1 200 OK" "$RAW_STATUS" "completed request on $fd"
        assert_contains "$RAW_BODY" '"path":"/chat"'
        eval "exec $fd>&-"
    done
    # Expect: 100-continue gets its interim answer before the body is sent.
    raw_connect 8
    printf 'POST /api/v1/control/route-split/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 16\r\nExpect: 100-continue\r\n\r\n' "$VIEW_TOKEN" >&8
    local interim blank
    read -r -t 10 interim <&8 || fatal "no interim answer"
    assert_eq "HTTP/1.1 100 Continue" "${interim%$'\r'}"
    read -r -t 10 blank <&8
    printf '{"path":"/chat"}' >&8
    read_response 8 || fatal "no answer after 100 Continue"
    assert_eq "HTTP/1.1 200 OK" "$RAW_STATUS"
    exec 7>&- 8>&-
    stop_server
}

test_an_idle_keepalive_connection_is_closed_after_its_timeout() {
    write_setup
    start_server
    raw_connect 7
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&7
    read_response 7 || fatal "no answer"
    assert_eq "HTTP/1.1 200 OK" "$RAW_STATUS"
    # The server closes the idle connection after its keep-alive timeout
    # (2 s): the read below ends at that end of stream, not at its own limit.
    local start end extra=""
    start="$(date +%s%N)"
    read -r -t 8 extra <&7
    local rc=$?
    end="$(date +%s%N)"
    assert_eq 1 "$rc" "end of stream (not a timeout, 142)"
    assert_eq "" "$extra"
    local ms=$(((end - start) / 1000000))
    if ((ms < 1500 || ms > 6000)); then _e2e_fail "closed after $ms ms, expected about 2000"; fi
    exec 7>&-
    stop_server
}

# --- cutover routes ---------------------------------------------------------------

# routes evaluate --batch: the same decisions as one evaluate a line.
test_routes_evaluate_batch_matches_single_evaluations() {
    local p k want="" line
    printf '/chat/t1\tuser:1\n/billing/x\tuser:2\n/settings\n//chat/%%61\tuser:3\n/api/me\tuser:4\n' >"$TEST_TMP/batch.tsv"
    while IFS=$'\t' read -r p k; do
        line="$(OA_ROUTE_SPLIT_MODE=cohort "$BIN" routes evaluate "$p" ${k:+--cohort-key "$k"} | head -n 1)"
        want+="$line"$'\n'
    done <"$TEST_TMP/batch.tsv"
    OA_ROUTE_SPLIT_MODE=cohort cutover routes evaluate --batch "$TEST_TMP/batch.tsv"
    assert_eq 0 "$RC" "batch: $ERR"
    assert_eq "${want%$'\n'}" "$OUT" "batch = single evaluations"
    OUT="$(OA_ROUTE_SPLIT_MODE=cohort "$BIN" routes evaluate --batch - --json <"$TEST_TMP/batch.tsv")"
    assert_eq 0 "$?" "batch from stdin"
    assert_eq 5 "$(jq '.decisions | length' <<<"$OUT")" "one decision a line, from stdin"
    assert_eq "user:3" "$(jq -r '.decisions[3].cohort_key' <<<"$OUT")"
    printf '/chat\n\n/x\n' >"$TEST_TMP/blank.tsv"
    cutover routes evaluate --batch "$TEST_TMP/blank.tsv"
    assert_eq 2 "$RC" "a blank line"
    assert_contains "$ERR" "--batch $TEST_TMP/blank.tsv line 2: no path"
    cutover routes evaluate /chat --batch "$TEST_TMP/batch.tsv"
    assert_eq 2 "$RC" "PATH and --batch"
    cutover routes evaluate
    assert_eq 2 "$RC" "neither"
}

test_routes_evaluate_and_status_offline() {
    cutover routes evaluate /chat/thread-1 --cohort-key user:1 --json
    assert_eq 0 "$RC"
    assert_eq '{"cohort_key":"user:1","path":"/chat/thread-1","reason":"mode_rust","rollback_target":"rust_shell","route_domain":"chat_pilot","target":"rust_shell"}' \
        "$(printf '%s' "$OUT" | jq -cS .)" "the reference defaults"
    OA_ROUTE_SPLIT_MODE=cohort OA_ROUTE_SPLIT_COHORT_PERCENTAGE=57 cutover routes evaluate /chat --cohort-key user:1
    assert_eq 0 "$RC"
    assert_contains "$OUT" "/chat -> legacy (mode_cohort)"
    assert_contains "$OUT" "cohort_bucket:   57 >= 57 %"
    OA_ROUTE_SPLIT_COHORT_PERCENTAGE=lots cutover routes status
    assert_eq 0 "$RC"
    assert_contains "$ERR" "OA_ROUTE_SPLIT_COHORT_PERCENTAGE='lots'"
    assert_contains "$OUT" "billing_l402              legacy"
    assert_contains "$OUT" "chat_pilot                rust_shell"
    write_setup '{"mode": "legacy", "route_groups": [{"domain": "Docs", "route_prefixes": ["/docs"], "rollback_target": "rust"}]}'
    cutover routes status --config "$TEST_TMP/routes.json" --json
    assert_eq 0 "$RC"
    assert_eq '{"docs":"rust_shell"}' "$(printf '%s' "$OUT" | jq -c .rollback_matrix)"
    cutover routes evaluate /docs/x --config "$TEST_TMP/routes.json"
    assert_contains "$OUT" "/docs/x -> legacy (mode_legacy)"
    assert_contains "$OUT" "route_domain:    docs"
    printf '{"mode": "sideways"' >"$TEST_TMP/bad.json"
    cutover routes status --config "$TEST_TMP/bad.json"
    assert_eq 2 "$RC"
    assert_contains "$ERR" "route config $TEST_TMP/bad.json"
}

test_routes_reads_the_servers_state() {
    write_setup
    start_server
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy","domain":"chat_pilot"}'
    stop_server
    cutover routes evaluate /chat --config "$TEST_TMP/routes.json" --state-dir "$TEST_TMP/state" --json
    assert_eq 0 "$RC"
    assert_eq domain_override "$(printf '%s' "$OUT" | jq -r .reason)"
    cutover routes status --config "$TEST_TMP/routes.json" --state-dir "$TEST_TMP/state"
    assert_contains "$OUT" "chat_pilot                rust_shell legacy"
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    run_test "$t"
done
finish_tests
