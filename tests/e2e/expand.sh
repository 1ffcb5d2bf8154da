#!/usr/bin/env bash
# End-to-end suite for issue 17, "Readers of both shapes": `cutover expand
# check` runs the new release's reader on the pre-migration and the migrated
# shape of every store, in a private scratch folder, and writes a report.
#
#   tests/e2e/expand.sh [BIN]
#
# The readers are small sh scripts written by each test. Needs bash, jq,
# sha256sum.
# shellcheck disable=SC2317
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary expand.sh "${1:-}" jq sha256sum
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR

# cutover ARGS...: runs the binary with no standard input; sets RC, OUT, ERR.
# Its scratch folders go under $TEST_TMP/tmp, so a test can see them removed.
cutover() {
    mkdir -p "$TEST_TMP/.io" "$TEST_TMP/tmp"
    TMPDIR="$TEST_TMP/tmp" timeout 60 "$BIN" "$@" >"$TEST_TMP/.io/out" 2>"$TEST_TMP/.io/err" </dev/null
    RC=$?
    OUT="$(cat "$TEST_TMP/.io/out")"
    ERR="$(cat "$TEST_TMP/.io/err")"
}

# A reader of the new release: refuses a store that is not a JSON object,
# and (with REJECT=pre|migrated) one shape, told apart by a key only the
# migrated auth store has.
write_reader() {
    cat >reader.sh <<'SH'
#!/bin/sh
f="$1"
case "$(head -c 1 "$f")" in "{") ;; *) echo "reader: $f is not a JSON object" >&2; exit 2;; esac
if grep -q personal_access_tokens "$f"; then shape=migrated; else shape=pre; fi
echo "read $shape"
if [ "${REJECT:-}" = "$shape" ]; then
    echo "reader: loading store" >&2
    echo "reader: unsupported $shape store layout" >&2
    exit 5
fi
exit 0
SH
    chmod +x reader.sh
}

seed_stores() {
    mkdir -p stores
    printf '%s' '{"sessions": {"s1": {"user": "u1"}}, "users_by_id": {"u1": {}}}' >stores/auth.json
    printf '%s' '{"threads": {"t1": {"id": 3}}}' >stores/threads.json
    remember_file stores/auth.json stores/threads.json
}

