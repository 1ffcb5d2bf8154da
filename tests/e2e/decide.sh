#!/usr/bin/env bash
# End-to-end suite for the decide endpoint and live control (issue 14, the
# server half): `cutover serve --decide-listen 127.0.0.1:0` driven with curl.
# The decide listener's headers against `cutover routes evaluate`, the query
# never deciding, the cohort key from the configured header or cookie,
# promote / abort / undo through the override API (audited, persisted), the
# state endpoint, SIGHUP with a good and a bad config, and a restart that
# rebinds the same ports at once.
#
#   tests/e2e/decide.sh [BIN]
#
# Nothing sleeps to synchronise: the server prints its addresses on a FIFO
# the test reads; waits for a log line are bounded loops of requests.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary decide.sh "${1:-}" curl jq sha256sum timeout tail mkfifo
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

DECIDE=/api/v1/route-split/decide
CONFIG='{"mode": "cohort", "cohort_percentage": 5, "cohort_key_header": "x-user", "cohort_key_cookie": "uid", "legacy_base_url": "http://127.0.0.1:1", "rust_base_url": "http://127.0.0.1:2", "tokens_file": "tokens.txt"}'

# start_decider [ARGS...]: start_server with a decide listener; sets DADDR.
start_decider() {
    start_server --decide-listen "${DECIDE_LISTEN:-127.0.0.1:0}" "$@"
    local line=""
    read -r -t 20 line <&$((20 + SERVER_N)) || fatal "no decide address: $(cat "$SERVER_ERR")"
    assert_match "$line" '^decide listening on 127\.0\.0\.1:[0-9]+$' "second line of serve"
    DADDR="${line#decide listening on }"
}

# decide URI [CURL_ARGS...]: asks the decide listener; sets CODE, HDRS, DEC
# ("target reason group").
decide() {
    local uri="$1"
    shift
    CODE="$(curl -s -S -o /dev/null -D "$TEST_TMP/.dh" -w '%{http_code}' --max-time 10 \
        -H "X-Original-URI: $uri" "$@" "http://$DADDR$DECIDE")"
    HDRS="$(tr -d '\r' <"$TEST_TMP/.dh")"
    DEC="$(header x-cutover-target) $(header x-cutover-reason) $(header x-cutover-group)"
}

# evaluated PATH KEY: "target reason group" as `cutover routes evaluate` says.
evaluated() {
    "$BIN" routes evaluate "$1" --cohort-key "$2" --config "$TEST_TMP/routes.json" --state-dir "$TEST_TMP/state" \
        --json | jq -r '"\(.target) \(.reason) \(.route_domain)"'
}

test_decide_answers_204_with_the_evaluate_decision() {
    write_setup "$CONFIG"
    start_decider
    local path key
    for path in /chat/a /billing/x /api/me /docs //chat/ /%63hat/1 /login; do
        for key in user:1 user:route anonymous u7; do
            decide "$path?q=1" -H "x-user: $key"
            assert_eq 204 "$CODE" "decide $path"
            assert_eq "$(evaluated "$path" "$key")" "$DEC" "decide $path for $key"
        done
    done
    assert_match "$(header x-cutover-revision)" '^1\.0$' "config 1, override revision 0"
    # The query never changes the decision.
    decide "/chat/a" -H "x-user: user:1"
    local plain="$DEC"
    decide "/billing?x=/chat/a" -H "x-user: user:1"
    assert_eq "$(evaluated /billing user:1)" "$DEC" "a path in the query is ignored"
    decide "/chat/a?/api" -H "x-user: user:1"
    assert_eq "$plain" "$DEC" "the query is ignored"
    # No token needed there; the main listener wants a viewer token.
    req GET "$DECIDE" "" "" -H 'X-Original-URI: /chat'
    expect_error 401 unauthorized
    req GET "$DECIDE" "$VIEW_TOKEN" "" -H 'X-Original-URI: /chat' -H 'x-user: user:1'
    assert_eq 204 "$CODE" "decide on the main listener with a viewer token"
    assert_eq "$(evaluated /chat user:1 | cut -d' ' -f1)" "$(header x-cutover-target)"
    # The decide listener serves nothing else.
    CODE="$(curl -s -o /dev/null -w '%{http_code}' "http://$DADDR$CTRL/status" -H "Authorization: Bearer $VIEW_TOKEN")"
    assert_eq 404 "$CODE" "the control API is not on the decide listener"
    CODE="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$DADDR$DECIDE")"
    assert_eq 405 "$CODE" "POST decide"
    stop_server
    assert_eq 0 "$(wc -l <"$TEST_TMP/state/audit.jsonl")" "no audit line for decisions"
}

