#!/usr/bin/env bash
# End-to-end suite for shared state (issue 15): two `cutover serve --state
# postgresql://...` replicas on loopback against a throwaway PostgreSQL
# (pg_lib.sh). An override on one is in force on the other within 1 s;
# 200 overrides from two clients with a SIGKILL of one replica midway leave
# exactly the acknowledged overrides in the audit log and the last committed
# one in force; with PostgreSQL stopped both replicas fail safe (/readyz 503,
# every group's rollback target, overrides 503) within 3 s and come back
# without a restart; a replica started while the database is down is not
# ready; schema init twice is a no-op; the ledger in PostgreSQL detects a
# tampered row and `gate advance` from two processes at once does not fork.
#
#   tests/e2e/replicas.sh [BIN]
#
# Nothing sleeps to synchronise: every wait polls a condition up to a
# deadline (wait_for).
# shellcheck disable=SC2317,SC2031,SC2016,SC2119
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pg_lib.sh
source "$root/tests/e2e/pg_lib.sh"

e2e_binary replicas.sh "${1:-}" curl jq sha256sum timeout tail mkfifo
for v in $(compgen -e | grep '^OA_ROUTE_SPLIT_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY CUTOVER_STATE
pg_start || exit 1
# pg_ctl runs as another user when this runs as root: from a folder it may enter.
pg_stop() { (cd / && _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 60 stop >/dev/null); }
pg_restart() { (cd / && _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 start >/dev/null); }

# fresh_schema: the database up, schema cutover dropped and created again,
# cutover_app a writer (what docs/RUNBOOK.md has an operator do).
fresh_schema() {
    pg_is_running || pg_restart || fatal "PostgreSQL did not start again"
    pg_sql "DROP SCHEMA IF EXISTS cutover CASCADE" >/dev/null
    "$BIN" state init "$PG_URL" >/dev/null 2>&1 || fatal "state init failed"
    pg_sql "GRANT cutover_writer TO cutover_app" >/dev/null
}

# replica NAME: starts a replica on the shared state; sets NAME_PID, NAME_BASE.
replica() {
    start_server --state "$PG_APP_URL"
    printf -v "${1}_PID" '%s' "$PID"
    printf -v "${1}_BASE" '%s' "$BASE"
    printf -v "${1}_ERR" '%s' "$SERVER_ERR"
}

# propagation_ms START_US: polls B's /metrics (B_BASE) until it holds
# revision $REV; prints the milliseconds since START_US; 1 after 5 s.
propagation_ms() {
    local start="$1" now ADDR="${B_BASE#http://}"
    raw_connect 5
    for (( ; ; )); do
        printf 'GET /metrics HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer %s\r\n\r\n' "$VIEW_TOKEN" >&5
        read_response 5 || return 1
        now="${EPOCHREALTIME/./}"
        if [[ "$RAW_BODY" == *$'\n'"cutover_state_revision $REV"$'\n'* ]]; then
            echo $(((now - start) / 1000))
            exec 5>&-
            return 0
        fi
        ((now - start < 5000000)) || return 1
    done
}

# on BASE: the following req goes to that replica.
on() { BASE="$1"; }

# ready_code BASE: /readyz's status code.
ready_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/readyz"; }

# wait_for SECONDS CMD...: polls CMD until it succeeds; 1 when the deadline passed.
wait_for() {
    local deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    until "$@"; do
        (($(date +%s%N) < deadline)) || return 1
        sleep 0.02
    done
}

is_ready() { [[ "$(ready_code "$1")" == 200 ]]; }
is_unready() { [[ "$(ready_code "$1")" == 503 ]]; }

# global_target BASE: the global override the replica has in force (null: none).
global_target() {
    curl -s --max-time 2 -H "Authorization: Bearer $VIEW_TOKEN" "$1$CTRL/status" | jq -r .data.override_target
}

# status_overrides BASE: "global=T domain:G=T ..." from the replica's status.
status_overrides() {
    curl -s --max-time 2 -H "Authorization: Bearer $VIEW_TOKEN" "$1$CTRL/status" |
        jq -r '.data | [(if .override_target then "global=\(.override_target)" else empty end),
                        (.domain_overrides | to_entries[] | "domain:\(.key)=\(.value)")] | sort | join(" ")'
}

