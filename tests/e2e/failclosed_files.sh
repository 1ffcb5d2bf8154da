#!/usr/bin/env bash
# End-to-end suite for issue 12, items 3-5, on the real binary: a manifest
# is not trusted by default (its own work folder, folders only its owner can
# write), copies of a store keep the store's permissions, and no symlink or
# special file is followed or waited on where cutover keeps its files.
#
#   tests/e2e/failclosed_files.sh [BIN]
#
# Needs bash, jq, sha256sum, cmp, mkfifo and timeout. A FIFO test that hangs
# is ended by `timeout` (status 124), which fails the test: nothing sleeps.
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary failclosed_files.sh "${1:-}" jq sha256sum cmp mkfifo timeout
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR

KINDS=(auth codex_threads domain)

# migrated: the reference fixtures in $S backfilled into $W; sets MANIFEST.
migrated() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    cutover fixtures "$S"
    ((RC == 0)) || fatal "cutover fixtures failed with status $RC: $ERR"
    if [[ -n "${STORE_MODE:-}" ]]; then chmod "$STORE_MODE" "$S"/*.json; fi
    cutover backfill --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" \
        --store "domain=$S/domain.json" --work-dir "$W"
    ((RC == 0)) || fatal "cutover backfill failed with status $RC: $ERR"
    MANIFEST="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ -f "$MANIFEST" ]] || fatal "no manifest named on stdout: $OUT"
    local k
    for k in "${KINDS[@]}"; do remember_file "$S/$k.json"; done
}

stores_unchanged() {
    local k
    for k in "${KINDS[@]}"; do assert_file_unchanged "$S/$k.json" "$k after the refusal"; done
}

# --- item 3: a manifest is not trusted by default -------------------------------

test_a_manifest_copied_to_another_work_folder_is_refused() {
    migrated
    local other="$TEST_TMP/other"
    mkdir -p "$other/manifests"
    cp "$MANIFEST" "$other/manifests/"
    local copy
    copy="$other/manifests/$(basename "$MANIFEST")"
    cutover rollback "$copy"
    assert_eq 1 "$RC" "rollback of a copied manifest"
    assert_contains "$ERR" "is not the folder that holds this manifest's folder $other/manifests"
    assert_contains "$ERR" "nothing was changed"
    cutover verify "$copy"
    assert_eq 1 "$RC" "verify of a copied manifest"
    assert_contains "$ERR" "verify refused"
    stores_unchanged
    # The manifest where backfill wrote it still works.
    cutover verify "$MANIFEST"
    assert_eq 0 "$RC" "verify of the real manifest: $ERR"
}

test_loose_work_folder_permissions_are_refused() {
    migrated
    local dir
    for dir in "$W" "$W/manifests" "$W/backups"; do
        chmod g+w "$dir"
        cutover rollback "$MANIFEST"
        assert_eq 1 "$RC" "rollback with a group-writable $dir"
        assert_contains "$ERR" "$dir is group-writable"
        cutover verify "$MANIFEST"
        assert_eq 1 "$RC" "verify with a group-writable $dir"
        chmod g-w,o+w "$dir"
        cutover rollback "$MANIFEST"
        assert_eq 1 "$RC" "rollback with a world-writable $dir"
        assert_contains "$ERR" "$dir is world-writable"
        chmod o-w "$dir"
    done
    stores_unchanged
    cutover rollback "$MANIFEST"
    assert_eq 0 "$RC" "rollback once the folders are private again: $ERR"
}

test_a_work_folder_owned_by_another_user_is_refused() {
    if (($(id -u) != 0)); then
        echo "    (skipped: needs root to give the folder to another user)"
        return 0
    fi
    migrated
    chown 65534:65534 "$W/backups"
    cutover rollback "$MANIFEST"
    assert_eq 1 "$RC" "rollback with backups/ owned by uid 65534"
    assert_contains "$ERR" "$W/backups is owned by uid 65534, another user"
    stores_unchanged
}

# --- item 4: copies keep the store's secrecy ------------------------------------

test_copies_of_a_0600_store_are_0600() {
    STORE_MODE=600 migrated
    local k backup
    for k in "${KINDS[@]}"; do
        backup="$(jq -r --arg s "$k" '.stores[] | select(.store == $s) | .backup_path' "$MANIFEST")"
        assert_eq 600 "$(stat -c %a "$backup")" "mode of the $k backup"
        assert_eq 600 "$(stat -c %a "$S/$k.json")" "mode of the migrated $k store"
    done
    # Drift one store and roll back with --force: the drift copy is 0600 too.
    printf '{"drifted": true}\n' >"$S/domain.json"
    cutover rollback "$MANIFEST" --force
    assert_eq 0 "$RC" "rollback --force: $ERR"
    local saved
    saved="$(find "$W/backups" -name 'domain-drift-*' -print)"
    [[ -n "$saved" ]] || fatal "no drift copy in $W/backups"
    assert_eq 600 "$(stat -c %a "$saved")" "mode of the drift copy"
    for k in "${KINDS[@]}"; do assert_eq 600 "$(stat -c %a "$S/$k.json")" "mode of the restored $k store"; done
}

test_keygen_private_key_is_0600() {
    cutover keygen --out "$TEST_TMP/signer"
    assert_eq 0 "$RC" "keygen: $ERR"
    assert_eq 600 "$(stat -c %a "$TEST_TMP/signer.key")" "private key mode"
    assert_eq 644 "$(stat -c %a "$TEST_TMP/signer.pub")" "public key mode"
}

# --- item 5: no symlink or special file where cutover keeps its files -----------

test_a_fifo_where_a_backup_should_be_is_refused_at_once() {
    migrated
    local backup
    backup="$(jq -r '.stores[0].backup_path' "$MANIFEST")"
    rm "$backup"
    mkfifo "$backup"
    cutover rollback "$MANIFEST"
    assert_ne 124 "$RC" "rollback hung on a FIFO backup"
    assert_eq 2 "$RC" "rollback with a FIFO backup"
    assert_contains "$ERR" "$backup is not a regular file"
    cutover verify "$MANIFEST"
    assert_ne 124 "$RC" "verify hung on a FIFO backup"
    assert_eq 1 "$RC" "verify with a FIFO backup"
    stores_unchanged
}

test_a_fifo_where_a_store_or_manifest_should_be_is_refused_at_once() {
    migrated
    rm "$S/auth.json"
    mkfifo "$S/auth.json"
    cutover verify "$MANIFEST"
    assert_ne 124 "$RC" "verify hung on a FIFO store"
    assert_eq 1 "$RC" "verify with a FIFO store"
    assert_contains "$OUT$ERR" "not a regular file"
    cutover rollback "$MANIFEST"
    assert_ne 124 "$RC" "rollback hung on a FIFO store"
    assert_eq 2 "$RC" "rollback with a FIFO store"
    local fifo="$W/manifests/20990101T000000Z.json"
    mkfifo "$fifo"
    cutover rollback "$fifo"
    assert_ne 124 "$RC" "rollback hung on a FIFO manifest"
    assert_eq 2 "$RC" "rollback of a FIFO manifest"
    assert_contains "$ERR" "is a FIFO (named pipe), not a regular file"
    cutover verify "$fifo"
    assert_ne 124 "$RC" "verify hung on a FIFO manifest"
    assert_eq 2 "$RC" "verify of a FIFO manifest"
}

test_a_symlinked_lock_file_is_refused() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    cutover fixtures "$S"
    mkdir -p "$W"
    ln -s "$TEST_TMP/victim" "$W/.cutover.lock"
    cutover backfill --store "auth=$S/auth.json" --work-dir "$W"
    assert_eq 3 "$RC" "backfill with a symlinked lock file"
    assert_contains "$ERR" "$W/.cutover.lock is a symbolic link"
    assert_no_path "$TEST_TMP/victim" "the link's target"
    assert_no_path "$W/manifests" "manifests of a refused backfill"
}

test_a_symlinked_ledger_or_ledger_lock_is_refused() {
    : >"$TEST_TMP/real.jsonl"
    ln -s "$TEST_TMP/real.jsonl" "$TEST_TMP/ledger.jsonl"
    cutover gate status --ledger "$TEST_TMP/ledger.jsonl"
    assert_eq 3 "$RC" "gate status on a symlinked ledger"
    assert_contains "$ERR" "is a symbolic link"
    ln -s "$TEST_TMP/victim" "$TEST_TMP/l2.jsonl.lock"
    cutover gate advance billing_l402 expand --ledger "$TEST_TMP/l2.jsonl"
    assert_ne 0 "$RC" "gate record with a symlinked ledger lock"
    assert_no_path "$TEST_TMP/victim" "the lock link's target"
}

run_test test_a_manifest_copied_to_another_work_folder_is_refused
run_test test_loose_work_folder_permissions_are_refused
run_test test_a_work_folder_owned_by_another_user_is_refused
run_test test_copies_of_a_0600_store_are_0600
run_test test_keygen_private_key_is_0600
run_test test_a_fifo_where_a_backup_should_be_is_refused_at_once
run_test test_a_fifo_where_a_store_or_manifest_should_be_is_refused_at_once
run_test test_a_symlinked_lock_file_is_refused
run_test test_a_symlinked_ledger_or_ledger_lock_is_refused
finish_tests
