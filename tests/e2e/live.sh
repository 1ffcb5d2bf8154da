#!/usr/bin/env bash
# End-to-end suite for issue 14's live traffic (docs/EDGE.md): real requests
# through a front nginx with the include `cutover routes nginx-config` writes,
# decided by a real `cutover serve --decide-listen`, answered by two stub
# upstreams (legacy, new), all on 127.0.0.1 as the invoking user
# (tests/e2e/nginx_lib.sh); the operator verbs `cutover routes
# promote|abort|undo|get` drive the server.
#
#   tests/e2e/live.sh [BIN]
#
# Checks: 1,000 (path, cohort key) pairs land where `cutover routes evaluate`
# says; a key stays on its target while the percentage only rises; abort
# sends every group to its rollback target within 1 s and undo brings it
# back; cutover killed or stopped sends everything to legacy within the
# read timeout, and decisions resume after a restart; the new upstream down
# reaches the client as 502; methods, bodies, queries and statuses pass
# through; the verbs' errors and exit codes. Waits poll with a deadline.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=nginx_lib.sh
source "$root/tests/e2e/nginx_lib.sh"

e2e_binary live.sh "${1:-}" nginx curl jq timeout tail pgrep
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_\|^CUTOVER_' || true); do unset "$v"; done

# The route config: cohort mode at 30 %, the key from x-user or the uid
# cookie; chat_pilot rolls back to the new service, the others to legacy;
# two pins. Everything not in a group is split too (rust_routes "/").
live_config() {
    cat >"$TEST_TMP/routes.json" <<JSON
{"mode": "cohort", "cohort_percentage": 30, "rust_routes": ["/"],
 "legacy_base_url": "http://127.0.0.1:$P_LEGACY", "rust_base_url": "http://127.0.0.1:$P_NEW",
 "cohort_key_header": "x-user", "cohort_key_cookie": "uid", "tokens_file": "tokens.txt",
 "route_groups": [
   {"domain": "chat_pilot", "route_prefixes": ["/chat", "/feed"], "rollback_target": "rust_shell"},
   {"domain": "billing_l402", "route_prefixes": ["/billing"], "rollback_target": "legacy"},
   {"domain": "account", "route_prefixes": ["/account"], "rollback_target": "legacy"}],
 "pinned_routes": [
   {"prefix": "/api", "target": "rust_shell", "reason": "api_pin", "route_domain": "api"},
   {"prefix": "/static", "target": "legacy", "reason": "static_pin", "route_domain": "static"}]}
JSON
}

# serve_up: starts `cutover serve` on $P_CTRL and $P_DECIDE (fixed ports, so a
# restart takes them again); sets SERVE_PID. Reads the two address lines.
SERVE_N=0
serve_up() {
    SERVE_N=$((SERVE_N + 1))
    local fifo="$TEST_TMP/serve$SERVE_N.out" line1="" line2=""
    mkfifo "$fifo"
    "$BIN" serve --config "$TEST_TMP/routes.json" --listen "127.0.0.1:$P_CTRL" \
        --decide-listen "127.0.0.1:$P_DECIDE" --state-dir "$TEST_TMP/state" \
        >"$fifo" 2>"$TEST_TMP/serve$SERVE_N.err" &
    SERVE_PID=$!
    eval "exec $((20 + SERVE_N))<\"\$fifo\""
    if ! read -r -t 20 line1 <&$((20 + SERVE_N)) || ! read -r -t 20 line2 <&$((20 + SERVE_N)); then
        fatal "serve did not print its addresses: $(cat "$TEST_TMP/serve$SERVE_N.err")"
    fi
    assert_eq "listening on 127.0.0.1:$P_CTRL" "$line1" "serve's first line"
    assert_eq "decide listening on 127.0.0.1:$P_DECIDE" "$line2" "serve's second line"
}

