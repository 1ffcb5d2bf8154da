#!/usr/bin/env bash
# End-to-end suite for issue 14's nginx front (docs/EDGE.md): the include
# `cutover routes nginx-config` writes, run by a real nginx in front of two
# stub upstreams (legacy, new) and a stub decider (tests/e2e/nginx_lib.sh),
# all on 127.0.0.1 as the invoking user.
#
#   tests/e2e/edge.sh [BIN]
#
# Checks: nginx -t accepts the include; the decided target is honoured; the
# decider down, stopped (slow) or answering anything but 204 sends traffic to
# legacy with x-cutover-reason: decider_unavailable; the new upstream down
# gives the client a 502; methods, bodies, query strings and statuses pass
# through; pins never ask the decider; encoded and unnormalised paths go where
# `cutover routes evaluate` says (pinned) or where the decider says.
#
# To extend (wave 2: cutover serve as the decider): write a test function
# that calls edge_up (or edge_up_with_decider HOST:PORT), drive the front
# with ngx_fetch, and add a run_test line at the bottom.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nginx_lib.sh
source "$root/tests/e2e/nginx_lib.sh"

e2e_binary edge.sh "${1:-}" nginx curl jq timeout tail pgrep
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done

# The route config of every test: two pins (to rust_shell and to legacy), a
# group under /chat; the decisions themselves come from the stub decider.
edge_config() {
    cat >"$TEST_TMP/routes.json" <<JSON
{"legacy_base_url": "http://127.0.0.1:$P_LEGACY", "rust_base_url": "http://127.0.0.1:$P_NEW/",
 "route_groups": [{"domain": "chat_pilot", "route_prefixes": ["/chat"], "rollback_target": "rust_shell"}],
 "pinned_routes": [
   {"prefix": "/api", "target": "rust_shell", "reason": "api_pin", "route_domain": "api"},
   {"prefix": "/static/assets", "target": "legacy", "reason": "static_pin", "route_domain": "static"}]}
JSON
}

# edge_up [NGINX_CONFIG_ARGS...]: starts the stubs (legacy, new, decider) and
# the front with the generated include; sets P_LEGACY, P_NEW, P_DECIDER,
# P_FRONT, DECIDER_LOG, FRONT_CONF.
edge_up() {
    ngx_init || fatal "nginx_lib: init failed"
    ngx_stubs_up
    ngx_free_port P_DECIDER || fatal "no free port"
    DECIDER_LOG="$TEST_TMP/decider.log"
    : >"$DECIDER_LOG"
    ngx_stub_decider "$P_DECIDER" "$DECIDER_LOG" >"$TEST_TMP/decider.conf"
    ngx_start decider "$TEST_TMP/decider.conf" "$P_DECIDER" || fatal "decider stub did not start"
    edge_config
    ngx_front_up "127.0.0.1:$P_DECIDER" "$@"
}

decider_asks() { wc -l <"$DECIDER_LOG" | tr -d ' '; }

test_nginx_accepts_the_generated_config() {
    edge_up
    ngx_test check "$FRONT_CONF"
    assert_eq 0 "$NGX_RC" "nginx -t status ($NGX_OUT)"
    assert_contains "$NGX_OUT" "test is successful" "nginx -t"
    # Other timeouts and a bare-port listen are accepted too.
    must routes nginx-config --config "$TEST_TMP/routes.json" --decider "localhost:$P_DECIDER" --listen "$P_FRONT" \
        --decider-connect-timeout 50 --decider-read-timeout 1500 --out "$TEST_TMP/other.conf"
    ngx_test check2 "$TEST_TMP/other.conf"
    assert_eq 0 "$NGX_RC" "nginx -t status, other options ($NGX_OUT)"
    assert_contains "$(cat "$TEST_TMP/other.conf")" "proxy_read_timeout 1500ms;" "read timeout"
    # Without a rust_base_url there is nothing to generate.
    echo '{"legacy_base_url": "http://127.0.0.1:1"}' >"$TEST_TMP/half.json"
    cutover routes nginx-config --config "$TEST_TMP/half.json" --decider 127.0.0.1:1 --listen 8080
    assert_ne 0 "$RC" "exit status without rust_base_url"
    assert_contains "$ERR" "rust_base_url" "error names the field"
}