# db_overrides: the same from cutover.overrides.
db_overrides() {
    pg_sql "SELECT scope || '=' || target FROM cutover.overrides ORDER BY 1" | sort | paste -sd' '
}

# The paths a fail-safe replica must send to their rollback target (every
# group of the default config, a pinned route and an unclassified path).
PATHS=(/chat/t1 /billing/x /login /settings/profile /api/runtime/codex/workers/w1 /api/me /docs /)

# all_rollback BASE: every path in PATHS is decided to its rollback target.
all_rollback() {
    local p body
    on "$1"
    for p in "${PATHS[@]}"; do
        req POST "$CTRL/evaluate" "$VIEW_TOKEN" "{\"path\":\"$p\",\"cohort_key\":\"user:1\"}"
        [[ "$CODE" == 200 ]] || { echo "evaluate $p: $CODE $BODY"; return 1; }
        body="$BODY"
        if [[ "$(jq -r '.data.target == .data.rollback_target' <<<"$body")" != true ]]; then
            echo "evaluate $p: $body"
            return 1
        fi
    done
}

# --- tests ------------------------------------------------------------------------

test_override_on_a_is_in_force_on_b_within_one_second() {
    write_setup
    fresh_schema
    replica A
    replica B
    wait_for 10 is_ready "$A_BASE" || fatal "A not ready: $(cat "$A_ERR")"
    wait_for 10 is_ready "$B_BASE" || fatal "B not ready: $(cat "$B_ERR")"
    assert_contains "$(cat "$A_ERR")" "shared state postgresql:///cutover"
    local target start ms
    for target in legacy rust_shell legacy; do
        on "$A_BASE"
        req POST "$CTRL/override" "$OP_TOKEN" "{\"target\":\"$target\"}"
        start="${EPOCHREALTIME/./}"
        assert_eq 200 "$CODE" "override on A: $BODY"
        REV=$((${REV:-0} + 1))
        # B's /metrics names the revision it holds, asked on one keep-alive
        # connection with bash alone (a process a poll would measure the
        # machine's load, not the propagation).
        ms="$(propagation_ms "$start")" || fatal "B never reached revision $REV"
        echo "    propagation A -> B: $ms ms"
        ((ms < 1000)) || _e2e_fail "override $target took $ms ms to reach B (limit 1000)"
        assert_eq "$target" "$(global_target "$B_BASE")" "B's override"
    done
    # Decisions on B use it, and the audit row is in the database, once.
    on "$B_BASE"
    req POST "$CTRL/evaluate" "$VIEW_TOKEN" '{"path":"/chat","cohort_key":"user:1"}'
    assert_eq runtime_override "$(jqb .data.reason)"
    assert_eq 3 "$(pg_sql "SELECT count(*) FROM cutover.audit_log")" "audit rows"
    assert_eq "1 2 3" "$(pg_sql "SELECT revision FROM cutover.audit_log ORDER BY 1" | paste -sd' ')" "revisions"
    assert_eq route.split.override.updated "$(pg_sql "SELECT event::json->>'event' FROM cutover.audit_log WHERE revision = 3")"
    # Nothing about overrides was written to the state folder.
    assert_no_path "$TEST_TMP/state/overrides.json"
    req GET /metrics "$VIEW_TOKEN"
    assert_contains "$BODY" "cutover_state_available 1"
    assert_contains "$BODY" "cutover_state_revision 3"
    stop_server "$A_PID"
    stop_server "$B_PID"
}

