#!/usr/bin/env bash
# End-to-end tests of `cutover harness` (SPEC §8), the project's main job.
#   tests/e2e/harness.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
CUTOVER="$(realpath "${1:-$here/../../build/cutover}")"
RUNBOOK="$here/../../docs/RUNBOOK.md"

# The reference harness's jq invariants on summary.json.
summary_invariants() {
    local summary="$1"
    jq -e '.schema == "openagents.webparity.mixed_version_safety_harness.v1"
           and (.generated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))
           and .totals.check_count == (.checks | length)
           and .totals.passed == ([.checks[] | select(.status == "pass")] | length)
           and .totals.failed == ([.checks[] | select(.status == "fail")] | length)
           and .overall_status == (if .totals.failed == 0 then "passed" else "failed" end)
           and all(.checks[]; has("check_id") and has("description") and has("command") and has("status")
                   and has("reason") and has("started_at") and has("ended_at") and has("log_path"))' \
        "$summary" >/dev/null
}

test_harness_passes_on_the_fixtures() {
    local out rc run
    out="$("$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$RUNBOOK" \
        --issue "https://github.com/OpenAgentsInc/cutover/issues/17" 2>"$TEST_TMP/err")"
    rc=$?
    assert_eq 0 "$rc" "exit status"
    run="$(ls -d "$TEST_TMP"/runs/*/ | head -n 1)"
    for f in summary.json SUMMARY.md checks.jsonl; do assert_file_exists "$run/$f" "$f"; done
    summary_invariants "$run/summary.json" || _e2e_fail "summary.json breaks the jq invariants"
    assert_eq passed "$(jq -r .overall_status "$run/summary.json")" "overall_status"
    assert_eq "$(jq '.totals.check_count' "$run/summary.json")" "$(wc -l <"$run/checks.jsonl" | tr -d ' ')" "one checks.jsonl line a check"
    for id in backfill_writes_manifest manifest_found checksums_verify manifest_invariants verify_baseline evidence_bundle store_rollback stores_restored rollback_targets_answer route_rollback_drill runbook_present; do
        assert_eq pass "$(jq -r --arg id "$id" '.checks[] | select(.check_id == $id) | .status' "$run/summary.json")" "check $id"
    done
    # One log a check, where the summary says.
    jq -r '.checks[].log_path' "$run/summary.json" | while read -r log; do
        [[ -s "$log" ]] || _e2e_fail "log $log is missing or empty"
    done
    assert_contains "$out" "| backfill_writes_manifest | pass |" "the table on stdout"
    # Issue 17: the issue link, and the routes check's report.
    assert_eq "https://github.com/OpenAgentsInc/cutover/issues/17" "$(jq -r .issue_url "$run/summary.json")" "issue_url"
    assert_eq "Issue: https://github.com/OpenAgentsInc/cutover/issues/17  " "$(sed -n 3p "$run/SUMMARY.md")" \
        "the issue atop SUMMARY.md"
    assert_eq true "$(jq -r .ok "$run/targets/routes-report.json")" "the routes report"
    assert_eq 4 "$(jq '.groups | length' "$run/targets/routes-report.json")" "every reference group checked"
    assert_contains "$out" "summary: $run" "the summary path on stdout"
    # The stores the drill worked on are back at their pre-migration bytes.
    local manifest
    manifest="$(ls -1 "$run"/work/manifests/*.json | sort | tail -n 1)"
    jq -r '.stores[] | "\(.before_sha256)  \(.path)"' "$manifest" | sha256sum --check --quiet || _e2e_fail "stores not restored"
}

test_a_failing_check_still_writes_every_output() {
    local rc run
    "$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$TEST_TMP/no-such-runbook.md" >"$TEST_TMP/out" 2>&1
    rc=$?
    assert_eq 1 "$rc" "exit status"
    run="$(ls -d "$TEST_TMP"/runs/*/ | head -n 1)"
    summary_invariants "$run/summary.json" || _e2e_fail "summary.json breaks the jq invariants"
    assert_eq failed "$(jq -r .overall_status "$run/summary.json")" "overall_status"
    assert_eq fail "$(jq -r '.checks[] | select(.check_id == "runbook_present") | .status' "$run/summary.json")" "runbook check"
    assert_eq pass "$(jq -r '.checks[] | select(.check_id == "stores_restored") | .status' "$run/summary.json")" "the other checks still ran"
    assert_contains "$(cat "$TEST_TMP/out")" "FAIL runbook_present" "the failed check is named"
}