test_the_decided_target_is_honoured() {
    edge_up
    ngx_fetch /chat/thread-1
    assert_eq 200 "$CODE" "status"
    assert_eq new "$UPSTREAM" "upstream of /chat/thread-1"
    assert_eq rust_shell "$TARGET" "x-cutover-target"
    assert_eq stub_decided "$REASON" "x-cutover-reason"
    assert_contains "$BODY" "cutover-target=rust_shell cutover-reason=stub_decided" "headers the upstream saw"
    ngx_fetch /billing/invoice
    assert_eq legacy "$UPSTREAM" "upstream of /billing/invoice"
    assert_eq legacy "$TARGET" "x-cutover-target"
    assert_eq 2 "$(decider_asks)" "decisions asked"
    assert_eq "/chat/thread-1" "$(sed -n 1p "$DECIDER_LOG")" "X-Original-URI the decider saw"
    # A client cannot choose its target by sending the headers itself.
    ngx_fetch /billing/invoice -H 'X-Cutover-Target: rust_shell' -H 'X-Cutover-Reason: forged'
    assert_eq legacy "$UPSTREAM" "upstream with forged headers"
    assert_contains "$BODY" "cutover-target=legacy cutover-reason=stub_decided" "headers the upstream saw"
}

test_decider_down_sends_everything_to_legacy() {
    edge_up
    ngx_kill decider
    for path in /chat/thread-1 /billing/x /new?x=1; do
        ngx_fetch "$path"
        assert_eq 200 "$CODE" "status of $path"
        assert_eq legacy "$UPSTREAM" "upstream of $path"
        assert_eq decider_unavailable "$REASON" "x-cutover-reason of $path"
        assert_contains "$BODY" "cutover-reason=decider_unavailable" "reason the legacy upstream saw"
        ((MS < 2000)) || _e2e_fail "$path took $MS ms with the decider down (refused connections fail at once)"
    done
    # Pins do not depend on the decider at all.
    ngx_fetch /api/v1/things
    assert_eq new "$UPSTREAM" "pinned /api with the decider down"
    assert_eq api_pin "$REASON" "pinned reason"
}

test_decider_stopped_is_slow_and_fails_safe_within_the_read_timeout() {
    edge_up --decider-read-timeout 300
    ngx_fetch /chat/warm
    assert_eq new "$UPSTREAM" "before the stop"
    ngx_pause decider
    ngx_fetch /chat/thread-1
    assert_eq 200 "$CODE" "status while stopped"
    assert_eq legacy "$UPSTREAM" "upstream while the decider is stopped"
    assert_eq decider_unavailable "$REASON" "x-cutover-reason while stopped"
    ((MS >= 250)) || _e2e_fail "answered in $MS ms: the 300 ms read timeout was not waited for"
    ((MS < 2000)) || _e2e_fail "answered in $MS ms: far more than the 300 ms read timeout"
    ngx_resume decider
    ngx_fetch /chat/thread-2
    assert_eq new "$UPSTREAM" "decisions resume after SIGCONT"
    assert_eq stub_decided "$REASON" "reason after SIGCONT"
}

test_decider_answers_other_than_204_go_to_legacy() {
    edge_up
    local path
    for path in /fault/500 /fault/403 /fault/200; do
        ngx_fetch "$path"
        assert_eq 200 "$CODE" "status of $path"
        assert_eq legacy "$UPSTREAM" "upstream of $path (the decider named rust_shell)"
        assert_eq decider_unavailable "$REASON" "x-cutover-reason of $path"
    done
}

test_new_upstream_down_reaches_the_client_as_502() {
    edge_up
    ngx_kill new
    ngx_fetch /chat/thread-1
    assert_eq 502 "$CODE" "status with the new upstream down"
    assert_eq "" "$UPSTREAM" "no upstream answered"
    assert_eq rust_shell "$TARGET" "x-cutover-target"
    assert_not_contains "$BODY" "legacy" "body"
    ngx_fetch /api/x
    assert_eq 502 "$CODE" "pinned to the new upstream, which is down"
    ngx_fetch /billing/x
    assert_eq legacy "$UPSTREAM" "legacy traffic unaffected"
}

test_methods_bodies_queries_and_statuses_pass_through() {
    edge_up
    local method
    for method in POST PUT PATCH DELETE; do
        ngx_fetch '/chat/p?x=1&y=%20z&x=2' -X "$method" --data-binary 'hello body'
        assert_eq 200 "$CODE" "$method status"
        assert_eq "new $method /chat/p?x=1&y=%20z&x=2 content-length=10" "$(cut -d' ' -f1-4 <<<"$BODY")" "$method"
    done
    ngx_fetch '/billing/p?q=%2Fapi' -X POST --data-binary @<(head -c 100000 /dev/zero | tr '\0' 'a')
    assert_eq "legacy POST /billing/p?q=%2Fapi content-length=100000" "$(cut -d' ' -f1-4 <<<"$BODY")" "large body"
    ngx_fetch /chat/x -I
    assert_eq 200 "$CODE" "HEAD status"
    assert_eq new "$UPSTREAM" "HEAD upstream"
    # Statuses, the new service's own 5xx among them, reach the client as they are.
    ngx_fetch /status/503
    assert_eq 503 "$CODE" "the new service's 503"
    assert_eq "new 503" "$BODY" "the new service's 503 body"
    ngx_fetch /status/500
    assert_eq 500 "$CODE" "the new service's 500"
    assert_eq new "$UPSTREAM" "the new service's 500 is not hidden"
    ngx_fetch /status/201
    assert_eq 201 "$CODE" "201"
    ngx_fetch /billing/status/404
    assert_eq 404 "$CODE" "legacy's 404"
    assert_eq legacy "$UPSTREAM" "legacy's 404"
}