# live_up: the stubs, cutover serve and the front;
# sets P_LEGACY, P_NEW, P_CTRL, P_DECIDE, P_FRONT, SERVER, the tokens and
# CUTOVER_SERVER / CUTOVER_TOKEN for the verbs.
live_up() {
    ngx_init || fatal "nginx_lib: init failed"
    ngx_stubs_up
    { ngx_free_port P_CTRL && ngx_free_port P_DECIDE; } || fatal "no free port"
    live_config
    write_setup "$(cat "$TEST_TMP/routes.json")"
    printf '%s\n' "$OP_TOKEN" >"$TEST_TMP/op.token"
    printf '%s\n' "$VIEW_TOKEN" >"$TEST_TMP/view.token"
    serve_up
    SERVER="http://127.0.0.1:$P_CTRL"
    export CUTOVER_SERVER="$SERVER" CUTOVER_TOKEN="$OP_TOKEN"
    ngx_front_up "127.0.0.1:$P_DECIDE"
}

# target_of UPSTREAM: the route target an upstream's name stands for.
target_of() {
    case "$1" in
        legacy) echo legacy ;;
        new) echo rust_shell ;;
        *) echo "none($1)" ;;
    esac
}

# batch FILE: the requests FILE lists ("PATH<TAB>HOW<TAB>KEY" a line, HOW one
# of header, cookie, none) through the front in one curl; prints
# "CODE TARGET" a line, in order (TARGET from the upstream that answered).
batch() {
    local list="$1" cfg="$TEST_TMP/.batch.curl" path how key first=1
    : >"$cfg"
    while IFS=$'\t' read -r path how key; do
        ((first)) || echo "next" >>"$cfg"
        first=0
        {
            printf 'url = "http://127.0.0.1:%s%s"\n' "$P_FRONT" "$path"
            echo 'path-as-is'
            echo 'silent'
            echo 'max-time = 10'
            echo 'output = "/dev/null"'
            printf 'write-out = "%%{http_code} %%header{x-upstream}\\n"\n'
            case "$how" in
                header) printf 'header = "x-user: %s"\n' "$key" ;;
                cookie) printf 'header = "Cookie: theme=dark; uid=%s"\n' "$key" ;;
            esac
        } >>"$cfg"
    done <"$list"
    curl -K "$cfg" | while read -r code up; do echo "$code $(target_of "$up")"; done
}

# expected FILE: `cutover routes evaluate --batch` over every line of FILE
# (the path up to '?', the key; none: no key), "200 TARGET" a line, in
# order. --state-dir applies the server's overrides as evaluate does offline.
expected() {
    local list="$1" path how key args
    while IFS=$'\t' read -r path how key; do
        if [[ "$how" == none ]]; then
            printf '%s\n' "${path%%\?*}"
        else
            printf '%s\t%s\n' "${path%%\?*}" "$key"
        fi
    done <"$list" >"$TEST_TMP/.batch.tsv"
    args=(routes evaluate --batch "$TEST_TMP/.batch.tsv" --config "$TEST_TMP/routes.json")
    [[ -f "$TEST_TMP/state/overrides.json" ]] && args+=(--state-dir "$TEST_TMP/state")
    "$BIN" "${args[@]}" 2>/dev/null | while read -r _ _ target _; do echo "200 $target"; done
}

# pairs N: N (path, cohort key) pairs, a fixed pseudo-random mix of groups,
# pins, unclassified, encoded and unnormalised paths, with queries, keys by
# header, by cookie or none.
pairs() {
    local n="$1" i p k how
    local paths=('/chat/t%d' '/feed?page=%d' '/billing/inv%d' '/billing/x?user=%d' '/account/s%d' '/other/%d'
        '/api/v%d' '/static/a%d.js' '/' '//chat/%d' '/%%63hat/%d' '/chat/../billing/%d' '/CHAT/%d' '/feed/%d?x=/api')
    RANDOM=1414
    for ((i = 0; i < n; i++)); do
        # shellcheck disable=SC2059  # the templates are formats
        printf -v p "${paths[RANDOM % ${#paths[@]}]}" "$i"
        k="user:$((RANDOM % 500))"
        case $((RANDOM % 5)) in
            0) how=none ;;
            1) how=cookie ;;
            *) how=header ;;
        esac
        printf '%s\t%s\t%s\n' "$p" "$how" "$k"
    done
}

# wait_until DEADLINE_MS COMMAND...: polls COMMAND every 20 ms until it
# succeeds (0) or DEADLINE_MS pass (1); sets WAITED_MS.
wait_until() {
    local deadline_ms="$1" start now
    shift
    start="$(date +%s%N)"
    while :; do
        if "$@"; then
            WAITED_MS=$((($(date +%s%N) - start) / 1000000))
            return 0
        fi
        now="$(date +%s%N)"
        if (((now - start) / 1000000 > deadline_ms)); then
            WAITED_MS=$(((now - start) / 1000000))
            return 1
        fi
        sleep 0.02
    done
}