# client N BASE... : 100 overrides with request ids cN-I, to the first BASE
# that answers; acknowledged ids to acked.N, unknown outcomes to unknown.N.
client() {
    local n="$1" i code target domain body
    shift
    local bases=("$@") b=0
    local targets=(legacy rust clear rollback)
    for ((i = 0; i < 100; i++)); do
        target="${targets[$(((i + n) % 4))]}"
        domain=""
        ((i % 3 == 0)) && domain=',"domain":"billing_l402"'
        body="{\"target\":\"$target\"$domain}"
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H "Authorization: Bearer $OP_TOKEN" \
            -H 'Content-Type: application/json' -H "x-request-id: c$n-$i" --data-binary "$body" \
            "${bases[$b]}$CTRL/override")"
        case "$code" in
            200) echo "c$n-$i" >>"$TEST_TMP/acked.$n" ;;
            000)
                echo "c$n-$i" >>"$TEST_TMP/unknown.$n"
                ((b + 1 < ${#bases[@]})) && b=$((b + 1))
                ;;
            *) echo "c$n-$i" >>"$TEST_TMP/refused.$n" ;;
        esac
    done
}

test_200_overrides_from_two_clients_with_a_replica_killed() {
    write_setup
    fresh_schema
    replica A
    replica B
    wait_for 10 is_ready "$A_BASE" || fatal "A not ready"
    wait_for 10 is_ready "$B_BASE" || fatal "B not ready"
    local f
    for f in acked.1 acked.2 unknown.1 unknown.2 refused.1 refused.2; do : >"$TEST_TMP/$f"; done
    client 1 "$A_BASE" &
    local c1=$!
    client 2 "$B_BASE" "$A_BASE" &
    local c2=$!
    # Midway through client 2, B dies without a chance to answer.
    wait_for 60 eval '(($(wc -l <"$TEST_TMP/acked.2") >= 50))' || fatal "client 2 stalled"
    kill -KILL "$B_PID"
    wait "$c1" "$c2"
    cat "$TEST_TMP/acked.1" "$TEST_TMP/acked.2" | sort >"$TEST_TMP/acked"
    cat "$TEST_TMP/unknown.1" "$TEST_TMP/unknown.2" | sort >"$TEST_TMP/unknown"
    assert_eq 0 "$(cat "$TEST_TMP/refused.1" "$TEST_TMP/refused.2" | wc -l)" "overrides refused"
    pg_sql "SELECT event::json->>'request_id' FROM cutover.audit_log" | sort >"$TEST_TMP/audited"
    local acked audited unknown
    acked="$(wc -l <"$TEST_TMP/acked")"
    audited="$(wc -l <"$TEST_TMP/audited")"
    unknown="$(wc -l <"$TEST_TMP/unknown")"
    echo "    acknowledged $acked, audit rows $audited, unknown outcome (replica killed) $unknown"
    assert_eq 200 "$((acked + unknown))" "every override answered or cut off"
    # Every acknowledged override is in the audit log exactly once; any other
    # row is one whose answer the SIGKILL cut off.
    assert_eq "" "$(sort "$TEST_TMP/audited" | uniq -d)" "audit rows seen twice"
    assert_eq "" "$(comm -23 "$TEST_TMP/acked" "$TEST_TMP/audited")" "acknowledged but not audited"
    assert_eq "" "$(comm -13 "$TEST_TMP/acked" "$TEST_TMP/audited" | comm -23 - "$TEST_TMP/unknown")" \
        "audited but neither acknowledged nor cut off"
    # Revisions strictly increase with no gap; the state is the last commit.
    assert_eq "$audited" "$(pg_sql "SELECT count(DISTINCT revision) FROM cutover.audit_log")" "distinct revisions"
    assert_eq "$audited" "$(pg_sql "SELECT max(revision) FROM cutover.audit_log")" "revisions 1..N"
    assert_eq "$audited" "$(pg_sql "SELECT revision FROM cutover.override_revision")" "state revision"
    wait_for 5 eval '[[ "$(status_overrides "$A_BASE")" == "$(db_overrides)" ]]' ||
        _e2e_fail "A's overrides $(status_overrides "$A_BASE") != database $(db_overrides)"
    stop_server "$A_PID"
}

test_database_down_fails_safe_and_comes_back() {
    write_setup
    fresh_schema
    replica A
    replica B
    wait_for 10 is_ready "$A_BASE" || fatal "A not ready"
    wait_for 10 is_ready "$B_BASE" || fatal "B not ready"
    on "$A_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust"}'
    assert_eq 200 "$CODE"
    wait_for 5 eval '[[ "$(global_target "$B_BASE")" == rust_shell ]]' || fatal "B never saw the override"
    all_rollback "$A_BASE" >/dev/null && fatal "the override should make some decision differ from its rollback target"

    pg_stop fast || fatal "pg_stop"
    local start ms
    start="$(date +%s%N)"
    wait_for 5 eval 'is_unready "$A_BASE" && is_unready "$B_BASE"' || fatal "replicas still ready"
    ms=$((($(date +%s%N) - start) / 1000000))
    echo "    database down -> both replicas 503: $ms ms"
    ((ms <= 3000)) || _e2e_fail "fail-safe took $ms ms (limit 3000)"
    local r
    for r in "$A_BASE" "$B_BASE"; do
        on "$r"
        req GET /readyz
        assert_eq 503 "$CODE" "readyz"
        assert_contains "$(jqb .reason)" "shared state unavailable"
        assert_eq "" "$(all_rollback "$r")" "every decision is the rollback target on $r"
        on "$r"
        req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
        expect_error 503 state_unavailable
        req GET /docs "" "" -H 'x-oa-route-key: user:1'
        assert_eq legacy "$(header x-cutover-target)" "web entry for /docs (unclassified: legacy)"
        req GET /metrics "$VIEW_TOKEN"
        assert_contains "$BODY" "cutover_state_available 0"
    done
    wait_for 5 grep -q "shared state unavailable" "$A_ERR" || _e2e_fail "no log line: $(cat "$A_ERR")"

    pg_restart || fatal "pg_restart"
    start="$(date +%s%N)"
    wait_for 10 eval 'is_ready "$A_BASE" && is_ready "$B_BASE"' || fatal "replicas not ready again"
    echo "    database up -> both ready: $((($(date +%s%N) - start) / 1000000)) ms"
    assert_eq rust_shell "$(global_target "$A_BASE")" "live state on A"
    assert_eq rust_shell "$(global_target "$B_BASE")" "live state on B"
    on "$B_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"legacy"}'
    assert_eq 200 "$CODE" "overrides accepted again"
    wait_for 5 eval '[[ "$(global_target "$A_BASE")" == legacy ]]' || _e2e_fail "A never saw B's override"
    assert_eq 2 "$(pg_sql "SELECT count(*) FROM cutover.audit_log")" "audit rows (none while down)"
    assert_contains "$(cat "$A_ERR")" "shared state available"
    stop_server "$A_PID"
    stop_server "$B_PID"
}