test_pins_never_ask_the_decider() {
    edge_up
    local path
    for path in /api /api/ /api/v1/x '/api/v1/x?q=/chat' //api '/api//x/' '/api/../chat' /static/assets/app.js; do
        ngx_fetch "$path"
        assert_eq 200 "$CODE" "status of $path"
    done
    assert_eq 0 "$(decider_asks)" "decisions asked for pinned paths"
    ngx_fetch '/api/../chat'
    assert_eq new "$UPSTREAM" "/api/../chat is under /api for the decider too"
    assert_contains "$BODY" "GET /api/../chat " "the raw URI reaches the upstream"
    ngx_fetch /static/assets/app.js
    assert_eq legacy "$UPSTREAM" "pinned to legacy"
    assert_eq static_pin "$REASON" "pinned reason"
    ngx_fetch /apix
    assert_eq 1 "$(decider_asks)" "/apix is not under /api"
}

# Every path: the pin nginx applies (without asking) must be the one `cutover
# routes evaluate` applies to the raw path; anything else is asked of the
# decider with the raw URI, whose answer is honoured.
test_encoded_and_unnormalised_paths_agree_with_evaluate() {
    edge_up
    local path asks before pin_target expected
    for path in '/%61pi/x' '/%2Fapi' '/ap%69' '//api' '///api//x' '/api/../chat' '/./api' '/x/../api' \
        '/%63hat/1' '//chat' '/chat/%2e%2e/api' '/API' '/api;x' '/api%3Fx' '/static/assets/../x' \
        '/static//assets' '/stat%69c/assets/a' '/api?/static/assets'; do
        cutover routes evaluate "${path%%\?*}" --config "$TEST_TMP/routes.json" --json
        ((RC == 0)) || fatal "routes evaluate $path: $ERR"
        local reason
        reason="$(jq -r .reason <<<"$OUT")"
        before="$(decider_asks)"
        ngx_fetch "$path"
        asks=$(($(decider_asks) - before))
        assert_eq 200 "$CODE" "status of $path"
        if [[ "$reason" == api_pin || "$reason" == static_pin ]]; then
            expected="$(jq -r .target <<<"$OUT")"
            pin_target=legacy
            [[ "$UPSTREAM" == new ]] && pin_target=rust_shell
            if ((asks == 0)); then
                assert_eq "$expected" "$pin_target" "$path pinned by nginx: evaluate says $reason -> $expected"
                assert_eq "$reason" "$REASON" "$path: reason"
            else
                # Not in normal form: left to the decider, which applies the same pins.
                assert_eq "$path" "$(tail -n 1 "$DECIDER_LOG")" "$path: the decider saw the raw URI"
            fi
        else
            assert_eq 1 "$asks" "$path: evaluate does not pin it ($reason), so nginx must ask the decider"
            assert_eq "$path" "$(tail -n 1 "$DECIDER_LOG")" "$path: the decider saw the raw URI"
            assert_eq stub_decided "$REASON" "$path: the decider's reason"
        fi
        assert_contains "$BODY" " $path " "$path reaches the upstream raw"
    done
    # The unnormalised forms the decider sees raw: its answer wins over nginx's decoding.
    ngx_fetch '/%63hat/1'
    assert_eq legacy "$UPSTREAM" "/%63hat/1: the stub decider's raw rule says legacy"
    ngx_fetch '/chat/1'
    assert_eq new "$UPSTREAM" "/chat/1"
}

test_the_auth_location_is_not_reachable_by_clients() {
    edge_up
    for path in /cutover_decide /api/v1/route-split/decide '/_cutover' '/cutover_decide?x'; do
        ngx_fetch "$path"
        assert_eq 200 "$CODE" "status of $path"
        assert_ne "" "$UPSTREAM" "$path is proxied like any path"
    done
}

run_test test_nginx_accepts_the_generated_config
run_test test_the_decided_target_is_honoured
run_test test_decider_down_sends_everything_to_legacy
run_test test_decider_stopped_is_slow_and_fails_safe_within_the_read_timeout
run_test test_decider_answers_other_than_204_go_to_legacy
run_test test_new_upstream_down_reaches_the_client_as_502
run_test test_methods_bodies_queries_and_statuses_pass_through
run_test test_pins_never_ask_the_decider
run_test test_encoded_and_unnormalised_paths_agree_with_evaluate
run_test test_the_auth_location_is_not_reachable_by_clients
finish_tests