# same_as_before: the mix lands where it did before the abort.
same_as_before() {
    batch "$TEST_TMP/mix.tsv" >"$TEST_TMP/.now.txt"
    cmp -s "$TEST_TMP/.now.txt" "$TEST_TMP/before.txt"
}

# all_go LIST EXPECTED_TARGET: every pair of LIST lands on that target.
all_go() { ! batch "$1" | grep -qv "^200 $2\$"; }

test_a_thousand_pairs_land_where_evaluate_says() {
    live_up
    pairs 1000 >"$TEST_TMP/pairs.tsv"
    batch "$TEST_TMP/pairs.tsv" >"$TEST_TMP/got.txt"
    # routes get counts the decisions of the last minute: 50 more pairs
    # asked just before it (the thousand may take over a minute on a
    # loaded machine, and age out).
    head -n 50 "$TEST_TMP/pairs.tsv" >"$TEST_TMP/recent.tsv"
    batch "$TEST_TMP/recent.tsv" >/dev/null
    cutover routes get --json
    assert_eq 0 "$RC" "routes get: $ERR"
    local total decided
    total="$(jq '.decisions_last_minute.legacy + .decisions_last_minute.rust_shell' <<<"$OUT")"
    decided="$(grep -cv '^/api\|^/static' "$TEST_TMP/recent.tsv")"
    ((decided > 0)) || fatal "no decided pair among the first 50"
    ((total >= decided)) || _e2e_fail "routes get counts $total decisions in the last minute; the front asked $decided"
    expected "$TEST_TMP/pairs.tsv" >"$TEST_TMP/want.txt"
    assert_eq 1000 "$(wc -l <"$TEST_TMP/got.txt" | tr -d ' ')" "answers"
    local diff
    diff="$(paste "$TEST_TMP/pairs.tsv" "$TEST_TMP/want.txt" "$TEST_TMP/got.txt" | awk -F'\t' '$4 != $5' | head -n 5)"
    assert_eq "" "$diff" "pairs where the answering upstream is not evaluate's target (path, how, key, want, got)"
    # Both targets are exercised, and the decider decided (not only pins).
    assert_ne 0 "$(grep -c ' rust_shell$' "$TEST_TMP/got.txt")" "pairs on the new service"
    assert_ne 0 "$(grep -c ' legacy$' "$TEST_TMP/got.txt")" "pairs on legacy"
    ngx_fetch /chat/one -H 'x-user: user:1'
    assert_eq mode_cohort "$REASON" "the decider's reason reaches the client"
}