test_cohort_key_from_header_then_cookie_else_anonymous() {
    write_setup "$CONFIG"
    start_decider
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"promote","cohort_percentage":58,"domain":"chat_pilot"}'
    # user:1 is bucket 57, anonymous 80: at 58 % they differ.
    decide /chat -H 'x-user: user:1'
    assert_eq rust_shell "$(header x-cutover-target)" "key from the header"
    decide /chat -H 'Cookie: a=b; uid=user:1; c=d'
    assert_eq rust_shell "$(header x-cutover-target)" "key from the cookie"
    decide /chat -H 'x-user:   ' -H 'Cookie: uid="user:1"'
    assert_eq rust_shell "$(header x-cutover-target)" "a blank header falls to the cookie (quotes removed)"
    decide /chat -H 'x-oa-route-key: user:1'
    assert_eq legacy "$(header x-cutover-target)" "no configured key: anonymous (bucket 80)"
    decide /chat -H 'x-user: user:route' -H 'Cookie: uid=user:1'
    assert_eq legacy "$(header x-cutover-target)" "the header wins over the cookie"
    stop_server
}

test_promote_abort_undo_through_the_api() {
    write_setup "$CONFIG"
    start_decider
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"promote","cohort_percentage":100,"domain":"billing_l402"}' \
        -H 'x-cutover-operator: carol'
    assert_eq 200 "$CODE" "promote"
    assert_eq 100 "$(jqb '.data.groups[] | select(.domain=="billing_l402") | .cohort_percentage')"
    decide /billing -H 'x-user: user:route'
    assert_eq "rust_shell mode_cohort billing_l402" "$DEC" "promoted to 100 %"
    assert_eq 1.1 "$(header x-cutover-revision)"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"abort"}'
    assert_eq 200 "$CODE" "abort all"
    decide /billing -H 'x-user: user:route'
    assert_eq "legacy domain_override billing_l402" "$DEC" "abort: the group's rollback target"
    decide /chat -H 'x-user: user:route'
    assert_eq "rust_shell domain_override chat_pilot" "$DEC" "abort: chat_pilot's rollback target is rust_shell"
    decide /docs
    assert_eq "legacy runtime_override unclassified" "$DEC" "abort: outside every group, legacy"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"undo"}'
    assert_eq 200 "$CODE" "undo"
    decide /billing -H 'x-user: user:route'
    assert_eq "rust_shell mode_cohort billing_l402" "$DEC" "undo brings the promote back"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"undo"}'
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"undo"}'
    expect_error 409 nothing_to_undo "There is no change to undo."
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"promote","cohort_percentage":101}'
    expect_error 422 invalid_request "Cohort percentage must be an integer from 0 to 100."
    req POST "$CTRL/override" "$VIEW_TOKEN" '{"mode":"abort"}'
    expect_error 403 forbidden
    req GET "$CTRL/state" "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "state"
    assert_eq 1.4 "$(jqb .data.revision)"
    assert_eq '{"legacy":2,"rust_shell":3}' "$(jqb '.data.decisions_last_minute | tojson')" "decisions in the last minute"
    stop_server
    local audit="$TEST_TMP/state/audit.jsonl"
    assert_eq "promote abort undo undo" "$(jq -r .mode "$audit" | tr '\n' ' ' | sed 's/ $//')" "one audit line a change"
    assert_eq "carol alice" "$(sed -n 1p "$audit" | jq -r '"\(.operator) \(.identity)"')" "operator and identity"
    assert_eq 4 "$(jq -r .revision "$TEST_TMP/state/overrides.json")"
    # Persisted: a restart decides the same.
    start_decider
    decide /billing -H 'x-user: user:route'
    assert_eq "legacy mode_cohort billing_l402" "$DEC" "after two undos, back to 5 %"
    stop_server
}

