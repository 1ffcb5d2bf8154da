#!/usr/bin/env bash
# End-to-end suite for `cutover verify`, `cutover counts` and `cutover
# rollback` (SPEC §4-§5), driving the real binary on real files: a backfill of
# the reference fixtures, then verification, tampering, baselines and
# rollbacks, including from the in-progress manifest a crash leaves.
#
#   tests/e2e/verify_rollback.sh [BIN]
#
# BIN defaults to build/cutover under the repository root. Every test prints
# PASS or FAIL (with the reason for each failed check); the suite ends with
# "N passed, M failed" and exits 1 if any test failed. Needs bash, jq, flock,
# sha256sum, cmp and timeout. No test sleeps: the lock test holds the lock
# itself on a file descriptor while it runs cutover.
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary verify_rollback.sh "${1:-}" jq flock sha256sum cmp timeout
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR

KINDS=(auth codex_threads domain)

# --- helpers --------------------------------------------------------------------

# migrated [EXTRA_ARGS...]: the reference fixtures in $S with pristine copies
# in $ORIG, backfilled into the work folder $W; sets MANIFEST and RUN.
migrated() {
    S="$TEST_TMP/stores"
    ORIG="$TEST_TMP/orig"
    W="$TEST_TMP/work"
    cutover fixtures "$S"
    ((RC == 0)) || fatal "cutover fixtures failed with status $RC: $ERR"
    mkdir -p "$ORIG"
    cp -p "$S"/*.json "$ORIG/"
    cutover backfill --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" \
        --store "domain=$S/domain.json" --work-dir "$W" "$@"
    ((RC == 0)) || fatal "cutover backfill failed with status $RC: $ERR"
    MANIFEST="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ -f "$MANIFEST" ]] || fatal "no manifest named on stdout: $OUT"
    RUN="$(basename "$MANIFEST" .json)"
}

# field STORE JQ_PATH [MANIFEST]: one field of one store's record.
field() { jq -r --arg s "$1" ".stores[] | select(.store == \$s) | $2" "${3:-$MANIFEST}"; }

# edit_manifest JQ_FILTER: rewrites the manifest through jq.
edit_manifest() {
    jq "$1" "$MANIFEST" >"$TEST_TMP/.edited" || fatal "jq $1 failed"
    mv "$TEST_TMP/.edited" "$MANIFEST"
}

# expect_restored: every store is byte-identical to its pre-migration fixture.
expect_restored() {
    local k
    for k in "${KINDS[@]}"; do
        assert_eq "$(sha256_of "$ORIG/$k.json")" "$(sha256_of "$S/$k.json")" "$k sha256 after rollback"
        assert_same_bytes "$ORIG/$k.json" "$S/$k.json" "$k after rollback"
    done
}

# no_temp_files: nothing of ours left beside the stores.
no_temp_files() {
    assert_eq "" "$(find "$S" -name '.*' -type f -print)" "temporary files beside the stores"
}

# baseline JSON_OF_STORES [EXTRA_FIELDS]: writes $TEST_TMP/baseline.json for environment "production".
baseline() {
    printf '{"schema": "cutover.baseline.v1", "environments": {"production": {%s"stores": %s}}}\n' \
        "${2:-}" "$1" >"$TEST_TMP/baseline.json"
}

# --- verify -------------------------------------------------------------------

test_verify_passes_then_names_a_tampered_store() {
    migrated
    cutover verify "$MANIFEST"
    assert_eq 0 "$RC" "verify of a fresh backfill"
    local k
    for k in "${KINDS[@]}"; do assert_contains "$OUT" "ok: [$k] $S/$k.json" "verify output"; done
    assert_match "$(tail -n 1 <<<"$OUT")" '^verify: ok: 3 stores verified' "verdict"

    local expected
    expected="$(field domain .after_sha256)"
    jq '.shouts += [{"id": 99}]' "$S/domain.json" >"$TEST_TMP/tampered" && cp "$TEST_TMP/tampered" "$S/domain.json"
    cutover verify "$MANIFEST"
    assert_eq 1 "$RC" "verify after tampering"
    assert_contains "$OUT" "error: [domain] sha mismatch: $S/domain.json: expected $expected, actual $(sha256_of "$S/domain.json")"
    assert_contains "$OUT" "error: [domain] count drift: shouts: manifest 1, recount 2"
    assert_contains "$OUT" "ok: [auth] $S/auth.json"
    assert_contains "$OUT" "ok: [codex_threads] $S/codex_threads.json"
    assert_not_contains "$OUT" "ok: [domain]"
    assert_match "$(tail -n 1 <<<"$OUT")" '^verify: FAILED: 2 findings in 1 of 3 stores' "verdict"

    # The JSON report says the same.
    cutover verify --json "$MANIFEST"
    assert_eq 1 "$RC" "verify --json after tampering"
    assert_eq "cutover.verify_report.v1" "$(jq -r .schema <<<"$OUT")" "report schema"
    assert_eq "false" "$(jq -r .ok <<<"$OUT")" "report ok"
    assert_eq '["sha_mismatch","count_drift"]' "$(jq -c '[.stores[] | select(.store == "domain") | .findings[].code]' <<<"$OUT")" \
        "domain findings"
    assert_eq "$(sha256_of "$MANIFEST")" "$(jq -r .manifest.sha256 <<<"$OUT")" "report binds the manifest"
}

test_verify_fails_when_rollback_is_unavailable() {
    migrated
    local auth_backup domain_backup
    auth_backup="$(field auth .backup_path)"
    domain_backup="$(field domain .backup_path)"
    rm "$auth_backup"
    printf 'x' >>"$domain_backup"
    cutover verify "$MANIFEST"
    assert_eq 1 "$RC" "verify with a deleted and a corrupted backup"
    assert_contains "$OUT" "error: [auth] backup missing: $auth_backup (rollback unavailable)"
    assert_contains "$OUT" "error: [domain] backup corrupt: $domain_backup: expected before_sha256 $(field domain .before_sha256), actual $(sha256_of "$domain_backup")"
    assert_contains "$OUT" "ok: [codex_threads]"
}

test_verify_refuses_malformed_manifests_with_status_2() {
    migrated
    local bad="$TEST_TMP/bad.json"
    local text
    for text in 'not json' '[]' '{}' \
        '{"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "stores": []}' \
        '{"schema": "other.v1", "generated_at": "x", "stores": [{"store": "auth"}]}'; do
        printf '%s' "$text" >"$bad"
        cutover verify "$bad"
        assert_eq 2 "$RC" "verify of '$text'"
        assert_contains "$ERR" "cutover verify: error:" "stderr for '$text'"
        cutover counts "$bad"
        assert_eq 2 "$RC" "counts of '$text'"
    done
    cutover verify "$TEST_TMP/missing.json"
    assert_eq 2 "$RC" "verify of a missing manifest"
    cutover verify
    assert_eq 2 "$RC" "verify without a manifest"
    cutover verify "$MANIFEST" --previous "$MANIFEST"
    assert_eq 2 "$RC" "--previous without --baseline"
}

test_counts_prints_what_the_runbooks_jq_prints() {
    migrated
    cutover counts "$MANIFEST"
    assert_eq 0 "$RC" "cutover counts"
    "$BIN" counts "$MANIFEST" >"$TEST_TMP/counts.out"
    jq '.stores[] | {store, counts}' "$MANIFEST" >"$TEST_TMP/jq.out" || _e2e_fail "the runbook's jq command failed"
    assert_same_bytes "$TEST_TMP/jq.out" "$TEST_TMP/counts.out" "cutover counts vs jq"

    # Larger numbers, an empty counts object, and names jq has to escape.
    # (sed, not jq: jq 1.6 would itself rewrite 10000000000000000 as 1e+16.)
    edit_manifest '.stores[1].counts = {}'
    sed -i -e 's/"users": 1$/"users": 123456789012345678/' -e 's/"shouts": 1,$/"shouts": 10000000000000000,/' \
        -e 's/"whispers": 1$/"whispers": 120000000000000000/' "$MANIFEST"
    assert_contains "$(cat "$MANIFEST")" '"shouts": 10000000000000000,' "the edited manifest"
    "$BIN" counts "$MANIFEST" >"$TEST_TMP/counts.out"
    jq '.stores[] | {store, counts}' "$MANIFEST" >"$TEST_TMP/jq.out"
    assert_same_bytes "$TEST_TMP/jq.out" "$TEST_TMP/counts.out" "cutover counts vs jq, large and empty counts"
}

test_baseline_bounds_pass() {
    migrated
    baseline '{"auth": {"users": {"exact": 1}, "sessions": {"min": 1}, "personal_access_tokens": {"max": 1}},
               "domain": {"shouts": {"min": 1, "max": 10}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 0 "$RC" "verify against a baseline that holds: $OUT"
    assert_contains "$OUT" "baseline production"
}

test_baseline_bounds_fail() {
    migrated
    baseline '{"auth": {"users": {"exact": 2}, "sessions": {"min": 5}},
               "domain": {"shouts": {"max": 0}, "ghosts": {"min": 0}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 1 "$RC" "verify against a baseline that fails"
    assert_contains "$OUT" "error: [auth] baseline production: users = 1: 1 is not exactly 2"
    assert_contains "$OUT" "error: [auth] baseline production: sessions = 1: 1 is below min 5"
    assert_contains "$OUT" "error: [domain] baseline production: shouts = 1: 1 is above max 0"
    assert_contains "$OUT" "error: [domain] baseline production: count 'ghosts' (min 0) is not in the manifest"

    baseline '{"payments": {"x": {"min": 0}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 1 "$RC" "a baseline store the manifest lacks"
    assert_contains "$OUT" "error: [payments] baseline production: store kind 'payments' is not in the manifest"

    baseline '{"auth": {"users": {"at_least": 1}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 2 "$RC" "a malformed baseline"
    assert_contains "$ERR" "unknown bound 'at_least'"
}

test_baseline_change_against_a_previous_manifest() {
    migrated
    local previous="$TEST_TMP/previous.json"
    jq '(.stores[] | select(.store == "auth") | .counts.users) = 10' "$MANIFEST" >"$previous"
    baseline '{"auth": {"users": {"max_change": 9}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json" --previous "$previous"
    assert_eq 0 "$RC" "a change within max_change: $OUT"

    baseline '{"auth": {"users": {"max_change_percent": 50}}}' '"previous_manifest": "previous.json", '
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 1 "$RC" "a change beyond max_change_percent"
    assert_contains "$OUT" "error: [auth] baseline production: users = 1: changed by 9 (90%) from previous 10 to 1, more than max_change_percent 50%"

    baseline '{"auth": {"users": {"max_change": 1}}}'
    cutover verify "$MANIFEST" --baseline "$TEST_TMP/baseline.json"
    assert_eq 2 "$RC" "a change bound without a previous manifest"
    assert_contains "$ERR" "--previous"
}

test_verify_finds_a_user_store_kinds_spec() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    mkdir -p "$S"
    cat >"$TEST_TMP/payments.json" <<'EOF'
{"schema": "cutover.store_spec.v1", "store": "payments", "operations": [{"op": "ensure_object", "key": "invoices"}],
 "counts": {"invoices": {"kind": "object_len", "key": "invoices"}}}
EOF
    printf '{"invoices": {"i1": {}, "i2": {}}}' >"$S/payments.json"
    cutover backfill --spec "$TEST_TMP/payments.json" --store "payments=$S/payments.json" --work-dir "$W"
    ((RC == 0)) || fatal "backfill with a user spec failed: $ERR"
    MANIFEST="$(sed -n 's/^manifest: //p' <<<"$OUT")"

    cutover verify "$MANIFEST" --spec "$TEST_TMP/payments.json"
    assert_eq 0 "$RC" "verify with --spec: $OUT"
    cutover verify "$MANIFEST"
    assert_eq 0 "$RC" "verify finding the spec through the manifest's spec_source: $OUT"
    mv "$TEST_TMP/payments.json" "$TEST_TMP/moved.json"
    cutover verify "$MANIFEST"
    assert_eq 1 "$RC" "verify without the spec"
    assert_contains "$OUT" "error: [payments] cannot recount: unknown store kind 'payments'"
    assert_contains "$OUT" "--spec FILE"
    cutover verify "$MANIFEST" --spec "$TEST_TMP/moved.json"
    assert_eq 0 "$RC" "verify with the moved spec"
    cutover rollback "$MANIFEST" --spec "$TEST_TMP/moved.json"
    assert_eq 0 "$RC" "rollback with --spec: $ERR"
    assert_eq '{"invoices": {"i1": {}, "i2": {}}}' "$(cat "$S/payments.json")" "the user store after rollback"
}

# --- rollback -----------------------------------------------------------------

test_rollback_restores_the_fixtures_exactly() {
    migrated
    cutover rollback "$MANIFEST"
    assert_eq 0 "$RC" "rollback: $ERR"
    expect_restored
    no_temp_files
    local k
    for k in "${KINDS[@]}"; do
        assert_contains "$OUT" "restored: [$k] $S/$k.json (verified: sha256 $(sha256_of "$ORIG/$k.json") = before_sha256)"
    done
    local report="$W/reports/$RUN-rollback.json"
    assert_file_exists "$report" "rollback report"
    assert_contains "$OUT" "report $report"
    assert_eq "cutover.rollback_report.v1" "$(jq -r .schema "$report")" "report schema"
    assert_eq "true" "$(jq -r .ok "$report")" "report ok"
    assert_eq '["restored","restored","restored"]' "$(jq -c '[.stores[].action]' "$report")" "actions"
    assert_eq "$(sha256_of "$ORIG/auth.json")" "$(jq -r '.stores[] | select(.store == "auth") | .final_sha256' "$report")" \
        "auth final_sha256 in the report"
    # The rollback report does not disturb the harness's manifest glob.
    assert_eq "manifests/$RUN.json" "$(cd "$W" && ls -1 manifests/*.json | sort | tail -n 1)" "newest manifest"

    # --json prints the same kind of report on stdout; the second run finds nothing to do.
    cutover rollback --json "$MANIFEST"
    assert_eq 0 "$RC" "second rollback"
    assert_eq '["already_at_before","already_at_before","already_at_before"]' "$(jq -c '[.stores[].action]' <<<"$OUT")" \
        "actions of the second rollback"
    assert_eq "$W/reports/$RUN-rollback-2.json" "$(jq -r .report_path <<<"$OUT")" "second report"
    assert_file_exists "$report" "the first report stays"
    expect_restored
}

test_drift_is_refused_and_files_stay_unchanged() {
    migrated
    jq '.threads["thread-2"] = {"id": "thread-2"}' "$S/codex_threads.json" >"$TEST_TMP/drift" &&
        cp "$TEST_TMP/drift" "$S/codex_threads.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover rollback "$MANIFEST"
    assert_eq 1 "$RC" "rollback of a drifted store"
    assert_contains "$ERR" "[codex_threads] $S/codex_threads.json has drifted: it hashes to $(sha256_of "$S/codex_threads.json")"
    assert_contains "$ERR" "--force"
    assert_not_contains "$ERR" "[auth]"
    local f
    for f in "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"; do assert_file_unchanged "$f"; done
    no_temp_files
    [[ -e "$W/reports" ]] && _e2e_fail "a refused rollback wrote a report"
    assert_eq "" "$OUT" "stdout of a refused rollback"
}

test_force_keeps_the_drifted_bytes() {
    migrated
    jq '.threads["thread-2"] = {"id": "thread-2"}' "$S/codex_threads.json" >"$TEST_TMP/drift" &&
        cp "$TEST_TMP/drift" "$S/codex_threads.json"
    cp "$S/codex_threads.json" "$TEST_TMP/drifted-copy"
    cutover rollback --force "$MANIFEST"
    assert_eq 0 "$RC" "rollback --force: $ERR"
    expect_restored
    local saved
    saved="$(jq -r '.stores[] | select(.store == "codex_threads") | .saved_path' "$W/reports/$RUN-rollback.json")"
    assert_match "$saved" "^$W/backups/$RUN/codex_threads-drift-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}\\.json\$" "drift copy name"
    assert_same_bytes "$TEST_TMP/drifted-copy" "$saved" "the drifted bytes kept"
    assert_contains "$OUT" "restored: [codex_threads] $S/codex_threads.json after drift; its bytes are saved in $saved"
}

test_a_created_store_is_moved_aside() {
    migrated --store "auth=$TEST_TMP/stores/new-auth.json"
    local created="$S/new-auth.json"
    assert_file_exists "$created" "the store the backfill created"
    cp "$created" "$TEST_TMP/created-copy"
    cutover rollback "$MANIFEST"
    assert_eq 0 "$RC" "rollback: $ERR"
    assert_no_path "$created" "the created store after rollback"
    local aside="$W/backups/$RUN/auth-created-$(sha256_of "$TEST_TMP/created-copy" | cut -c1-12).json"
    assert_same_bytes "$TEST_TMP/created-copy" "$aside" "the moved-aside store"
    assert_contains "$OUT" "moved aside: [auth] $created -> $aside"
    expect_restored
}

test_rollback_refuses_malformed_manifests_and_traversal() {
    migrated
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    local pristine="$TEST_TMP/manifest.orig"
    cp "$MANIFEST" "$pristine"
    local text
    for text in '' 'not json' '{"schema": "openagents.rust_store_migration.v1", "generated_at": "x"}' \
        '{"schema": "openagents.rust_store_migration.v1", "generated_at": "x", "stores": []}'; do
        printf '%s' "$text" >"$MANIFEST"
        cutover rollback "$MANIFEST"
        assert_eq 2 "$RC" "rollback of '$text'"
        assert_contains "$ERR" "rollback refused" "stderr for '$text'"
    done

    printf '{}' >"$TEST_TMP/outside.json"
    ln -s "$TEST_TMP/outside.json" "$S/link.json"
    local filter
    for filter in \
        ".stores[0].path = \"$S/../stores/auth.json\"" \
        ".stores[0].path = \"$S/link.json\"" \
        ".stores[1].backup_path = \"$TEST_TMP/outside.json\"" \
        ".stores[2].backup_path = \"$W/backups/../../outside.json\""; do
        cp "$pristine" "$MANIFEST"
        edit_manifest "$filter"
        cutover rollback "$MANIFEST"
        assert_eq 2 "$RC" "rollback with $filter"
        assert_contains "$ERR" "outside the folders it was written for" "stderr with $filter"
        cutover verify "$MANIFEST"
        assert_eq 1 "$RC" "verify with $filter"
        assert_contains "$OUT" "unsafe" "verify output with $filter"
    done
    local f
    for f in "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"; do assert_file_unchanged "$f"; done
    assert_eq "{}" "$(cat "$TEST_TMP/outside.json")" "the file outside"
    no_temp_files
}

test_rollback_finishes_from_an_in_progress_manifest() {
    migrated
    # The crash: the in-progress manifest, the final one not yet written, the
    # domain store not yet replaced, and its temporary file left behind.
    local in_progress="$MANIFEST.in-progress"
    jq '.status = "in_progress"' "$MANIFEST" >"$in_progress"
    rm "$MANIFEST"
    cp "$(field domain .backup_path "$in_progress")" "$S/domain.json"
    local temp="$S/.domain.json.cutover-$RUN.tmp"
    printf 'half' >"$temp"

    cutover verify "$in_progress"
    assert_eq 1 "$RC" "verify of an in-progress manifest"
    assert_contains "$OUT" "manifest status is 'in_progress'"

    cutover rollback "$in_progress"
    assert_eq 0 "$RC" "rollback from the in-progress manifest: $ERR"
    expect_restored
    assert_no_path "$temp" "the leftover temporary file"
    assert_contains "$OUT" "removed leftover temporary file: $temp"
    assert_contains "$OUT" "restored: [auth]"
    assert_contains "$OUT" "already rolled back: [domain]"
    no_temp_files
}

test_rollback_refuses_while_the_lock_is_held() {
    migrated
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    exec 9>>"$W/.cutover.lock"
    flock -n 9 || fatal "cannot take the lock for the test"
    cutover rollback "$MANIFEST"
    assert_eq 1 "$RC" "rollback while the work folder is locked"
    assert_contains "$ERR" "locked by another cutover run"
    exec 9>&-
    local f
    for f in "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"; do assert_file_unchanged "$f"; done

    # A store folder locked (a backfill of other stores in the same folder).
    exec 8<"$S"
    flock -n 8 || fatal "cannot lock the stores folder"
    cutover rollback "$MANIFEST"
    assert_eq 1 "$RC" "rollback while the store folder is locked"
    exec 8<&-
    for f in "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"; do assert_file_unchanged "$f"; done

    cutover rollback "$MANIFEST"
    assert_eq 0 "$RC" "rollback once the locks are released"
    expect_restored
}

test_verify_after_rollback_reports_rolled_back_stores() {
    migrated
    cutover rollback "$MANIFEST"
    assert_eq 0 "$RC" "rollback"
    cutover verify "$MANIFEST"
    assert_eq 1 "$RC" "verify after rollback"
    assert_contains "$OUT" "error: [auth] sha mismatch"
    assert_contains "$OUT" "looks rolled back"
}

# --- hostile manifests (issue 7) ------------------------------------------------

# snapshot: every file under the stores and work folders, with its hash.
snapshot() { find "$S" "$W" -type f -print0 | sort -z | xargs -0 sha256sum; }

# splice_huge LINE_REGEX PREFIX SUFFIX OUT: the manifest with its first line
# matching LINE_REGEX replaced by PREFIX, 50 MiB of 'a', SUFFIX.
splice_huge() {
    local n
    n="$(grep -n -m 1 -E -- "$1" "$MANIFEST" | cut -d: -f1)"
    [[ -n "$n" ]] || fatal "no line matches $1 in the manifest"
    {
        head -n $((n - 1)) "$MANIFEST"
        printf '%s' "$2"
        head -c 52428800 /dev/zero | tr '\0' a
        printf '%s\n' "$3"
        tail -n +$((n + 1)) "$MANIFEST"
    } >"$4"
}

test_hostile_manifests_are_refused_and_nothing_is_written() {
    migrated
    local dir="$TEST_TMP/hostile"
    mkdir -p "$dir"
    # Invalid UTF-8: a 0xFF byte, an overlong '/', a UTF-8-encoded surrogate, a lone surrogate escape.
    sed 's/"tool": "cutover/"tool": "cut\xffover/' "$MANIFEST" >"$dir/utf8_ff.json"
    sed '0,/"store": "auth"/s//"store": "au\xc0\xafth"/' "$MANIFEST" >"$dir/utf8_overlong.json"
    sed '0,/"users"/s//"us\xed\xa0\x80ers"/' "$MANIFEST" >"$dir/utf8_surrogate.json"
    sed '0,/"run_id": "/s//"run_id": "\\ud800/' "$MANIFEST" >"$dir/utf8_lone_escape.json"
    # Counts out of range, negative, or not whole.
    local count
    for count in 1e400:out_of_range -1:negative 18446744073709551616:u64_max_plus_1 1.5:fraction -0:negative_zero; do
        sed -E "0,/(\"users\": )[0-9]+/s//\\1${count%%:*}/" "$MANIFEST" >"$dir/count_${count#*:}.json"
    done
    # 10000 levels of nesting, in an extra field and as a count.
    local deep i
    deep="$(head -c 10000 /dev/zero | tr '\0' '[')$(head -c 10000 /dev/zero | tr '\0' ']')"
    sed "1s/^{\$/{\"note\": $deep,/" "$MANIFEST" >"$dir/deep_arrays.json"
    deep="$(for ((i = 0; i < 10000; i++)); do printf '{"a":'; done)1$(head -c 10000 /dev/zero | tr '\0' '}')"
    sed "0,/\"counts\": {/s//\"counts\": {\"x\": $deep,/" "$MANIFEST" >"$dir/deep_objects.json"
    # 50 MiB strings where verify and rollback would quote them.
    splice_huge '^  "run_id": ' '  "run_id": "' '",' "$dir/huge_run_id.json"
    splice_huge '^      "path": ' '      "path": "/' '",' "$dir/huge_path.json"
    splice_huge '^      "backup_path": ' '      "backup_path": "/' '",' "$dir/huge_backup_path.json"
    splice_huge '^  "work_dir": ' '  "work_dir": "/' '"' "$dir/huge_work_dir.json"
    splice_huge '^  "status": ' '  "status": "' '",' "$dir/huge_status.json"
    splice_huge '^        "users": ' '        "' '": 1' "$dir/huge_count_name.json"

    local before f name
    before="$(snapshot)"
    for f in "$dir"/*.json; do
        name="$(basename "$f")"
        cmp -s "$f" "$MANIFEST" && _e2e_fail "$name is the manifest unchanged; the case tests nothing"
        cutover verify "$f"
        assert_eq 2 "$RC" "verify of $name"
        ((${#ERR} < 1024 && ${#OUT} == 0)) || _e2e_fail "verify of $name printed ${#ERR} + ${#OUT} bytes"
        assert_contains "${ERR:0:1024}" "cutover verify: error: manifest $f" "verify stderr for $name"
        cutover rollback "$f"
        assert_eq 2 "$RC" "rollback of $name"
        ((${#ERR} < 1024 && ${#OUT} == 0)) || _e2e_fail "rollback of $name printed ${#ERR} + ${#OUT} bytes"
        assert_contains "${ERR:0:1024}" "rollback refused, nothing was changed: manifest $f" "rollback stderr for $name"
        assert_eq "$before" "$(snapshot)" "the stores and work folder after $name"
    done
    assert_contains "$(cutover verify "$dir/huge_path.json"; echo "$ERR")" "stores[0].path is 52428801 bytes long (at most 4096)"
    assert_contains "$(cutover verify "$dir/count_out_of_range.json"; echo "$ERR")" "number out of range"
    assert_contains "$(cutover verify "$dir/count_u64_max_plus_1.json"; echo "$ERR")" \
        "stores[0].counts.users must be a non-negative integer"
    assert_contains "$(cutover verify "$dir/deep_arrays.json"; echo "$ERR")" "recursion limit exceeded"
    assert_contains "$(cutover verify "$dir/utf8_ff.json"; echo "$ERR")" "invalid unicode code point"
    [[ -e "$W/reports" ]] && _e2e_fail "a refused manifest left a report"
    no_temp_files
}

# Values quoted from a manifest reach the terminal with their control
# characters written as \xNN (docs/RELIABILITY.md, finding 9).
test_control_characters_from_a_manifest_are_escaped_in_refusals() {
    migrated
    local f="$TEST_TMP/control.json" cmd
    jq '.run_id = "\u001b[31mRED\u0007" | .stores[0].store = "k\u001b[2J\r"' "$MANIFEST" >"$f"
    for cmd in verify rollback; do
        cutover "$cmd" "$f"
        assert_eq 2 "$RC" "$cmd of a manifest with control characters"
        assert_contains "$ERR" "run_id '\\x1b[31mRED\\x07' is not a plain name" "$cmd stderr"
        assert_contains "$ERR" "stores[0].store 'k\\x1b[2J\\x0d' is not a plain name" "$cmd stderr"
        case "$ERR" in
        *$'\x1b'* | *$'\a'* | *$'\r'*) _e2e_fail "$cmd wrote a control character to the terminal: $(printf '%s' "$ERR" | od -c | head -3)" ;;
        esac
    done
}

# An I/O error reading the manifest is exit 3 for every command that reads one
# (README, exit codes). A sysfs attribute is a real file whose stat() size
# (a page) is more than a read returns: reading it fails as an I/O error
# ("shrank while reading"), with no fault injection. Skipped where no such
# file exists (no /sys).
test_an_io_error_reading_the_manifest_is_exit_3() {
    local f unreadable=""
    for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/profiling /sys/power/state /sys/kernel/uevent_seqnum; do
        if [[ -f "$f" && -r "$f" && "$(stat -c %s "$f")" -gt "$(wc -c <"$f")" ]]; then
            unreadable="$f"
            break
        fi
    done
    if [[ -z "$unreadable" ]]; then
        echo "    (skipped: no sysfs file here whose read is shorter than its size)"
        return
    fi
    cutover verify "$unreadable"
    assert_eq 3 "$RC" "verify"
    assert_contains "$ERR" "cannot read $unreadable" "verify stderr"
    cutover rollback "$unreadable"
    assert_eq 3 "$RC" "rollback"
    assert_contains "$ERR" "rollback refused, nothing was changed: manifest: cannot read" "rollback stderr"
    cutover counts "$unreadable"
    assert_eq 3 "$RC" "counts"
    cutover evidence collect --manifest "$unreadable" --out "$TEST_TMP/bundle"
    assert_eq 3 "$RC" "evidence collect"
    assert_contains "$ERR" "cannot read $unreadable" "evidence collect stderr"
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    run_test "$t"
done
finish_tests
