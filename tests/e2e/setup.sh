#!/usr/bin/env bash
# End-to-end tests of setting up without reading source (issue 16):
# `cutover init`, `cutover baseline --from`, and the defaults that the
# environment and cutover.conf give the commands (`cutover config`).
#   tests/e2e/setup.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary setup "${1:-}" jq curl sha256sum
unset CUTOVER_WORK_DIR CUTOVER_LEDGER CUTOVER_TRUST CUTOVER_THRESHOLD CUTOVER_SERVER CUTOVER_TOKEN WORK_DIR

# --- cutover baseline --from --------------------------------------------------------

test_baseline_from_a_backfill_is_accepted_by_verify() {
    migrated
    must baseline --from "$MANIFEST" --environment staging --out "$TEST_TMP/baseline.json"
    assert_match "$OUT" "^baseline: $TEST_TMP/baseline.json: environment staging, 10 count\(s\) of 3 store\(s\)" "summary"
    assert_eq "cutover.baseline.v1" "$(jq -r .schema "$TEST_TMP/baseline.json")" "schema"
    # Exact counts under the manifest's own count names.
    assert_eq "$(jq -S '[.stores[] | {(.store): (.counts | map_values({exact: .}))}] | add' "$MANIFEST")" \
        "$(jq -S '.environments.staging.stores' "$TEST_TMP/baseline.json")" "the manifest's counts, exactly"
    must verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_contains "$OUT" "baseline staging" "verify checked the baseline"
    # Printed, it is the same document.
    must baseline --from "$MANIFEST" --environment staging
    assert_eq "$(cat "$TEST_TMP/baseline.json")" "$OUT" "printed and written agree"
    # A later run with one more user breaks it.
    jq '.users_by_id["user-2"] = {"id": "user-2"}' "$S/auth.json" >"$S/auth.json.new" && mv "$S/auth.json.new" "$S/auth.json"
    must backfill --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" \
        --store "domain=$S/domain.json" --work-dir "$W"
    local second
    second="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    cutover verify "$second" --baseline "$TEST_TMP/baseline.json"
    assert_eq 1 "$RC" "the next run's changed count fails the baseline"
    assert_match "$OUT" "error: \[auth\] baseline staging: users = 2" "the finding"
}

test_baseline_refuses_unfinished_and_unverified_runs() {
    migrated
    local run
    run="$(basename "$MANIFEST" .json)"
    jq '.status = "in_progress"' "$MANIFEST" >"$W/manifests/$run.json.in-progress"
    cutover baseline --from "$W/manifests/$run.json.in-progress" --out "$TEST_TMP/b.json"
    assert_eq 2 "$RC" "an in-progress manifest"
    assert_match "$ERR" "^cutover baseline: error: manifest .* has status 'in_progress': the run did not finish" "message"
    assert_contains "$ERR" "cutover rollback" "says what to do"
    assert_no_path "$TEST_TMP/b.json" "nothing written"
    rm "$W/manifests/$run.json.in-progress"
    printf '{}' >"$S/domain.json"
    cutover baseline --from "$MANIFEST" --out "$TEST_TMP/b.json"
    assert_eq 1 "$RC" "a run that no longer verifies"
    assert_contains "$ERR" "error: [domain]" "the finding is shown"
    assert_match "$ERR" "cutover baseline: error: manifest .* does not verify" "message"
    assert_no_path "$TEST_TMP/b.json" "nothing written"
    cutover baseline --from "$TEST_TMP/missing.json"
    assert_eq 2 "$RC" "a missing manifest"
    cutover baseline
    assert_eq 2 "$RC" "--from is required"
}

run_test test_baseline_from_a_backfill_is_accepted_by_verify
run_test test_baseline_refuses_unfinished_and_unverified_runs
finish_tests