test_sighup_reloads_a_good_config_and_refuses_a_bad_one() {
    write_setup "$CONFIG"
    start_decider
    decide /chat -H 'x-user: user:1'
    assert_eq legacy "$(header x-cutover-target)" "5 %: bucket 57 is legacy"
    printf '%s\n' "${CONFIG/\"cohort_percentage\": 5/\"cohort_percentage\": 60}" >"$TEST_TMP/routes.json"
    kill -HUP "$PID"
    local i
    for ((i = 0; i < 500; i++)); do
        grep -q "route config reloaded" "$SERVER_ERR" && break
        req GET /healthz
    done
    assert_contains "$(cat "$SERVER_ERR")" "route config reloaded (config revision 2)"
    decide /chat -H 'x-user: user:1'
    assert_eq "rust_shell 2.0" "$(header x-cutover-target) $(header x-cutover-revision)" "the new config decides"
    printf '{"mode": "sideways"' >"$TEST_TMP/routes.json"
    kill -HUP "$PID"
    for ((i = 0; i < 500; i++)); do
        grep -q "config reload refused" "$SERVER_ERR" && break
        req GET /healthz
    done
    assert_contains "$(cat "$SERVER_ERR")" "config reload refused: "
    decide /chat -H 'x-user: user:1'
    assert_eq "rust_shell 2.0" "$(header x-cutover-target) $(header x-cutover-revision)" "the old config stays"
    stop_server
    assert_eq 1 "$(grep -c '"route.split.config.reloaded"' "$TEST_TMP/state/audit.jsonl")" "one reload audited"
    assert_eq 2 "$(jq -r 'select(.event == "route.split.config.reloaded") | .config_revision' "$TEST_TMP/state/audit.jsonl")"
    # Each SIGHUP re-read the tokens file too (it is good both times).
    assert_eq 2 "$(grep -c '"route.split.tokens.reloaded"' "$TEST_TMP/state/audit.jsonl")" "tokens reloads audited"
}

test_restart_rebinds_the_same_ports_at_once_and_public_addresses_are_refused() {
    write_setup "$CONFIG"
    start_decider
    decide /chat
    local main="$ADDR" dec="$DADDR"
    stop_server
    # Connections from the first run linger in TIME_WAIT; SO_REUSEADDR lets the restart bind.
    "$BIN" serve --config "$TEST_TMP/routes.json" --listen "$main" --decide-listen "$dec" \
        --state-dir "$TEST_TMP/state" >"$TEST_TMP/again.out" 2>"$TEST_TMP/again.err" &
    PID=$!
    for ((i = 0; i < 500; i++)); do
        [[ "$(wc -l <"$TEST_TMP/again.out")" -ge 2 ]] && break
        ! kill -0 "$PID" 2>/dev/null && break
        curl -s -o /dev/null "http://$main/healthz" || true
    done
    assert_eq "decide listening on $dec" "$(sed -n 2p "$TEST_TMP/again.out")" "rebound at once: $(cat "$TEST_TMP/again.err")"
    decide /chat
    assert_eq 204 "$CODE" "decides after the restart"
    stop_server
    "$BIN" serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --decide-listen 0.0.0.0:0 \
        --state-dir "$TEST_TMP/state" >/dev/null 2>"$TEST_TMP/public.err"
    assert_eq 2 "$?" "a public decide address is refused"
    assert_contains "$(cat "$TEST_TMP/public.err")" "loopback or private address"
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    run_test "$t"
done
finish_tests