test_a_key_stays_on_its_target_while_the_percentage_rises() {
    live_up
    local i pct
    for ((i = 0; i < 200; i++)); do printf '/chat/k%d\theader\tuser:%d\n' "$i" "$i"; done >"$TEST_TMP/keys.tsv"
    # Each key's bucket, from evaluate (independent of the percentage).
    while IFS=$'\t' read -r _ _ key; do printf '/chat/x\t%s\n' "$key"; done <"$TEST_TMP/keys.tsv" >"$TEST_TMP/bkeys.tsv"
    "$BIN" routes evaluate --batch "$TEST_TMP/bkeys.tsv" --config "$TEST_TMP/routes.json" --json |
        jq -r '.decisions[].cohort_bucket' >"$TEST_TMP/buckets.txt"
    assert_eq 200 "$(grep -c '^[0-9]' "$TEST_TMP/buckets.txt")" "a bucket for each key"
    : >"$TEST_TMP/prev.txt"
    for pct in 5 25 50 100; do
        cutover routes promote chat_pilot --to "$pct" --operator carol
        assert_eq 0 "$RC" "promote to $pct: $ERR"
        assert_contains "$ERR" "promoted to $pct" "promote's message"
        batch "$TEST_TMP/keys.tsv" >"$TEST_TMP/now.txt"
        local wrong
        wrong="$(paste -d' ' "$TEST_TMP/buckets.txt" "$TEST_TMP/now.txt" | awk -v p="$pct" '
            { want = ($1 < p) ? "rust_shell" : "legacy"; if ($3 != want) print NR ": bucket " $1 " got " $3 }' | head -n 3)"
        assert_eq "" "$wrong" "at $pct %: keys not on bucket < percentage"
        if [[ -s "$TEST_TMP/prev.txt" ]]; then
            wrong="$(paste -d' ' "$TEST_TMP/prev.txt" "$TEST_TMP/now.txt" | awk '$2 == "rust_shell" && $4 != "rust_shell" {print NR}' | head -n 3)"
            assert_eq "" "$wrong" "at $pct %: keys that left the new service while the percentage rose"
        fi
        cp "$TEST_TMP/now.txt" "$TEST_TMP/prev.txt"
        cutover routes get --json
        assert_eq "$pct" "$(jq -r '.groups[] | select(.domain == "chat_pilot") | .cohort_percentage' <<<"$OUT")" \
            "routes get: chat_pilot's percentage"
        assert_eq 30 "$(jq -r '.groups[] | select(.domain == "billing_l402") | .cohort_percentage' <<<"$OUT")" \
            "routes get: billing_l402 keeps the config's percentage"
    done
    assert_eq 200 "$(grep -c ' rust_shell$' "$TEST_TMP/now.txt")" "every key on the new service at 100 %"
    # Audited with the operator's name beside the token's identity.
    local line
    line="$(grep '"mode":"promote"' "$TEST_TMP/state/audit.jsonl" | tail -n 1)"
    assert_eq carol "$(jq -r .operator <<<"$line")" "audit: operator"
    assert_eq alice "$(jq -r .identity <<<"$line")" "audit: the token's identity"
    assert_eq 100 "$(jq -r .cohort_percentage <<<"$line")" "audit: percentage"
}

test_abort_sends_every_group_to_its_rollback_target_and_undo_brings_it_back() {
    live_up
    local i
    for ((i = 0; i < 60; i++)); do
        printf '/chat/a%d\theader\tuser:%d\n/billing/b%d\theader\tuser:%d\n/account/c%d\tnone\t-\n/other/%d\theader\tuser:%d\n' \
            "$i" "$i" "$i" "$i" "$i" "$i" "$i"
    done >"$TEST_TMP/mix.tsv"
    grep '^/chat' "$TEST_TMP/mix.tsv" >"$TEST_TMP/chat.tsv"
    grep -v '^/chat' "$TEST_TMP/mix.tsv" >"$TEST_TMP/rest.tsv"
    batch "$TEST_TMP/mix.tsv" >"$TEST_TMP/before.txt"
    grep -q ' rust_shell$' <(batch "$TEST_TMP/rest.tsv") || fatal "no key of the legacy-rollback groups on the new service before the abort"
    grep -q ' legacy$' <(batch "$TEST_TMP/chat.tsv") || fatal "no chat key on legacy before the abort"

    cutover routes abort --operator dave
    assert_eq 0 "$RC" "abort: $ERR"
    assert_contains "$ERR" "every group" "abort's message"
    # Within 1 s: chat_pilot (rollback rust_shell) all new; the others (and unclassified) all legacy.
    wait_until 1000 all_go "$TEST_TMP/chat.tsv" rust_shell || _e2e_fail "chat_pilot not all on rust_shell ${WAITED_MS} ms after abort"
    wait_until 1000 all_go "$TEST_TMP/rest.tsv" legacy || _e2e_fail "the other groups not all on legacy ${WAITED_MS} ms after abort"
    ngx_fetch /billing/z -H 'x-user: user:1'
    assert_eq domain_override "$REASON" "reason after abort"
    cutover routes get --json
    assert_eq "rust_shell legacy legacy" "$(jq -r '[.groups[].override_target] | join(" ")' <<<"$OUT")" "overrides after abort"
    assert_eq legacy "$(jq -r .override_target <<<"$OUT")" "global override after abort"
    cutover routes get
    assert_contains "$OUT" "chat_pilot" "routes get lists the group"
    assert_match "$(grep '^billing_l402' <<<"$OUT")" 'legacy +legacy +legacy' "routes get: billing_l402 row"

    cutover routes undo --operator dave
    assert_eq 0 "$RC" "undo: $ERR"
    wait_until 1000 same_as_before || _e2e_fail "undo did not bring every key back within 1 s"
    cutover routes get --json
    assert_eq "null null null" "$(jq -r '[.groups[].override_target | tostring] | join(" ")' <<<"$OUT")" "overrides after undo"
    # One group alone, and undo with nothing left to undo.
    cutover routes abort billing_l402
    assert_eq 0 "$RC" "abort billing_l402: $ERR"
    all_go <(grep '^/billing' "$TEST_TMP/mix.tsv") legacy || _e2e_fail "billing not on legacy after its abort"
    cutover routes get --json
    assert_eq null "$(jq -r '.groups[] | select(.domain == "chat_pilot") | .override_target' <<<"$OUT")" "chat_pilot untouched"
    must routes undo
    all_go <(grep '^/billing' "$TEST_TMP/mix.tsv") legacy && _e2e_fail "billing still all on legacy after undo"
    # The abort of every group was undone before: nothing is left.
    cutover routes undo
    assert_eq 1 "$RC" "undo with nothing to undo: $ERR"
    assert_contains "$ERR" "There is no change to undo." "undo's error"
}