test_given_stores_are_copied_and_never_touched() {
    local rc run
    "$CUTOVER" fixtures "$TEST_TMP/stores" >/dev/null
    remember_file "$TEST_TMP/stores/auth.json"
    remember_file "$TEST_TMP/stores/domain.json"
    "$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$RUNBOOK" \
        --store "auth=$TEST_TMP/stores/auth.json" --store "domain=$TEST_TMP/stores/domain.json" >/dev/null 2>&1
    rc=$?
    assert_eq 0 "$rc" "exit status"
    assert_file_unchanged "$TEST_TMP/stores/auth.json"
    assert_file_unchanged "$TEST_TMP/stores/domain.json"
    run="$(ls -d "$TEST_TMP"/runs/*/ | head -n 1)"
    assert_eq 2 "$(jq '.stores | length' "$(ls -1 "$run"/work/manifests/*.json | tail -n 1)")" "stores in the manifest"
}

test_a_refused_backfill_fails_the_run_and_names_it() {
    local rc run
    mkdir -p "$TEST_TMP/stores"
    printf '{"sessions": []}' >"$TEST_TMP/stores/auth.json"
    remember_file "$TEST_TMP/stores/auth.json"
    "$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$RUNBOOK" --store "auth=$TEST_TMP/stores/auth.json" >"$TEST_TMP/out" 2>&1
    rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_file_unchanged "$TEST_TMP/stores/auth.json"
    run="$(ls -d "$TEST_TMP"/runs/*/ | head -n 1)"
    summary_invariants "$run/summary.json" || _e2e_fail "summary.json breaks the jq invariants"
    assert_eq fail "$(jq -r '.checks[] | select(.check_id == "backfill_writes_manifest") | .status' "$run/summary.json")" "backfill check"
    assert_contains "$(cat "$run/logs/backfill_writes_manifest.log")" "sessions" "the log has backfill's refusal"
    assert_contains "$(cat "$TEST_TMP/out")" "FAIL backfill_writes_manifest" "the failed check is named"
}

test_a_route_server_that_cannot_start_fails_its_check_only() {
    local rc run
    printf '{"mode": "sideways"}' >"$TEST_TMP/routes.json"
    "$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$RUNBOOK" --config "$TEST_TMP/routes.json" >"$TEST_TMP/out" 2>&1
    rc=$?
    assert_eq 1 "$rc" "exit status"
    run="$(ls -d "$TEST_TMP"/runs/*/ | head -n 1)"
    summary_invariants "$run/summary.json" || _e2e_fail "summary.json breaks the jq invariants"
    assert_eq fail "$(jq -r '.checks[] | select(.check_id == "route_rollback_drill") | .status' "$run/summary.json")" "route check"
    assert_contains "$(jq -r '.checks[] | select(.check_id == "route_rollback_drill") | .reason' "$run/summary.json")" "mode" "the reason names the field"
    assert_eq fail "$(jq -r '.checks[] | select(.check_id == "rollback_targets_answer") | .status' "$run/summary.json")" \
        "targets check"
    assert_eq 2 "$(jq '.totals.failed' "$run/summary.json")" "only the two route checks failed"
}

test_a_bad_issue_url_is_a_usage_error() {
    local rc
    "$CUTOVER" harness --out "$TEST_TMP/runs" --runbook "$RUNBOOK" --issue "not a url" >"$TEST_TMP/out" 2>&1
    rc=$?
    assert_eq 2 "$rc" "exit status"
    assert_contains "$(cat "$TEST_TMP/out")" "--issue 'not a url' must be the issue's web address"
    assert_no_path "$TEST_TMP/runs" "no run folder"
}

TESTS=(
    test_harness_passes_on_the_fixtures
    test_a_failing_check_still_writes_every_output
    test_given_stores_are_copied_and_never_touched
    test_a_refused_backfill_fails_the_run_and_names_it
    test_a_route_server_that_cannot_start_fails_its_check_only
    test_a_bad_issue_url_is_a_usage_error
)
for t in "${TESTS[@]}"; do run_test "$t"; done
finish_tests
