#!/usr/bin/env bash
# End-to-end suite for `cutover backfill` (SPEC §1-§3, §8) and
# `cutover canonicalize` (SPEC §2), driving the real binary on real files.
#
#   tests/e2e/backfill.sh [BIN]
#
# BIN defaults to build/cutover under the repository root. Every test prints
# PASS or FAIL (with the reason for each failed check); the suite ends with
# "N passed, M failed" and exits 1 if any test failed. Needs bash, jq, flock,
# sha256sum, stat and timeout. No test sleeps: the concurrent-run tests hold
# the lock themselves on a file descriptor while they run cutover.
#
# The tests run indirectly (run_test "$name"), in a subshell that sets TEST_TMP.
# shellcheck disable=SC2317,SC2031
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary backfill.sh "${1:-}" jq flock sha256sum stat timeout cmp
# The caller's environment must not choose stores or work folders for us.
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR

KINDS=(auth codex_threads domain)
HEX64='^[0-9a-f]{64}$'
RUN_ID='^[0-9]{8}T[0-9]{6}Z$'

# --- helpers --------------------------------------------------------------------

# cutover_closing_fd FD ARGS...: like cutover, but the file descriptor FD
# (a lock the test's shell holds) is closed in the child, so only the test
# holds that lock while cutover runs.
cutover_closing_fd() {
    local fd="$1"
    shift
    [[ "$fd" =~ ^[0-9]+$ ]] || fatal "cutover_closing_fd: bad descriptor '$fd' (test bug)"
    mkdir -p "$TEST_TMP/.io"
    (
        eval "exec $fd>&-"
        exec timeout 20 "$BIN" "$@"
    ) >"$TEST_TMP/.io/out" 2>"$TEST_TMP/.io/err" </dev/null
    RC=$?
    OUT="$(cat "$TEST_TMP/.io/out")"
    ERR="$(cat "$TEST_TMP/.io/err")"
}

# setup_fixtures: the reference fixtures in $S (the stores), pristine copies in
# $ORIG, the work folder $W (not created), and FIXTURE_ARGS naming the three.
setup_fixtures() {
    S="$TEST_TMP/stores"
    ORIG="$TEST_TMP/orig"
    W="$TEST_TMP/work"
    cutover fixtures "$S"
    ((RC == 0)) || fatal "cutover fixtures $S failed with status $RC: $ERR"
    mkdir -p "$ORIG"
    local k
    for k in "${KINDS[@]}"; do
        [[ -f "$S/$k.json" ]] || fatal "cutover fixtures did not write $S/$k.json"
        cp -p "$S/$k.json" "$ORIG/$k.json"
    done
    FIXTURE_ARGS=(--store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json"
        --store "domain=$S/domain.json")
}

# manifest_of_output: the path after "manifest: " in the last run's stdout.
manifest_of_output() { sed -n 's/^manifest: //p' <<<"$OUT"; }
backups_of_output() { sed -n 's/^backups: //p' <<<"$OUT"; }

# backfill_ok ARGS...: runs backfill, requires success, sets MANIFEST.
backfill_ok() {
    cutover backfill "$@"
    ((RC == 0)) || fatal "cutover backfill $* failed with status $RC: $ERR"
    MANIFEST="$(manifest_of_output)"
    [[ -n "$MANIFEST" && -f "$MANIFEST" ]] || fatal "no manifest file named on stdout: $OUT"
}

# field MANIFEST STORE JQ_PATH: one field of one store's record, as jq -r prints it.
field() {
    jq -r --arg s "$2" ".stores[] | select(.store == \$s) | $3" "$1"
}

