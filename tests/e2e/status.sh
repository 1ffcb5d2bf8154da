#!/usr/bin/env bash
# End-to-end tests of seeing where things stand (issue 16): `cutover status`
# (runs, backups, the last verify, ledger phases, the live split, bundles),
# `cutover prune` and `cutover backfill --plan`.
#   tests/e2e/status.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary status "${1:-}" jq curl

# assert_dir PATH [WHAT]: PATH is a folder.
assert_dir() { [[ -d "$1" && ! -L "$1" ]] || _e2e_fail "${2:-folder}: $1 is not a folder"; }

# stores_args: the three fixture stores in $S as --store flags.
stores_args() { echo --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" --store "domain=$S/domain.json"; }

# second_run: changes a store and backfills again; sets MANIFEST2.
second_run() {
    jq '.users["u-new"] = {"id": "u-new"}' "$S/auth.json" >"$S/auth.json.new" && mv "$S/auth.json.new" "$S/auth.json"
    # shellcheck disable=SC2046
    must backfill $(stores_args) --work-dir "$W"
    MANIFEST2="$(sed -n 's/^manifest: //p' <<<"$OUT")"
}

test_status_with_nothing_given_shows_the_missing_pieces() {
    cd "$TEST_TMP" || fatal "cd"
    env -u WORK_DIR -u CUTOVER_WORK_DIR -u CUTOVER_LEDGER -u CUTOVER_SERVER "$BIN" status >out.txt 2>err.txt
    assert_eq 0 "$?" "nothing given is not an error"
    assert_contains "$(cat out.txt)" "runs: no work folder given" "runs"
    assert_contains "$(cat out.txt)" "ledger: not given" "ledger"
    assert_contains "$(cat out.txt)" "live split: no server given" "server"
    assert_contains "$(cat out.txt)" "no verify report found" "verify"
    must status --work-dir "$TEST_TMP/absent" --json
    assert_eq "false" "$(jq -r .work_dir.exists <<<"$OUT")" "a work folder that does not exist yet"
    assert_eq "null" "$(jq -r .ledger <<<"$OUT")" "no ledger: null"
}

test_status_takes_its_folders_from_cutover_conf() {
    migrated
    mkdir -p "$TEST_TMP/site"
    printf 'CUTOVER_WORK_DIR=%s\nCUTOVER_LEDGER=%s\n' "$W" "$TEST_TMP/absent-ledger.json" >"$TEST_TMP/site/cutover.conf"
    (cd "$TEST_TMP/site" && env -u WORK_DIR -u CUTOVER_WORK_DIR -u CUTOVER_LEDGER -u CUTOVER_SERVER \
        "$BIN" status --json >"$TEST_TMP/out.json" 2>"$TEST_TMP/err.txt")
    assert_eq 1 "$?" "a ledger named in cutover.conf that is missing is checked, and not ok"
    assert_eq "$W" "$(jq -r .work_dir.path "$TEST_TMP/out.json")" "the work folder from cutover.conf"
    assert_eq 1 "$(jq '.work_dir.runs | length' "$TEST_TMP/out.json")" "its run"
    assert_contains "$(jq -c .ledger "$TEST_TMP/out.json")" "absent-ledger.json" "the ledger from cutover.conf"
    printf 'CUTOVER_WORK_DIR=%s\nCUTOVER_LEGDER=x\n' "$W" >"$TEST_TMP/site/cutover.conf"
    (cd "$TEST_TMP/site" && "$BIN" status >"$TEST_TMP/out.txt" 2>"$TEST_TMP/err.txt")
    assert_eq 2 "$?" "a typo in cutover.conf is a usage error, not a status without it"
    assert_contains "$(cat "$TEST_TMP/err.txt")" "did you mean CUTOVER_LEDGER" "the typo named"
}

test_status_shows_runs_backups_verify_and_rollback() {
    migrated
    mkdir -p "$W/reports" "$TEST_TMP/evidence"
    must verify "$MANIFEST" --json
    printf '%s\n' "$OUT" >"$TEST_TMP/evidence/verify-report.json"
    second_run
    must status --work-dir "$W" --evidence "$TEST_TMP/evidence" --json
    assert_eq 2 "$(jq '.work_dir.runs | length' <<<"$OUT")" "two runs"
    assert_eq "complete complete" "$(jq -r '[.work_dir.runs[].state] | join(" ")' <<<"$OUT")" "states"
    local size
    size="$(du -cb "$W/backups/$(basename "$MANIFEST" .json)"/* | tail -n 1 | cut -f1)"
    assert_eq "$size" "$(jq '.work_dir.runs[0].backups.bytes' <<<"$OUT")" "backup size of the first run"
    assert_eq true "$(jq .verify.ok <<<"$OUT")" "last verify ok"
    assert_eq "$(basename "$MANIFEST" .json)" "$(jq -r .verify.work_dir_run <<<"$OUT")" "the verified run"
    must rollback "$MANIFEST2"
    must status --work-dir "$W" --evidence "$TEST_TMP/evidence" --json
    assert_eq "rolled_back" "$(jq -r '.work_dir.runs[1].state' <<<"$OUT")" "the rolled-back run"
    must status --work-dir "$W" --evidence "$TEST_TMP/evidence"
    assert_match "$OUT" "rolled_back +3 +" "the screen shows the rolled-back run"
    assert_contains "$OUT" "last verify: ok (0 findings)" "the screen shows the verdict"
}

test_status_names_a_corrupt_file_and_fails_closed() {
    migrated
    mkdir -p "$W/reports" "$TEST_TMP/evidence"
    printf '{"schema": "cutover.verify_report.v1", "ok": tru' >"$TEST_TMP/evidence/verify-report.json"
    printf '{"ok": ' >"$W/reports/x-rollback.json"
    cutover status --work-dir "$W" --evidence "$TEST_TMP/evidence"
    assert_eq 1 "$RC" "could not check is not ok"
    assert_contains "$OUT" "could not check $TEST_TMP/evidence/verify-report.json" "the corrupt report named"
    assert_contains "$OUT" "could not check $W/reports/x-rollback.json" "the corrupt rollback report named"
    assert_contains "$OUT" "status: INCOMPLETE" "the verdict"
    cutover status --work-dir "$W" --evidence "$TEST_TMP/evidence" --json
    assert_eq 1 "$RC" "--json: exit 1 too"
    assert_eq false "$(jq .ok <<<"$OUT")" "ok false"
    printf 'not a manifest' >"$W/manifests/29990101T000000Z.json"
    cutover status --work-dir "$W" --json
    assert_eq "unreadable" "$(jq -r '.work_dir.runs[-1].state' <<<"$OUT")" "a corrupt manifest is a run that could not be read"
}

test_status_reads_the_ledger_and_the_live_split() {
    write_setup
    start_server
    printf '%s\n' "$VIEW_TOKEN" >"$TEST_TMP/viewer.token"
    cutover status --server "$BASE" --token-file "$TEST_TMP/viewer.token" --ledger "$TEST_TMP/absent.jsonl" --json
    assert_eq 1 "$RC" "a ledger that does not exist could not be checked"
    assert_contains "$(jq -r .ledger.problem <<<"$OUT")" "absent.jsonl" "names the ledger"
    assert_match "$(jq -r '.server.groups | length' <<<"$OUT")" "^[1-9][0-9]*$" "the live groups"
    assert_eq "null" "$(jq -r .server.problem <<<"$OUT")" "the server answered"
    assert_eq "60" "$(jq -r '.server.groups[0].cohort_percentage' <<<"$OUT")" "the live percentage"
    CUTOVER_TOKEN=wrong-token cutover status --server "$BASE"
    assert_eq 1 "$RC" "a refused token"
    assert_contains "$OUT" "could not check" "the refusal shown"
    stop_server
}

test_status_lists_bundles_and_signers() {
    migrated
    must evidence collect --manifest "$MANIFEST" --out "$TEST_TMP/ev/bundle"
    must keygen --out "$TEST_TMP/alice"
    must evidence sign "$TEST_TMP/ev/bundle" --key "$TEST_TMP/alice.key"
    local keyid
    keyid="$(openssl pkey -pubin -in "$TEST_TMP/alice.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-64)"
    must status --evidence "$TEST_TMP/ev" --json
    assert_eq "$keyid" "$(jq -r '.evidence.bundles[0].signers[0].keyid' <<<"$OUT")" "the signer"
    assert_eq false "$(jq -r '.evidence.bundles[0].signatures_checked' <<<"$OUT")" "not checked without --trust"
    must status --evidence "$TEST_TMP/ev" --trust "$TEST_TMP/alice.pub" --json
    assert_eq true "$(jq -r '.evidence.bundles[0].signers[0].valid' <<<"$OUT")" "checked with --trust"
    assert_eq true "$(jq -r '.evidence.bundles[0].ok' <<<"$OUT")" "the bundle verifies"
}