test_a_reader_of_both_shapes_passes_and_reports() {
    write_reader
    seed_stores
    cutover expand check --reader "./reader.sh {}" --store auth=stores/auth.json \
        --store codex_threads=stores/threads.json --out report.json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    assert_contains "$OUT" "expand check: passed"
    assert_eq "cutover.expand_report.v1" "$(jq -r .format report.json)" "format"
    assert_eq true "$(jq -r .ok report.json)" "ok"
    assert_eq "$TEST_TMP/reader.sh" "$(jq -r .reader.executable report.json)" "executable"
    assert_eq "$(sha256_of reader.sh)" "$(jq -r .reader.sha256 report.json)" "executable sha256"
    assert_eq '["./reader.sh","{}"]' "$(jq -c .reader.command report.json)" "command"
    assert_eq 60000 "$(jq -r .timeout_ms report.json)" "default timeout"
    assert_match "$(jq -r .created_at report.json)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "created_at"
    assert_eq "auth codex_threads" "$(jq -r '[.stores[].name] | join(" ")' report.json)" "stores"
    assert_eq "$(sha256_of stores/auth.json)" "$(jq -r '.stores[0].sha256_before' report.json)" "sha256_before"
    assert_eq "$(sha256_of stores/auth.json)" "$(jq -r '.stores[0].sha256_after' report.json)" "sha256_after"
    assert_eq "$(sha256_of stores/auth.json)" "$(jq -r '.stores[0].pre_sha256' report.json)" "pre_sha256"
    assert_eq "pre migrated pre migrated" "$(jq -r '[.stores[].runs[].shape] | join(" ")' report.json)" "runs"
    assert_eq "$(printf 'read pre\n' | sha256sum | cut -d' ' -f1)" "$(jq -r '.stores[0].runs[0].stdout_sha256' report.json)" "stdout digest"
    assert_eq "0 0 0 0" "$(jq -r '[.stores[].runs[].exit_status] | map(tostring) | join(" ")' report.json)" "exit statuses"
    assert_file_unchanged stores/auth.json
    assert_file_unchanged stores/threads.json
    assert_eq "" "$(ls -A tmp)" "scratch folders removed"
    local f extra=()
    for f in stores/* stores/.*; do
        case "${f#stores/}" in . | .. | auth.json | threads.json | '.*') ;; *) extra+=("$f") ;; esac
    done
    assert_eq "" "${extra[*]}" "nothing written beside the stores"
    # The migrated shape is what backfill then writes.
    cutover backfill --store auth=stores/auth.json --work-dir work
    assert_eq 0 "$RC" "backfill (stderr: $ERR)"
    assert_eq "$(sha256_of stores/auth.json)" "$(jq -r '.stores[0].migrated_sha256' report.json)" "migrated shape = backfill's bytes"
}

test_a_reader_rejecting_the_migrated_shape_fails_naming_it() {
    write_reader
    seed_stores
    REJECT=migrated cutover expand check --reader "./reader.sh" --store auth=stores/auth.json --out report.json
    assert_eq 1 "$RC" "exit status"
    assert_contains "$OUT" "FAILED: store auth ($TEST_TMP/stores/auth.json), shape migrated: the reader exited with status 5"
    assert_contains "$OUT" "reader: unsupported migrated store layout"
    assert_contains "$OUT" "expand check: FAILED"
    assert_eq false "$(jq -r .ok report.json)" "ok"
    assert_eq "true false" "$(jq -r '[.stores[0].runs[].ok] | map(tostring) | join(" ")' report.json)" "runs ok"
    assert_eq $'reader: loading store\nreader: unsupported migrated store layout' \
        "$(jq -r '.stores[0].runs[1].stderr_tail' report.json)" "stderr tail"
    assert_file_unchanged stores/auth.json
}

test_a_reader_rejecting_the_pre_shape_fails_naming_it() {
    write_reader
    seed_stores
    REJECT=pre cutover expand check --reader "./reader.sh" --store auth=stores/auth.json --json
    assert_eq 1 "$RC" "exit status"
    assert_eq false "$(jq -r .ok <<<"$OUT")" "ok in --json output"
    assert_contains "$ERR" "shape pre: the reader exited with status 5"
    assert_contains "$ERR" "reader: unsupported pre store layout"
}

test_a_hanging_reader_is_killed_at_the_timeout() {
    seed_stores
    cutover expand check --reader "sh -c 'echo started; sleep 1000'" --store auth=stores/auth.json \
        --timeout 0.3 --out report.json
    assert_eq 1 "$RC" "exit status"
    assert_contains "$OUT" "shape pre: the reader did not finish within the timeout (300 ms) and was killed"
    assert_eq 300 "$(jq -r .timeout_ms report.json)" "timeout_ms"
    assert_eq "true true" "$(jq -r '[.stores[0].runs[].timed_out] | map(tostring) | join(" ")' report.json)" "timed_out"
    assert_eq "SIGKILL SIGKILL" "$(jq -r '[.stores[0].runs[].signal] | join(" ")' report.json)" "signal"
    assert_eq "null" "$(jq -c '.stores[0].runs[0].exit_status' report.json)" "exit_status"
    assert_eq "" "$(ls -A tmp)" "scratch folders removed"
}

test_a_reader_writing_its_input_cannot_change_the_real_store() {
    seed_stores
    cutover expand check --reader "sh -c 'echo garbage > \"\$1\"' sh {}" --store auth=stores/auth.json --out report.json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    assert_file_unchanged stores/auth.json
    assert_eq "$(sha256_of stores/auth.json)" "$(jq -r '.stores[0].sha256_after' report.json)" "sha256_after"
    assert_eq "$(jq -r '.stores[0].sha256_before' report.json)" "$(jq -r '.stores[0].sha256_after' report.json)" "before = after"
    assert_eq "true true" "$(jq -r '[.stores[0].runs[].input_modified] | map(tostring) | join(" ")' report.json)" "input_modified"
}

test_a_missing_store_is_tested_as_empty_and_migrated() {
    write_reader
    cutover expand check --reader "sh -c 'cat \"\$1\" >>seen.log; echo >>seen.log; ./reader.sh \"\$1\"' sh {}" \
        --store auth=nowhere/auth.json --out report.json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    assert_eq "{}" "$(head -n 1 seen.log)" "pre shape of a missing store"
    assert_contains "$(cat seen.log)" '"personal_access_tokens": {}' "migrated shape of a missing store"
    assert_eq "false null null" "$(jq -r '.stores[0] | [.existed, .sha256_before, .sha256_after] | map(tostring) | join(" ")' report.json)" "missing store"
    assert_eq "$(printf '{}' | sha256sum | cut -d' ' -f1)" "$(jq -r '.stores[0].pre_sha256' report.json)" "pre_sha256"
    assert_no_path nowhere "the missing store's folder"
}

test_stores_come_from_the_environment() {
    write_reader
    seed_stores
    AUTH_STORE_PATH="$TEST_TMP/stores/auth.json" cutover expand check --reader ./reader.sh --json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    assert_eq "auth" "$(jq -r '[.stores[].name] | join(" ")' <<<"$OUT")" "stores from AUTH_STORE_PATH"
}

test_usage_errors_exit_2() {
    seed_stores
    cutover expand check --store auth=stores/auth.json
    assert_eq 2 "$RC" "no --reader"
    cutover expand check --reader "./reader.sh 'open" --store auth=stores/auth.json
    assert_eq 2 "$RC" "unterminated quote"
    assert_contains "$ERR" "--reader: a single quote is not closed"
    cutover expand check --reader no-such-reader-for-cutover --store auth=stores/auth.json
    assert_eq 2 "$RC" "reader not on PATH (stderr: $ERR)"
    assert_contains "$ERR" "no-such-reader-for-cutover"
    cutover expand check --reader true --store auth=stores/auth.json --timeout 0
    assert_eq 2 "$RC" "zero timeout"
    cutover expand check --reader true
    assert_eq 2 "$RC" "no store"
    printf '{broken' >stores/bad.json
    cutover expand check --reader true --store auth=stores/bad.json --out report.json
    assert_eq 2 "$RC" "a store backfill would refuse"
    assert_contains "$ERR" "not valid JSON"
    assert_no_path report.json "report of a check that did not run"
}

run_test test_a_reader_of_both_shapes_passes_and_reports
run_test test_a_reader_rejecting_the_migrated_shape_fails_naming_it
run_test test_a_reader_rejecting_the_pre_shape_fails_naming_it
run_test test_a_hanging_reader_is_killed_at_the_timeout
run_test test_a_reader_writing_its_input_cannot_change_the_real_store
run_test test_a_missing_store_is_tested_as_empty_and_migrated
run_test test_stores_come_from_the_environment
run_test test_usage_errors_exit_2
finish_tests