# latest_manifest WORK: the newest manifest as the reference harness finds it.
# shellcheck disable=SC2012 # this is the reference harness's own command
latest_manifest() {
    (cd "$1" && ls -1 manifests/*.json | sort | tail -n 1)
}

# work_files WORK: every file a run left in the work folder, except the lock.
work_files() {
    [[ -d "$1" ]] || return 0
    find "$1" -type f ! -name .cutover.lock | sort
}

# expect_refusal RC NEEDLE...: the last run exited with RC, its stderr holds
# every NEEDLE and its stdout is empty, and it wrote nothing: every file given
# to remember_file is byte-identical, the work folder holds no manifest or
# backup, and no temporary file is left anywhere in the test folder.
expect_refusal() {
    local want="$1" needle f
    shift
    assert_eq "$want" "$RC" "exit status"
    for needle in "$@"; do assert_contains "$ERR" "$needle" "stderr"; done
    assert_eq "" "$OUT" "stdout of a refused run"
    for f in "${!E2E_SHA[@]}"; do assert_file_unchanged "$f" "store after a refused run"; done
    assert_eq "" "$(work_files "$W")" "files written to the work folder by a refused run"
    assert_eq "" "$(find "$TEST_TMP" \( -name '*.tmp' -o -name '*.bak.json' -o -name '*.in-progress' \) -print)" \
        "temporary files or backups left by a refused run"
}

# --- the reference run ------------------------------------------------------------

test_reference_fixtures_manifest_and_backups() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    local before after
    before="$(date -u +%Y%m%dT%H%M%SZ)"
    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    after="$(date -u +%Y%m%dT%H%M%SZ)"

    # stdout names the manifest and the backups; the manifest is WORK/manifests/<UTC>.json
    local run_id backups
    run_id="$(basename "$MANIFEST" .json)"
    backups="$(backups_of_output)"
    assert_match "$run_id" "$RUN_ID" "manifest name"
    assert_eq "$W/manifests/$run_id.json" "$MANIFEST" "manifest path"
    [[ ! "$run_id" < "$before" && ! "$run_id" > "$after" ]] ||
        _e2e_fail "run id $run_id is not the UTC second of the run (between $before and $after)"
    assert_eq "$W/backups/$run_id" "$backups" "backups folder on stdout"
    [[ -d "$backups" ]] || _e2e_fail "backups folder $backups does not exist"
    assert_eq "manifests/$run_id.json" "$(latest_manifest "$W")" "the manifest the harness finds"

    # the manifest
    assert_eq "openagents.rust_store_migration.v1" "$(jq -r .schema "$MANIFEST")" "schema"
    assert_match "$(jq -r .generated_at "$MANIFEST")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
        "generated_at (RFC 3339)"
    assert_eq "3" "$(jq '.stores | length' "$MANIFEST")" "number of stores"
    local runbook
    runbook="$(jq '.stores[] | {store, counts}' "$MANIFEST")" || _e2e_fail "the runbook's jq command failed"
    assert_contains "$runbook" '"store": "domain"' "the runbook's jq output"
    assert_eq '{"personal_access_tokens":1,"sessions":1,"users":1}' "$(field "$MANIFEST" auth '.counts' | jq -cS .)" "auth counts"
    assert_eq '{"messages":1,"threads":1}' "$(field "$MANIFEST" codex_threads '.counts' | jq -cS .)" "codex_threads counts"
    assert_eq '{"autopilots":0,"integrations":1,"l402_paywalls":0,"shouts":1,"whispers":1}' \
        "$(field "$MANIFEST" domain '.counts' | jq -cS .)" "domain counts"

    local k after_sha before_sha backup
    for k in "${KINDS[@]}"; do
        assert_eq "$S/$k.json" "$(field "$MANIFEST" "$k" .path)" "$k path"
        assert_eq "true" "$(field "$MANIFEST" "$k" .existed)" "$k existed"
        assert_eq "true" "$(field "$MANIFEST" "$k" .changed)" "$k changed (the fixtures are not canonical)"
        after_sha="$(field "$MANIFEST" "$k" .after_sha256)"
        before_sha="$(field "$MANIFEST" "$k" .before_sha256)"
        assert_match "$after_sha" "$HEX64" "$k after_sha256"
        assert_eq "$(sha256_of "$S/$k.json")" "$after_sha" "$k after_sha256 vs sha256sum of the store"
        assert_eq "$(sha256_of "$ORIG/$k.json")" "$before_sha" "$k before_sha256 vs sha256sum of the fixture"
        backup="$(field "$MANIFEST" "$k" .backup_path)"
        assert_eq "$backups/$k-$run_id-${before_sha:0:12}.bak.json" "$backup" "$k backup path"
        assert_file_exists "$backup" "$k backup"
        assert_eq "$before_sha" "$(sha256_of "$backup")" "$k backup sha256 vs before_sha256"
        assert_same_bytes "$ORIG/$k.json" "$backup" "$k backup bytes vs the original fixture"
    done
    assert_eq "" "$(find "$TEST_TMP" \( -name '*.tmp' -o -name '*.in-progress' \) -print)" "temporary files left behind"
}

test_migrated_fixtures_have_current_schema() {
    setup_fixtures
    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    local key
    for key in challenges sessions access_index refresh_index revoked_refresh_tokens revoked_refresh_token_ids \
        users_by_id users_by_email users_by_workos_id personal_access_tokens; do
        assert_eq object "$(jq -r --arg k "$key" '.[$k] | type' "$S/auth.json")" "auth.$key"
    done
    assert_eq '"user-1"' "$(jq -c '.users_by_id | keys[0]' "$S/auth.json")" "auth users kept"
    assert_eq object "$(jq -r '.threads | type' "$S/codex_threads.json")" "codex_threads.threads"
    assert_eq "hello" "$(jq -r '.messages_by_thread["thread-1"][0].text' "$S/codex_threads.json")" "codex message kept"
    for key in autopilots autopilot_profiles autopilot_policies autopilot_runtime_bindings runtime_driver_overrides \
        l402_credentials l402_paywalls user_spark_wallets user_integrations comms_webhook_events \
        comms_delivery_projections; do
        assert_eq object "$(jq -r --arg k "$key" '.[$k] | type' "$S/domain.json")" "domain.$key"
    done
    for key in user_integration_audits shouts whispers; do
        assert_eq array "$(jq -r --arg k "$key" '.[$k] | type' "$S/domain.json")" "domain.$key"
    done
    # counter <- 1 + the largest id of its collection (ids 1..6 in the fixture)
    assert_eq "2 3 4 5 6 7" "$(jq -r '[.next_user_integration_id, .next_user_integration_audit_id,
        .next_comms_webhook_event_id, .next_comms_delivery_projection_id, .next_shout_id, .next_whisper_id]
        | map(tostring) | join(" ")' "$S/domain.json")" "domain counters"
    # canonical: keys sorted, two-space indent, no trailing newline
    assert_eq "$(jq -S . "$S/domain.json")" "$(cat "$S/domain.json")" "domain store is pretty-printed with sorted keys"
    assert_ne "0a" "$(tail -c 1 "$S/domain.json" | od -An -tx1 | tr -d ' ')" "last byte of the store (no trailing newline)"
}

# --- environment ----------------------------------------------------------------

test_environment_variables() {
    setup_fixtures
    AUTH_STORE_PATH="$S/auth.json" CODEX_THREAD_STORE_PATH="$S/codex_threads.json" \
        DOMAIN_STORE_PATH="$S/domain.json" WORK_DIR="$W" cutover backfill
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    MANIFEST="$(manifest_of_output)"
    assert_match "$MANIFEST" "^$W/manifests/[0-9]{8}T[0-9]{6}Z\.json$" "manifest under WORK_DIR"
    [[ -f "$MANIFEST" ]] || fatal "no manifest at $MANIFEST"
    assert_eq "auth codex_threads domain" "$(jq -r '[.stores[].store] | sort | join(" ")' "$MANIFEST")" "stores"
    local k
    for k in "${KINDS[@]}"; do
        assert_eq "$S/$k.json" "$(field "$MANIFEST" "$k" .path)" "$k path from the environment"
        assert_eq "$(sha256_of "$S/$k.json")" "$(field "$MANIFEST" "$k" .after_sha256)" "$k after_sha256"
    done
    assert_eq '{"autopilots":0,"integrations":1,"l402_paywalls":0,"shouts":1,"whispers":1}' \
        "$(field "$MANIFEST" domain '.counts' | jq -cS .)" "domain counts"
}

test_flags_override_environment() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/domain.json"
    local envwork="$TEST_TMP/envwork"
    AUTH_STORE_PATH="$S/auth.json" DOMAIN_STORE_PATH="$S/domain.json" WORK_DIR="$envwork" \
        cutover backfill --store "codex_threads=$S/codex_threads.json" --work-dir "$W"
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    MANIFEST="$(manifest_of_output)"
    assert_match "$MANIFEST" "^$W/manifests/" "manifest under --work-dir, not WORK_DIR"
    assert_eq "" "$(work_files "$envwork")" "files written under WORK_DIR"
    [[ -f "$MANIFEST" ]] || fatal "no manifest at $MANIFEST"
    assert_eq "codex_threads" "$(jq -r '[.stores[].store] | join(" ")' "$MANIFEST")" "only the --store store is migrated"
    assert_file_unchanged "$S/auth.json" "store named only by the environment"
    assert_file_unchanged "$S/domain.json" "store named only by the environment"
}

# --- idempotence and run ids --------------------------------------------------------

test_second_run_is_idempotent() {
    setup_fixtures
    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    local first="$MANIFEST" k
    declare -A stat_before sha_before
    for k in "${KINDS[@]}"; do
        stat_before[$k]="$(stat -c '%i %y' "$S/$k.json")"
        sha_before[$k]="$(sha256_of "$S/$k.json")"
    done

    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    assert_ne "$first" "$MANIFEST" "second manifest path"
    assert_eq "manifests/$(basename "$MANIFEST")" "$(latest_manifest "$W")" "the newest manifest sorts last"
    assert_eq 2 "$(find "$W/manifests" -name '*.json' | wc -l)" "manifests after two runs"
    assert_contains "$OUT" "0 changed" "stdout of the second run"
    local backup
    for k in "${KINDS[@]}"; do
        assert_eq "false" "$(field "$MANIFEST" "$k" .changed)" "$k changed on the second run"
        assert_eq "$(field "$first" "$k" .after_sha256)" "$(field "$MANIFEST" "$k" .after_sha256)" "$k after_sha256 across runs"
        assert_eq "${sha_before[$k]}" "$(field "$MANIFEST" "$k" .before_sha256)" "$k before_sha256 of the second run"
        assert_eq "${sha_before[$k]}" "$(sha256_of "$S/$k.json")" "$k bytes"
        assert_eq "${stat_before[$k]}" "$(stat -c '%i %y' "$S/$k.json")" "$k inode and mtime (store must not be rewritten)"
        backup="$(field "$MANIFEST" "$k" .backup_path)"
        assert_file_exists "$backup" "$k backup of the second run"
        [[ -f "$backup" ]] && assert_same_bytes "$S/$k.json" "$backup" "$k backup of the second run"
    done
}

test_three_quick_runs_get_distinct_sorted_manifests() {
    setup_fixtures
    local order=() i
    for i in 1 2 3; do
        backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
        order+=("manifests/$(basename "$MANIFEST")")
        assert_eq "openagents.rust_store_migration.v1" "$(jq -r .schema "$MANIFEST")" "schema of run $i"
    done
    assert_eq 3 "$(printf '%s\n' "${order[@]}" | sort -u | wc -l)" "distinct manifests"
    # shellcheck disable=SC2012 # the reference harness's listing
    assert_eq "$(printf '%s\n' "${order[@]}")" "$(cd "$W" && ls -1 manifests/*.json | sort)" "manifests sorted in run order"
    assert_eq "${order[2]}" "$(latest_manifest "$W")" "the last run's manifest sorts last"
    assert_eq 3 "$(find "$W/backups" -mindepth 1 -maxdepth 1 -type d | wc -l)" "distinct backup folders"
    local m
    for m in "${order[@]}"; do
        assert_eq "$(basename "$m" .json)" "$(jq -r '.run_id // empty' "$W/$m")" "run_id inside $m"
    done
}

# --- missing store, --json --------------------------------------------------------------

test_missing_store_is_created() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    mkdir -p "$S"
    backfill_ok --store "auth=$S/auth.json" --store "domain=$S/domain.json" --work-dir "$W"
    assert_contains "$OUT" "created" "stdout"
    local k
    for k in auth domain; do
        assert_file_exists "$S/$k.json" "created $k store"
        assert_eq "false" "$(field "$MANIFEST" "$k" .existed)" "$k existed"
        assert_eq "null" "$(field "$MANIFEST" "$k" .backup_path)" "$k backup_path"
        assert_eq "null" "$(field "$MANIFEST" "$k" .before_sha256)" "$k before_sha256"
        assert_eq "true" "$(field "$MANIFEST" "$k" .changed)" "$k changed"
        assert_eq "$(sha256_of "$S/$k.json")" "$(field "$MANIFEST" "$k" .after_sha256)" "$k after_sha256"
    done
    assert_eq '{"personal_access_tokens":0,"sessions":0,"users":0}' "$(field "$MANIFEST" auth '.counts' | jq -cS .)" "auth counts"
    assert_eq 10 "$(jq '[.[] | select(type == "object")] | length' "$S/auth.json")" "auth keys created from {}"
    assert_eq 1 "$(jq '.next_shout_id' "$S/domain.json")" "domain counter over an empty collection"
    assert_eq "" "$(find "$W/backups" -type f)" "backups of stores that did not exist"

    backfill_ok --store "auth=$S/auth.json" --store "domain=$S/domain.json" --work-dir "$W"
    assert_eq "true" "$(field "$MANIFEST" auth .existed)" "auth existed on the second run"
    assert_eq "false" "$(field "$MANIFEST" auth .changed)" "auth changed on the second run"
}

test_json_output() {
    setup_fixtures
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W" --json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    printf '%s' "$OUT" >"$TEST_TMP/result.json"
    jq -e . "$TEST_TMP/result.json" >/dev/null || fatal "--json output does not parse: $OUT"
    assert_eq 1 "$(jq -s length "$TEST_TMP/result.json")" "documents on stdout"
    assert_eq "true" "$(jq 'has("manifest_path") and has("backup_dir") and has("manifest")' "$TEST_TMP/result.json")" \
        "top-level fields"
    local manifest backup_dir
    manifest="$(jq -r .manifest_path "$TEST_TMP/result.json")"
    backup_dir="$(jq -r .backup_dir "$TEST_TMP/result.json")"
    assert_match "$manifest" "^$W/manifests/[0-9]{8}T[0-9]{6}Z\.json$" "manifest_path"
    [[ -d "$backup_dir" ]] || _e2e_fail "backup_dir $backup_dir is not a folder"
    assert_eq 3 "$(jq '.manifest.stores | length' "$TEST_TMP/result.json")" "manifest.stores"
    [[ -f "$manifest" ]] || fatal "no manifest at $manifest"
    assert_eq "$(jq -S . "$manifest")" "$(jq -S .manifest "$TEST_TMP/result.json")" "manifest on stdout vs on disk"
}

# --- refusals ---------------------------------------------------------------------------

test_refuses_invalid_json_store() {
    setup_fixtures
    printf '{"users_by_id": {},\n  "sessions": }\n' >"$S/auth.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$S/auth.json" "not valid JSON" "line 2" "column 15"
}

test_refuses_wrong_typed_key() {
    setup_fixtures
    printf '{"sessions": [], "users_by_id": {"u": {}}}' >"$S/auth.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$S/auth.json" "'sessions'" "array" "--allow-destructive-reset"
}

test_refuses_non_object_root() {
    setup_fixtures
    printf '[1,2]' >"$S/domain.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$S/domain.json" "root" "not an object" "--allow-destructive-reset"
}

test_refuses_unknown_store_kind() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/domain.json"
    cutover backfill --store "auth=$S/auth.json" --store "domian=$S/domain.json" --work-dir "$W"
    expect_refusal 2 "$S/domain.json" "unknown store kind 'domian'" "did you mean 'domain'"
}

test_refuses_malformed_store_flag() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    local bad
    for bad in "auth" "$S/auth.json" "=$S/auth.json" "auth="; do
        cutover backfill --store "codex_threads=$S/codex_threads.json" --store "$bad" --work-dir "$W"
        expect_refusal 2 "--store '$bad'" "NAME=PATH"
    done
}

test_refuses_symlinked_store() {
    setup_fixtures
    mv "$S/auth.json" "$TEST_TMP/real-auth.json"
    ln -s "$TEST_TMP/real-auth.json" "$S/auth.json"
    remember_file "$TEST_TMP/real-auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$S/auth.json" "symbolic link"
    [[ -L "$S/auth.json" ]] || _e2e_fail "$S/auth.json is no longer a symbolic link"
}

# A missing folder is created (failclosed_backfill.sh); one under a file cannot be.
test_refuses_store_in_folder_under_a_file() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/domain.json"
    cutover backfill --store "auth=$S/auth.json" --store "codex_threads=$S/auth.json/nowhere/codex.json" \
        --store "domain=$S/domain.json" --work-dir "$W"
    expect_refusal 2 "$S/auth.json/nowhere/codex.json" "cannot create folder" "is not a folder"
}

test_refuses_malformed_spec_file() {
    setup_fixtures
    printf '{"schema": "cutover.store_spec.v1",\n "store": "widgets",\n' >"$TEST_TMP/bad.spec.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill --spec "$TEST_TMP/bad.spec.json" "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$TEST_TMP/bad.spec.json" "line" "column"
}

test_refuses_spec_with_unknown_operation() {
    setup_fixtures
    cat >"$TEST_TMP/drop.spec.json" <<'EOF'
{"schema": "cutover.store_spec.v1", "store": "widgets",
 "operations": [{"op": "ensure_object", "key": "items"}, {"op": "drop_key", "key": "items"}],
 "counts": {}}
EOF
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill --spec "$TEST_TMP/drop.spec.json" "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$TEST_TMP/drop.spec.json" "unknown operation 'drop_key'"
}

test_refuses_spec_that_retypes_a_key() {
    setup_fixtures
    cat >"$TEST_TMP/retype.spec.json" <<'EOF'
{"schema": "cutover.store_spec.v1", "store": "widgets",
 "operations": [{"op": "ensure_object", "key": "items"}, {"op": "ensure_array", "key": "items"}],
 "counts": {}}
EOF
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill --spec "$TEST_TMP/retype.spec.json" "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$TEST_TMP/retype.spec.json" "'items'" "retype"
}

test_refuses_no_stores() {
    W="$TEST_TMP/work"
    cutover backfill --work-dir "$W"
    expect_refusal 2 "no store" "--store" "AUTH_STORE_PATH"
}

test_refuses_same_store_twice() {
    setup_fixtures
    remember_file "$S/auth.json"
    cutover backfill --store "auth=$S/auth.json" --store "auth=$S/../stores/auth.json" --work-dir "$W"
    expect_refusal 2 "$S/auth.json" "twice"
}

test_refusal_names_every_bad_store() {
    setup_fixtures
    printf 'not json' >"$S/auth.json"
    printf '{"threads": []}' >"$S/codex_threads.json"
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    expect_refusal 2 "$S/auth.json" "$S/codex_threads.json" "'threads'" "nothing was changed"
}

test_refuses_concurrent_run_on_work_folder() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    mkdir -p "$W"
    local fd
    exec {fd}>"$W/.cutover.lock"
    flock -x -n "$fd" || fatal "the test could not take $W/.cutover.lock"
    cutover_closing_fd "$fd" backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    exec {fd}>&-
    expect_refusal 1 "$W/.cutover.lock" "locked"

    # With the lock released the same run goes through: the lock was the reason.
    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    assert_eq 0 "$RC" "exit status once the lock is released (stderr: $ERR)"
}

test_refuses_concurrent_run_on_store_folder() {
    setup_fixtures
    remember_file "$S/auth.json" "$S/codex_threads.json" "$S/domain.json"
    local fd
    exec {fd}<"$S"
    flock -x -n "$fd" || fatal "the test could not lock folder $S"
    # another run (another work folder) is migrating stores in this folder
    cutover_closing_fd "$fd" backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    exec {fd}<&-
    expect_refusal 1 "$S" "locked"

    cutover backfill "${FIXTURE_ARGS[@]}" --work-dir "$W"
    assert_eq 0 "$RC" "exit status once the lock is released (stderr: $ERR)"
}

# --- --allow-destructive-reset ------------------------------------------------------------

test_destructive_reset_wrong_typed_key() {
    setup_fixtures
    printf '{"sessions": ["s-1", "s-2"], "users_by_id": {"user-1": {"id": "user-1"}}}' >"$S/auth.json"
    cp "$S/auth.json" "$ORIG/auth.json"
    backfill_ok --store "auth=$S/auth.json" --work-dir "$W" --allow-destructive-reset
    assert_contains "$OUT" "warning" "stdout"
    assert_contains "$OUT" "destructive reset" "stdout"
    assert_contains "$OUT" "sessions" "stdout"
    assert_eq '{}' "$(jq -c .sessions "$S/auth.json")" "sessions after the reset"
    assert_eq '{"user-1":{"id":"user-1"}}' "$(jq -c .users_by_id "$S/auth.json")" "users_by_id kept"
    assert_eq '{"personal_access_tokens":0,"sessions":0,"users":1}' "$(field "$MANIFEST" auth '.counts' | jq -cS .)" "counts"
    local resets backup
    resets="$(field "$MANIFEST" auth '.destructive_resets // [] | join("\n")')"
    assert_eq 1 "$(field "$MANIFEST" auth '.destructive_resets // [] | length')" "destructive_resets recorded"
    assert_contains "$resets" "sessions" "destructive_resets"
    backup="$(field "$MANIFEST" auth .backup_path)"
    assert_file_exists "$backup" "backup"
    [[ -f "$backup" ]] && assert_same_bytes "$ORIG/auth.json" "$backup" "backup bytes vs the original"
    assert_eq "$(sha256_of "$ORIG/auth.json")" "$(field "$MANIFEST" auth .before_sha256)" "before_sha256"
    assert_eq "$(sha256_of "$S/auth.json")" "$(field "$MANIFEST" auth .after_sha256)" "after_sha256"
}

test_destructive_reset_non_object_root() {
    setup_fixtures
    printf '[1,2]' >"$S/domain.json"
    cp "$S/domain.json" "$ORIG/domain.json"
    backfill_ok --store "domain=$S/domain.json" --work-dir "$W" --allow-destructive-reset
    assert_contains "$OUT" "destructive reset" "stdout"
    assert_eq object "$(jq -r type "$S/domain.json")" "root after the reset"
    assert_eq '[]' "$(jq -c .shouts "$S/domain.json")" "shouts after the reset"
    assert_contains "$(field "$MANIFEST" domain '.destructive_resets // [] | join("\n")')" "root" "destructive_resets"
    local backup
    backup="$(field "$MANIFEST" domain .backup_path)"
    assert_file_exists "$backup" "backup"
    [[ -f "$backup" ]] && assert_same_bytes "$ORIG/domain.json" "$backup" "backup bytes vs the original"
}

# --- --spec -------------------------------------------------------------------------------

test_spec_file_adds_store_kind() {
    setup_fixtures
    local spec="$TEST_TMP/widgets.spec.json"
    cat >"$spec" <<'EOF'
{
  "schema": "cutover.store_spec.v1",
  "store": "widgets",
  "description": "an e2e test kind using every operation and count kind",
  "operations": [
    {"op": "ensure_object", "key": "items"},
    {"op": "ensure_object", "key": "tags_by_item"},
    {"op": "ensure_array", "key": "events"},
    {"op": "ensure_array", "key": "archive"},
    {"op": "counter_from_max", "counter": "next_event_id", "collection": "events", "id_field": "id"},
    {"op": "counter_from_max", "counter": "next_item_id", "collection": "items", "id_field": "id"},
    {"op": "counter_from_max", "counter": "next_tag_id", "collection": "tags_by_item", "id_field": "id"},
    {"op": "counter_from_max", "counter": "next_kept_id", "collection": "items", "id_field": "id"}
  ],
  "counts": {
    "items": {"kind": "object_len", "key": "items"},
    "events": {"kind": "array_len", "key": "events"},
    "tags": {"kind": "sum_array_lengths", "key": "tags_by_item"},
    "archived": {"kind": "array_len", "key": "archive"},
    "missing": {"kind": "object_len", "key": "no_such_key"}
  }
}
EOF
    local store="$S/widgets.json"
    cat >"$store" <<'EOF'
{"items": {"a": {"id": "12"}, "b": {"id": 4}, "c": {"id": "x"}},
 "events": [{"id": 3}, {"id": "7"}, {"id": -1}, {"id": 2.5}],
 "tags_by_item": {"a": ["red", "blue"], "b": ["green"], "c": "not an array"},
 "next_kept_id": 99,
 "extra": {"kept": true}}
EOF
    backfill_ok --spec "$spec" --store "widgets=$store" --store "auth=$S/auth.json" --work-dir "$W"
    assert_eq '{"archived":0,"events":4,"items":3,"missing":0,"tags":3}' \
        "$(field "$MANIFEST" widgets '.counts' | jq -cS .)" "widgets counts"
    assert_eq '{"personal_access_tokens":1,"sessions":1,"users":1}' "$(field "$MANIFEST" auth '.counts' | jq -cS .)" \
        "auth counts beside a spec kind"
    assert_eq "$spec" "$(field "$MANIFEST" widgets '.spec_source // empty')" "spec_source"
    assert_eq 8 "$(jq .next_event_id "$store")" "next_event_id (ids 3, \"7\", -1, 2.5)"
    assert_eq 13 "$(jq .next_item_id "$store")" "next_item_id (ids \"12\", 4, \"x\")"
    assert_eq 1 "$(jq .next_tag_id "$store")" "next_tag_id (rows without ids)"
    assert_eq 99 "$(jq .next_kept_id "$store")" "an existing counter is left alone"
    assert_eq '[]' "$(jq -c .archive "$store")" "archive created"
    assert_eq '{"kept":true}' "$(jq -c .extra "$store")" "keys outside the spec kept"
    assert_eq "$(sha256_of "$store")" "$(field "$MANIFEST" widgets .after_sha256)" "after_sha256"

    backfill_ok --spec "$spec" --store "widgets=$store" --work-dir "$W"
    assert_eq "false" "$(field "$MANIFEST" widgets .changed)" "widgets changed on the second run"

    # without --spec the kind is unknown
    cutover backfill --store "widgets=$store" --work-dir "$W"
    assert_eq 2 "$RC" "exit status without --spec"
    assert_contains "$ERR" "unknown store kind 'widgets'" "stderr without --spec"
}

# --- permissions --------------------------------------------------------------------------

test_permission_bits_survive_migration() {
    setup_fixtures
    chmod 444 "$S/auth.json"
    chmod 640 "$S/domain.json"
    local inode_before
    inode_before="$(stat -c %i "$S/auth.json")"
    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    assert_eq "true" "$(field "$MANIFEST" auth .changed)" "auth changed"
    assert_ne "$inode_before" "$(stat -c %i "$S/auth.json")" "auth inode (a new file replaced the store)"
    assert_eq 444 "$(stat -c %a "$S/auth.json")" "auth permission bits"
    assert_eq 640 "$(stat -c %a "$S/domain.json")" "domain permission bits"
    assert_eq "$(sha256_of "$S/auth.json")" "$(field "$MANIFEST" auth .after_sha256)" "auth after_sha256"
}

# --- canonicalize ---------------------------------------------------------------------------

test_canonicalize_file_and_stdin_agree() {
    printf '{"c":"x\\ty","b":1,"a":[1.0,2,"\\u00e9",{},[]]}' >"$TEST_TMP/in.json"
    printf '{\n  "a": [\n    1.0,\n    2,\n    "\303\251",\n    {},\n    []\n  ],\n  "b": 1,\n  "c": "x\\ty"\n}' \
        >"$TEST_TMP/expected"
    timeout 20 "$BIN" canonicalize "$TEST_TMP/in.json" >"$TEST_TMP/from-file" 2>"$TEST_TMP/err1"
    assert_eq 0 "$?" "exit status with FILE ($(cat "$TEST_TMP/err1"))"
    timeout 20 "$BIN" canonicalize <"$TEST_TMP/in.json" >"$TEST_TMP/from-stdin" 2>"$TEST_TMP/err2"
    assert_eq 0 "$?" "exit status with standard input ($(cat "$TEST_TMP/err2"))"
    timeout 20 "$BIN" canonicalize - <"$TEST_TMP/in.json" >"$TEST_TMP/from-dash" 2>"$TEST_TMP/err3"
    assert_eq 0 "$?" "exit status with - ($(cat "$TEST_TMP/err3"))"
    assert_same_bytes "$TEST_TMP/from-file" "$TEST_TMP/from-stdin" "FILE vs standard input"
    assert_same_bytes "$TEST_TMP/from-file" "$TEST_TMP/from-dash" "FILE vs -"
    assert_same_bytes "$TEST_TMP/expected" "$TEST_TMP/from-file" "canonical bytes"
}

test_canonicalize_invalid_json() {
    printf '{"a": 1,\n  "b": }' >"$TEST_TMP/bad.json"
    cutover canonicalize "$TEST_TMP/bad.json"
    assert_eq 2 "$RC" "exit status with FILE"
    assert_contains "$ERR" "$TEST_TMP/bad.json" "stderr"
    assert_contains "$ERR" "line 2" "stderr"
    assert_contains "$ERR" "column 8" "stderr"
    assert_eq "" "$OUT" "stdout"

    local err rc
    err="$(timeout 20 "$BIN" canonicalize <"$TEST_TMP/bad.json" 2>&1 >/dev/null)"
    rc=$?
    assert_eq 2 "$rc" "exit status with standard input"
    assert_contains "$err" "line" "stderr with standard input"
    assert_contains "$err" "column" "stderr with standard input"
}

test_canonicalize_matches_manifest_checksum() {
    setup_fixtures
    backfill_ok "${FIXTURE_ARGS[@]}" --work-dir "$W"
    local k sum
    for k in "${KINDS[@]}"; do
        sum="$(timeout 20 "$BIN" canonicalize "$S/$k.json" | sha256sum)"
        assert_eq "$(field "$MANIFEST" "$k" .after_sha256)" "${sum%% *}" "canonicalize $k | sha256sum vs after_sha256"
        assert_eq "$(sha256_of "$S/$k.json")" "${sum%% *}" "canonicalize $k | sha256sum vs the store's own sha256sum"
    done
    # a store the run created from {}
    mkdir -p "$TEST_TMP/new"
    backfill_ok --store "codex_threads=$TEST_TMP/new/codex.json" --work-dir "$W"
    sum="$(timeout 20 "$BIN" canonicalize "$TEST_TMP/new/codex.json" | sha256sum)"
    assert_eq "$(field "$MANIFEST" codex_threads .after_sha256)" "${sum%% *}" "canonicalize of a created store vs after_sha256"
}

# --- run -------------------------------------------------------------------------------------

test_destructive_reset_invalid_json() {
    setup_fixtures
    printf '{"sessions": [1,' >"$S/auth.json"
    cp "$S/auth.json" "$ORIG/auth.json"
    backfill_ok --store "auth=$S/auth.json" --work-dir "$W" --allow-destructive-reset
    assert_contains "$OUT" "not valid JSON" "stdout warns about the reset"
    assert_eq '{}' "$(jq -c .sessions "$S/auth.json")" "sessions after the reset"
    assert_contains "$(field "$MANIFEST" auth '.destructive_resets // [] | join("\n")')" "not valid JSON" "destructive_resets"
    local backup
    backup="$(field "$MANIFEST" auth .backup_path)"
    assert_file_exists "$backup" "backup"
    [[ -f "$backup" ]] && assert_same_bytes "$ORIG/auth.json" "$backup" "backup bytes vs the original"
}

# Regression: a root-run migration handed the store to root:root.
test_owner_survives_migration() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "  (not root: ownership cannot be changed here; checking the store stays ours)"
    fi
    setup_fixtures
    local owner="$(id -u):$(id -g)"
    if [[ $(id -u) -eq 0 ]]; then
        owner="65534:65534"
        chown "$owner" "$S/auth.json"
    fi
    local inode_before
    inode_before="$(stat -c %i "$S/auth.json")"
    backfill_ok --store "auth=$S/auth.json" --work-dir "$W"
    assert_ne "$inode_before" "$(stat -c %i "$S/auth.json")" "the store was replaced"
    assert_eq "$owner" "$(stat -c %u:%g "$S/auth.json")" "owner after migration"
}

# Regression: a crash before the in-progress manifest left a store-sized
# temporary file beside the store that nothing ever removed.
test_stale_temp_file_of_a_crashed_run_is_removed() {
    setup_fixtures
    printf 'half a store' >"$S/.auth.json.cutover-20260101T000000Z.tmp"
    printf 'not ours' >"$S/.auth.json.other.tmp"
    backfill_ok --store "auth=$S/auth.json" --work-dir "$W"
    assert_no_path "$S/.auth.json.cutover-20260101T000000Z.tmp" "the crashed run's temp file"
    assert_file_exists "$S/.auth.json.other.tmp" "a file that is not ours"
}

# Rule 5: no destructive reset while a route group is in the overlap.
test_destructive_reset_refused_during_the_overlap() {
    setup_fixtures
    printf '{"sessions": []}' >"$S/auth.json"
    remember_file "$S/auth.json"
    expand_evidence  # the reference route groups, and passing expand evidence
    "$BIN" gate advance billing_l402 expand --ledger "$TEST_TMP/ledger.jsonl" --new-ledger \
        "${EXPAND_ARGS[@]}" >/dev/null 2>&1 \
        || fatal "cannot start a ledger"
    local rc
    "$BIN" backfill --store "auth=$S/auth.json" --work-dir "$W" --allow-destructive-reset \
        --ledger "$TEST_TMP/ledger.jsonl" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_contains "$(cat "$TEST_TMP/err")" "rule 5" "stderr"
    assert_contains "$(cat "$TEST_TMP/err")" "billing_l402" "stderr names the group"
    assert_file_unchanged "$S/auth.json"
    "$BIN" backfill --store "auth=$S/auth.json" --work-dir "$W" --allow-destructive-reset \
        --ledger "$TEST_TMP/ledger.jsonl" --group auth_entry >/dev/null 2>"$TEST_TMP/err"
    assert_eq 1 "$?" "a group with no record in the ledger is refused too"
    assert_contains "$(cat "$TEST_TMP/err")" "auth_entry" "stderr names the group"
    assert_file_unchanged "$S/auth.json"
}

TESTS=(
    test_reference_fixtures_manifest_and_backups
    test_migrated_fixtures_have_current_schema
    test_environment_variables
    test_flags_override_environment
    test_second_run_is_idempotent
    test_three_quick_runs_get_distinct_sorted_manifests
    test_missing_store_is_created
    test_json_output
    test_refuses_invalid_json_store
    test_refuses_wrong_typed_key
    test_refuses_non_object_root
    test_refuses_unknown_store_kind
    test_refuses_malformed_store_flag
    test_refuses_symlinked_store
    test_refuses_store_in_folder_under_a_file
    test_refuses_malformed_spec_file
    test_refuses_spec_with_unknown_operation
    test_refuses_spec_that_retypes_a_key
    test_refuses_no_stores
    test_refuses_same_store_twice
    test_refusal_names_every_bad_store
    test_refuses_concurrent_run_on_work_folder
    test_refuses_concurrent_run_on_store_folder
    test_destructive_reset_wrong_typed_key
    test_destructive_reset_non_object_root
    test_spec_file_adds_store_kind
    test_permission_bits_survive_migration
    test_destructive_reset_invalid_json
    test_owner_survives_migration
    test_stale_temp_file_of_a_crashed_run_is_removed
    test_destructive_reset_refused_during_the_overlap
    test_canonicalize_file_and_stdin_agree
    test_canonicalize_invalid_json
    test_canonicalize_matches_manifest_checksum
)
# A test function missing from the list would silently never run.
for t in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
    [[ " ${TESTS[*]} " == *" $t "* ]] || { echo "backfill.sh: $t is not in TESTS" >&2; exit 1; }
done
for t in "${TESTS[@]}"; do run_test "$t"; done
finish_tests