test_prune_keeps_what_is_needed() {
    migrated
    local run1 run2 run3
    run1="$(basename "$MANIFEST" .json)"
    second_run
    run2="$(basename "$MANIFEST2" .json)"
    # No verify report yet: nothing may go.
    must prune --keep 0 --work-dir "$W"
    assert_contains "$OUT" "kept $run1: no newer run is complete and verified" "unverified"
    assert_dir "$W/backups/$run1"
    mkdir -p "$W/reports"
    must verify "$MANIFEST2" --json
    printf '%s\n' "$OUT" >"$W/reports/$run2-verify.json"
    must prune --keep 1 --work-dir "$W" --dry-run
    assert_contains "$OUT" "would remove $W/backups/$run1" "dry run"
    assert_dir "$W/backups/$run1"
    must prune --keep 2 --work-dir "$W"
    assert_contains "$OUT" "kept $run1: one of the newest 2 runs" "the newest N"
    must prune --keep 1 --work-dir "$W" --older-than 1
    assert_contains "$OUT" "kept $run1: not older than --older-than" "older-than"
    # An unfinished run is never pruned: a third run left in progress.
    second_run
    run3="$(basename "$MANIFEST2" .json)"
    mv "$MANIFEST2" "$W/manifests/$run3.json.in-progress"
    must prune --keep 0 --work-dir "$W"
    assert_contains "$OUT" "removed $W/backups/$run1: run $run2 is newer, complete and verified" "removed"
    assert_no_path "$W/backups/$run1"
    assert_file_exists "$W/manifests/$run1.json"
    assert_contains "$OUT" "kept $run3: the run is in_progress" "the unfinished run kept"
    assert_dir "$W/backups/$run3"
    assert_dir "$W/backups/$run2"
}

