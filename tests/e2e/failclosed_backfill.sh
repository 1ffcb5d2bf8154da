#!/usr/bin/env bash
# End-to-end checks for issue 12 items 2, 6 and 7 (backfill fails closed in
# a live window), driving the real binary on real files:
#   - an unfinished run (in-progress manifest, or a failed one) refuses a new
#     backfill with exit 1, changes nothing and prints the rollback command;
#   - --allow-destructive-reset resets a counter at the largest u64 as the
#     reference did; without it the refusal stays;
#   - a store in a missing folder is created with its folder ("created folder").
# Item 1 (a write during the run) needs a write at an exact instant: it is
# tested through a FileSystem wrapper in tests/failclosed_backfill_test.cc.
#
#   tests/e2e/failclosed_backfill.sh [BIN]
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary failclosed_backfill.sh "${1:-}" jq sha256sum timeout
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR

# setup: the reference fixtures in $S, the work folder $W, ARGS naming the stores.
setup() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    cutover fixtures "$S"
    ((RC == 0)) || fatal "cutover fixtures failed: $ERR"
    ARGS=(--store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" --store "domain=$S/domain.json"
        --work-dir "$W")
}

# A run killed after it replaced auth: the in-progress manifest (status
# in_progress), auth migrated, the other stores as they were.
killed_run() {
    cp "$S/codex_threads.json" "$TEST_TMP/codex.orig"
    cp "$S/domain.json" "$TEST_TMP/domain.orig"
    cutover backfill "${ARGS[@]}"
    ((RC == 0)) || fatal "backfill failed: $ERR"
    MANIFEST="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    IN_PROGRESS="$MANIFEST.in-progress"
    jq '.status = "in_progress"' "$MANIFEST" >"$IN_PROGRESS"
    rm "$MANIFEST"
    cp "$TEST_TMP/codex.orig" "$S/codex_threads.json"
    cp "$TEST_TMP/domain.orig" "$S/domain.json"
}

test_unfinished_run_refuses_a_new_backfill_until_rolled_back() {
    setup
    killed_run
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json" "$IN_PROGRESS"
    local before
    before="$(find "$W" | sort)"
    cutover backfill "${ARGS[@]}"
    assert_eq 1 "$RC" "exit status of a backfill over an unfinished run"
    assert_contains "$ERR" "cutover rollback $IN_PROGRESS" "stderr names the rollback"
    assert_contains "$ERR" "nothing was changed" "stderr"
    assert_eq "" "$OUT" "stdout"
    assert_file_unchanged "$S/auth.json" "half-migrated auth store"
    assert_file_unchanged "$S/codex_threads.json"
    assert_file_unchanged "$S/domain.json"
    assert_eq "$before" "$(find "$W" | sort)" "the work folder"

    # The command it printed, pasted.
    local command
    command="$(grep -o 'cutover rollback .*' <<<"$ERR" | head -n 1)"
    cutover rollback "${command#cutover rollback }"
    assert_eq 0 "$RC" "the printed rollback: $ERR"
    cutover backfill "${ARGS[@]}"
    assert_eq 0 "$RC" "backfill after the rollback: $ERR"
}

test_failed_run_refuses_a_new_backfill() {
    setup
    cutover backfill "${ARGS[@]}"
    ((RC == 0)) || fatal "backfill failed: $ERR"
    local manifest failed
    manifest="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    failed="$manifest.failed"
    jq '.status = "failed_restored"' "$manifest" >"$failed"
    rm "$manifest"
    cutover backfill "${ARGS[@]}"
    assert_eq 1 "$RC" "exit status of a backfill over a failed run"
    assert_contains "$ERR" "cutover rollback $failed"
}

test_counter_at_the_largest_u64() {
    setup
    printf '{"user_integrations": {"a": {"id": 18446744073709551615}}}' >"$S/domain.json"
    remember_file "$S/domain.json"
    cutover backfill "${ARGS[@]}"
    assert_eq 2 "$RC" "without --allow-destructive-reset"
    assert_contains "$ERR" "no next id exists"
    assert_contains "$ERR" "--allow-destructive-reset"
    assert_file_unchanged "$S/domain.json"

    cutover backfill "${ARGS[@]}" --allow-destructive-reset
    assert_eq 0 "$RC" "with --allow-destructive-reset: $ERR"
    # (grep, not jq: jq reads numbers as doubles)
    assert_contains "$(cat "$S/domain.json")" '"next_user_integration_id": 18446744073709551615' "the counter"
    assert_contains "$OUT" "warning: [domain] destructive reset: counter 'next_user_integration_id'"
}

test_store_in_a_missing_folder_is_created_with_it() {
    setup
    local store="$TEST_TMP/new/data/domain.json"
    cutover backfill --store "domain=$store" --work-dir "$W"
    assert_eq 0 "$RC" "backfill: $ERR"
    assert_contains "$OUT" "created folder $TEST_TMP/new"
    assert_contains "$OUT" "created folder $TEST_TMP/new/data"
    assert_file_exists "$store"
    local manifest
    manifest="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    assert_eq false "$(jq -r '.stores[0].existed' "$manifest")" "existed"
    assert_eq null "$(jq -r '.stores[0].backup_path' "$manifest")" "backup_path"
}

TESTS=(
    test_unfinished_run_refuses_a_new_backfill_until_rolled_back
    test_failed_run_refuses_a_new_backfill
    test_counter_at_the_largest_u64
    test_store_in_a_missing_folder_is_created_with_it
)
for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
    [[ " ${TESTS[*]} " == *" $t "* ]] || { echo "failclosed_backfill.sh: $t is not in TESTS" >&2; exit 1; }
done
for t in "${TESTS[@]}"; do run_test "$t"; done
finish_tests