test_replica_started_while_database_is_down_is_not_ready() {
    write_setup
    fresh_schema
    pg_stop fast || fatal "pg_stop"
    replica A
    # It answers, but is never ready while the database is down.
    local i
    for ((i = 0; i < 3; i++)); do
        assert_eq 503 "$(ready_code "$A_BASE")" "readyz while down" || break
        assert_eq "" "$(all_rollback "$A_BASE")" "rollback targets while down"
    done
    on "$A_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"target":"rust"}'
    expect_error 503 state_unavailable
    pg_restart || fatal "pg_restart"
    wait_for 10 is_ready "$A_BASE" || _e2e_fail "A not ready after the database came up"
    stop_server "$A_PID"
}

test_state_init_twice_is_a_no_op() {
    fresh_schema
    local before out
    before="$(pg_sql "SELECT xmin::text || ' ' || updated_at FROM cutover.schema_version")"
    out="$("$BIN" state init "$PG_URL" 2>&1)"
    assert_contains "$out" "unchanged"
    assert_eq "$before" "$(pg_sql "SELECT xmin::text || ' ' || updated_at FROM cutover.schema_version")"
}

test_ledger_in_postgresql_detects_a_tampered_row() {
    fresh_schema
    expand_evidence
    cutover gate advance auth_entry expand --ledger "$PG_APP_URL" --new-ledger "${EXPAND_ARGS[@]}"
    assert_eq 0 "$RC" "first expand: $ERR $OUT"
    cutover gate status --ledger "$PG_APP_URL"
    assert_eq 0 "$RC" "status: $ERR"
    assert_contains "$OUT" "1 record(s), chain intact"
    cutover gate advance auth_entry expand --ledger "$PG_APP_URL" --new-ledger "${EXPAND_ARGS[@]}"
    assert_ne 0 "$RC" "--new-ledger on a ledger with rows"
    # cutover_app may not edit it (append-only); the owner, past the trigger, can.
    assert_contains "$(PGOPTIONS='--client-min-messages=warning' "$PG_BIN/psql" -X -q -At -h "$PG_DIR" -U cutover_app \
        -d cutover -c "UPDATE cutover.ledger SET line = line" 2>&1)" "permission denied"
    pg_sql "ALTER TABLE cutover.ledger DISABLE TRIGGER append_only;
            UPDATE cutover.ledger SET line = replace(line, 'auth_entry', 'auth_entrx') WHERE seq = 1;
            ALTER TABLE cutover.ledger ENABLE TRIGGER append_only" >/dev/null
    cutover gate status --ledger "$PG_APP_URL"
    assert_ne 0 "$RC" "status on a tampered ledger"
    assert_contains "$ERR" "ledger"
    echo "    $ERR"
    expand_evidence
    cutover gate advance billing_l402 expand --ledger "$PG_APP_URL" "${EXPAND_ARGS[@]}"
    assert_ne 0 "$RC" "nothing is appended to a broken chain"
    assert_eq 1 "$(pg_sql "SELECT count(*) FROM cutover.ledger")" "rows"
}