# stamps DIR: every path under DIR with its size, mtime (ns) and SHA-256.
stamps() { find "$1" -printf '%p %s %T@\n' | sort; find "$1" -type f -exec sha256sum {} + | sort; }

test_backfill_plan_writes_nothing() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    must fixtures "$S"
    local before
    before="$(stamps "$S")"
    # shellcheck disable=SC2046
    must backfill --plan $(stores_args) --store "auth=$S/new/auth2.json" --work-dir "$W"
    assert_eq "$before" "$(stamps "$S")" "the folder's bytes and mtimes are unchanged"
    assert_no_path "$W"
    assert_no_path "$S/new"
    assert_match "$OUT" "plan: \[auth\] $S/auth.json would change \([0-9]+ -> [0-9]+ bytes\) personal_access_tokens=1 sessions=1 users=1" "a store that would change"
    assert_contains "$OUT" "plan: [auth] $S/new/auth2.json would be created (0 -> " "a store that would be created"
    assert_contains "$OUT" "nothing was written" "the summary"
    # shellcheck disable=SC2046
    must backfill --plan $(stores_args) --json
    assert_eq "$before" "$(stamps "$S")" "--json: unchanged too"
    assert_eq "cutover.backfill_plan.v1" "$(jq -r .schema <<<"$OUT")" "one JSON document"
    assert_eq 1 "$(jq '.stores[0].counts_before.users' <<<"$OUT")" "counts before"
    assert_eq 1 "$(jq '.stores[0].counts_after.users' <<<"$OUT")" "counts after"
    # After a backfill, a plan shows nothing left to change.
    # shellcheck disable=SC2046
    must backfill $(stores_args) --work-dir "$W"
    # shellcheck disable=SC2046
    must backfill --plan $(stores_args) --json
    assert_eq "false false false" "$(jq -r '[.stores[].changed] | map(tostring) | join(" ")' <<<"$OUT")" "nothing left"
    printf '{"users": [' >"$S/auth.json"
    # shellcheck disable=SC2046
    cutover backfill --plan $(stores_args)
    assert_eq 2 "$RC" "a store backfill would refuse"
    assert_contains "$ERR" "$S/auth.json" "names the store"
}

run_test test_backfill_plan_writes_nothing
run_test test_status_with_nothing_given_shows_the_missing_pieces
run_test test_status_takes_its_folders_from_cutover_conf
run_test test_status_shows_runs_backups_verify_and_rollback
run_test test_status_names_a_corrupt_file_and_fails_closed
run_test test_status_reads_the_ledger_and_the_live_split
run_test test_status_lists_bundles_and_signers
run_test test_prune_keeps_what_is_needed
finish_tests