# rust_key_on_new: $rust_key's request on /chat/x answered by the new service.
rust_key_on_new() {
    ngx_fetch /chat/x -H "x-user: $rust_key"
    [[ $UPSTREAM == new ]]
}

test_cutover_killed_or_stopped_sends_everything_to_legacy_and_decisions_resume() {
    live_up
    local rust_key="" i
    for ((i = 0; i < 100; i++)); do
        ngx_fetch "/chat/k$i" -H "x-user: user:$i"
        if [[ "$UPSTREAM" == new ]]; then
            rust_key="user:$i"
            break
        fi
    done
    [[ -n "$rust_key" ]] || fatal "no key decided rust_shell at 30 %"
    kill -KILL "$SERVE_PID"
    wait "$SERVE_PID" 2>/dev/null
    for path in /chat/x /billing/x /other/x; do
        ngx_fetch "$path" -H "x-user: $rust_key"
        assert_eq 200 "$CODE" "$path with cutover killed"
        assert_eq legacy "$UPSTREAM" "$path with cutover killed"
        assert_eq decider_unavailable "$REASON" "$path: reason with cutover killed"
        ((MS < 1200)) || _e2e_fail "$path took $MS ms with cutover killed (read timeout 200 ms)"
    done
    ngx_fetch /api/x
    assert_eq new "$UPSTREAM" "pins need no decider"
    # Restarted on the same ports at once (SO_REUSEADDR): decisions resume.
    serve_up
    wait_until 10000 rust_key_on_new || _e2e_fail "decisions did not resume within 10 s of the restart ($REASON)"
    # Stopped: the kernel accepts, nobody answers; legacy after the read timeout.
    kill -STOP "$SERVE_PID"
    ngx_fetch /chat/x -H "x-user: $rust_key"
    kill -CONT "$SERVE_PID"
    assert_eq legacy "$UPSTREAM" "with cutover stopped"
    assert_eq decider_unavailable "$REASON" "reason with cutover stopped"
    ((MS >= 150)) || _e2e_fail "answered in $MS ms with cutover stopped: the 200 ms read timeout was not waited for"
    ((MS < 1500)) || _e2e_fail "answered in $MS ms with cutover stopped: far beyond the 200 ms read timeout"
    wait_until 10000 rust_key_on_new || _e2e_fail "decisions did not resume within 10 s of SIGCONT"
    assert_eq mode_cohort "$REASON" "reason after SIGCONT"
}

test_new_upstream_down_reaches_the_client_as_502() {
    live_up
    must routes promote chat_pilot --to 100
    must routes promote billing_l402 --to 0
    ngx_kill new
    ngx_fetch /chat/x -H 'x-user: user:1'
    assert_eq 502 "$CODE" "status with the new upstream down"
    assert_eq rust_shell "$TARGET" "x-cutover-target: still the new service"
    assert_eq "" "$UPSTREAM" "no upstream answered"
    ngx_fetch /billing/x -H 'x-user: user:7'
    assert_eq 200 "$CODE" "legacy unaffected"
}