test_two_gate_advances_at_once_do_not_fork() {
    fresh_schema
    expand_evidence
    cutover gate advance auth_entry expand --ledger "$PG_APP_URL" --new-ledger "${EXPAND_ARGS[@]}"
    assert_eq 0 "$RC" "first expand: $ERR $OUT"
    expand_evidence
    local g pids=()
    for g in billing_l402 chat_pilot; do
        TMPDIR="$TEST_TMP" timeout 60 "$BIN" gate advance "$g" expand --ledger "$PG_APP_URL" "${EXPAND_ARGS[@]}" \
            >"$TEST_TMP/$g.out" 2>&1 &
        pids+=($!)
    done
    local ok=0 pid
    for pid in "${pids[@]}"; do wait "$pid" && ok=$((ok + 1)); done
    echo "    $ok of 2 concurrent advances recorded; $(cat "$TEST_TMP"/*.out | tr '\n' ' ' | cut -c1-300)"
    ((ok >= 1)) || _e2e_fail "neither advance was recorded"
    # One that lost the race read the chain only after the other's commit:
    # its evidence is older than that new record, so it is refused, not forked.
    if ((ok == 1)); then assert_contains "$(cat "$TEST_TMP"/*.out)" "not after the ledger's last record"; fi
    cutover gate status --ledger "$PG_APP_URL"
    assert_eq 0 "$RC" "chain intact: $ERR"
    assert_eq "$((1 + ok))" "$(pg_sql "SELECT count(*) FROM cutover.ledger")" "one row a recorded step"
    assert_eq "$((1 + ok))" "$(pg_sql "SELECT max(seq) FROM cutover.ledger")" "seqs without a gap"
}

# group_state BASE GROUP: "override_target cohort_percentage_override" of the
# group in the replica's live state (null when there is none).
group_state() {
    curl -s --max-time 2 -H "Authorization: Bearer $VIEW_TOKEN" "$1$CTRL/state" |
        jq -r --arg g "$2" '.data.groups[] | select(.domain == $g) | "\(.override_target) \(.cohort_percentage_override)"'
}

# Promote, abort (of every group: one change) and undo go through the
# database like a target override: in force on the other replica, one
# audit row each, the override rows rewritten from the whole state.
test_promote_abort_undo_through_the_shared_state() {
    write_setup
    fresh_schema
    replica A
    replica B
    wait_for 10 is_ready "$A_BASE" || fatal "A not ready: $(cat "$A_ERR")"
    wait_for 10 is_ready "$B_BASE" || fatal "B not ready: $(cat "$B_ERR")"
    on "$A_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"promote","cohort_percentage":25,"domain":"chat_pilot"}'
    assert_eq 200 "$CODE" "promote on A: $BODY"
    wait_for 2 eval '[[ "$(group_state "$B_BASE" chat_pilot)" == "null 25" ]]' ||
        _e2e_fail "B's chat_pilot after promote: $(group_state "$B_BASE" chat_pilot)"
    assert_eq "" "$(db_overrides)" "promote sets no target row"
    on "$B_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"abort"}'
    assert_eq 200 "$CODE" "abort on B: $BODY"
    wait_for 2 all_rollback "$A_BASE" >/dev/null || _e2e_fail "A after abort: $(all_rollback "$A_BASE")"
    local groups
    groups="$(pg_sql "SELECT count(*) FROM cutover.overrides WHERE scope LIKE 'domain:%'")"
    assert_ne 0 "$groups" "abort writes a row per group"
    assert_eq "global=legacy" "$(pg_sql "SELECT scope || '=' || target FROM cutover.overrides WHERE scope = 'global'")"
    assert_eq "$(status_overrides "$A_BASE")" "$(db_overrides)" "A's overrides = the rows"
    on "$A_BASE"
    req POST "$CTRL/override" "$OP_TOKEN" '{"mode":"undo"}'
    assert_eq 200 "$CODE" "undo on A: $BODY"
    wait_for 2 eval '[[ "$(status_overrides "$B_BASE")" == "" ]]' ||
        _e2e_fail "B after undo: $(status_overrides "$B_BASE")"
    assert_eq "null 25" "$(group_state "$B_BASE" chat_pilot)" "undo restores the promote"
    assert_eq "" "$(db_overrides)" "undo clears the rows"
    assert_eq "promote abort undo" "$(pg_sql "SELECT event::json->>'mode' FROM cutover.audit_log ORDER BY revision" | paste -sd' ')" \
        "one audit row per change"
    # SIGHUP reloads the config and the tokens of a replica on shared state too.
    kill -HUP "$A_PID"
    wait_for 5 grep -q "SIGHUP, tokens reloaded" "$A_ERR" || _e2e_fail "A after SIGHUP: $(tail -n 3 "$A_ERR")"
    assert_contains "$(cat "$A_ERR")" "route config reloaded (config revision 2)"
    is_ready "$A_BASE" || _e2e_fail "A not ready after SIGHUP"
    stop_server "$A_PID"
    stop_server "$B_PID"
}

if [[ -n "${E2E_ONLY:-}" ]]; then
    run_test "$E2E_ONLY"
    finish_tests
fi
run_test test_override_on_a_is_in_force_on_b_within_one_second
run_test test_200_overrides_from_two_clients_with_a_replica_killed
run_test test_database_down_fails_safe_and_comes_back
run_test test_replica_started_while_database_is_down_is_not_ready
run_test test_promote_abort_undo_through_the_shared_state
run_test test_state_init_twice_is_a_no_op
run_test test_ledger_in_postgresql_detects_a_tampered_row
run_test test_two_gate_advances_at_once_do_not_fork
finish_tests