test_methods_bodies_queries_and_statuses_pass_through() {
    live_up
    must routes promote chat_pilot --to 100
    must routes promote billing_l402 --to 0
    local method
    for method in GET POST PUT PATCH DELETE; do
        ngx_fetch '/chat/p?x=1&y=%20z&x=2' -X "$method" --data-binary 'hello body' -H 'x-user: u'
        assert_eq 200 "$CODE" "$method status"
        assert_eq "new $method /chat/p?x=1&y=%20z&x=2 content-length=10" "$(cut -d' ' -f1-4 <<<"$BODY")" "$method"
    done
    ngx_fetch '/billing/p?q=%2Fapi' -X POST --data-binary @<(head -c 100000 /dev/zero | tr '\0' 'a')
    assert_eq "legacy POST /billing/p?q=%2Fapi content-length=100000" "$(cut -d' ' -f1-4 <<<"$BODY")" "large body"
    ngx_fetch /chat/status/503
    assert_eq 503 "$CODE" "the new service's 503"
    assert_eq "new 503" "$BODY" "its body"
    ngx_fetch /chat/status/201
    assert_eq 201 "$CODE" "201"
    ngx_fetch /billing/status/404
    assert_eq 404 "$CODE" "legacy's 404"
    assert_eq legacy "$UPSTREAM" "legacy's 404"
}

test_the_verbs_errors_and_exit_codes() {
    live_up
    # Flags win over the environment.
    CUTOVER_SERVER=http://127.0.0.1:1 cutover routes get --server "$SERVER"
    assert_eq 0 "$RC" "--server wins over CUTOVER_SERVER: $ERR"
    CUTOVER_TOKEN=wrong cutover routes get --token-file "$TEST_TMP/view.token"
    assert_eq 0 "$RC" "--token-file wins over CUTOVER_TOKEN: $ERR"
    assert_contains "$OUT" "chat_pilot" "the table"
    CUTOVER_TOKEN=wrong cutover routes get
    assert_eq 3 "$RC" "unknown token"
    assert_contains "$ERR" "$SERVER/api/v1/control/route-split/state: HTTP 401" "names the server"
    cutover routes promote chat_pilot --to 50 --token-file "$TEST_TMP/view.token"
    assert_eq 3 "$RC" "viewer token on promote"
    assert_contains "$ERR" "HTTP 403" "viewer token"
    cutover routes promote nowhere --to 50
    assert_eq 2 "$RC" "unknown group"
    assert_contains "$ERR" "Unknown route domain 'nowhere'." "the server's message"
    cutover routes promote chat_pilot --to 101
    assert_eq 2 "$RC" "percentage over 100"
    assert_contains "$ERR" "--to" "names the flag"
    CUTOVER_SERVER='' cutover routes get
    assert_eq 2 "$RC" "no server"
    assert_contains "$ERR" "CUTOVER_SERVER" "says how to name the server"
    cutover routes get --server "http://127.0.0.1:$P_LEGACY" --timeout 2s
    assert_ne 0 "$RC" "an nginx is not the control API"
    local dead
    ngx_free_port dead
    cutover routes abort --server "http://127.0.0.1:$dead"
    assert_eq 3 "$RC" "nothing listening"
    assert_contains "$ERR" "127.0.0.1:$dead" "names the server"
    cutover routes promote chat_pilot --to 10 --operator $'bad\x01name'
    assert_eq 2 "$RC" "an operator name with a control character"
    # --watch: --count refreshes, one JSON line each.
    cutover routes get --watch --count 3 --interval 100ms --json
    assert_eq 0 "$RC" "watch: $ERR"
    assert_eq 3 "$(grep -c '"revision"' <<<"$OUT")" "three refreshes"
    cutover routes get --watch --count 2 --interval 100ms
    assert_eq 2 "$(grep -c '^GROUP' <<<"$OUT")" "two tables"
}

run_test test_a_thousand_pairs_land_where_evaluate_says
run_test test_a_key_stays_on_its_target_while_the_percentage_rises
run_test test_abort_sends_every_group_to_its_rollback_target_and_undo_brings_it_back
run_test test_cutover_killed_or_stopped_sends_everything_to_legacy_and_decisions_resume
run_test test_new_upstream_down_reaches_the_client_as_502
run_test test_methods_bodies_queries_and_statuses_pass_through
run_test test_the_verbs_errors_and_exit_codes
finish_tests
