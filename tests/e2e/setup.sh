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

# --- cutover init ---------------------------------------------------------------------

test_init_token_serve_request() {
    # Into the test's own folder, so start_server finds routes.json and tokens.txt there.
    must init "$TEST_TMP" --operator alice
    local f op viewer
    for f in README routes.json tokens.txt baseline.json cutover.env; do assert_file_exists "$TEST_TMP/$f"; done
    op="$(printf '%s\n' "$OUT" | tail -n 1)"
    assert_match "$op" "^[0-9a-f]{64}$" "the operator token alone on the last line"
    assert_eq 600 "$(stat -c %a "$TEST_TMP/tokens.txt")" "tokens.txt is private"
    assert_eq "operator alice sha256:$(sha_of_text "$op")" "$(grep -v '^#' "$TEST_TMP/tokens.txt")" "its hash line"
    assert_not_contains "$(cat "$TEST_TMP"/*.json "$TEST_TMP/README" "$TEST_TMP/cutover.env")" "$op" \
        "the token is in no file"
    # The route config: the built-in matrix, cohort mode at 0 %, the tokens file.
    must routes status --config "$TEST_TMP/routes.json" --json
    assert_eq "cohort 0" "$(jq -r '"\(.mode) \(.cohort_percentage)"' <<<"$OUT")" "cohort mode, nobody moved"
    assert_eq "auth_entry account_settings_admin billing_l402 chat_pilot" \
        "$(jq -r '[.route_groups[].domain] | join(" ")' <<<"$OUT")" "the built-in matrix"
    must token new bob --role viewer --tokens-file "$TEST_TMP/tokens.txt"
    viewer="$(printf '%s\n' "$OUT" | tail -n 1)"
    start_server
    req GET "$CTRL/status" "$op"
    assert_eq 200 "$CODE" "the operator token init printed"
    req GET "$CTRL/status" "$viewer"
    assert_eq 200 "$CODE" "the viewer token token new printed"
    req GET "$CTRL/status"
    assert_eq 401 "$CODE" "no token"
    CUTOVER_SERVER="$BASE" CUTOVER_TOKEN="$op" must routes promote chat_pilot --to 10 --operator alice
    req GET "$CTRL/status" "$viewer"
    assert_contains "$BODY" '"chat_pilot"' "the state names the group"
    stop_server
    assert_contains "$(cat "$TEST_TMP/state/audit.jsonl")" '"identity":"alice"' "the override audited as alice"
}

test_init_baseline_is_accepted_by_verify() {
    must init "$TEST_TMP/setup"
    migrated
    must verify "$MANIFEST" --baseline "$TEST_TMP/setup/baseline.json"
    assert_contains "$OUT" "baseline production" "verify checked the starter baseline"
    assert_eq 10 "$(jq '[.environments.production.stores[][] | select(. == {min: 0})] | length' \
        "$TEST_TMP/setup/baseline.json")" "every built-in count at min 0"
}

test_init_refuses_to_overwrite() {
    mkdir -p "$TEST_TMP/setup"
    echo '{}' >"$TEST_TMP/setup/routes.json"
    echo keep >"$TEST_TMP/setup/README"
    cutover init "$TEST_TMP/setup"
    assert_eq 1 "$RC" "refused"
    assert_match "$ERR" "^cutover init: error: $TEST_TMP/setup/README, $TEST_TMP/setup/routes.json already exist" \
        "names the files"
    assert_eq keep "$(cat "$TEST_TMP/setup/README")" "README untouched"
    assert_no_path "$TEST_TMP/setup/tokens.txt" "nothing written"
    assert_no_path "$TEST_TMP/setup/baseline.json" "nothing written"
    cutover init "$TEST_TMP/other" --operator 'bad name'
    assert_eq 2 "$RC" "a bad operator name"
    assert_no_path "$TEST_TMP/other" "nothing written"
}

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

# --- defaults: flags > environment > cutover.conf > default; cutover config ---------------

# jq_setting NAME FILTER: jq's FILTER (a field name, or an expression) on
# `cutover config --json`'s entry for NAME ($OUT).
jq_setting() {
    local f="$2"
    [[ "$f" =~ ^[a-z_]+$ ]] && f=".$f"
    jq -r --arg n "$1" ".settings[] | select(.name == \$n) | $f" <<<"$OUT"
}

test_config_shows_each_value_and_its_source() {
    must config --json
    assert_eq null "$(jq -r .file <<<"$OUT")" "no cutover.conf here"
    assert_eq "unset" "$(jq_setting CUTOVER_LEDGER source)" "nothing sets the ledger"
    assert_eq "default 1" "$(jq_setting CUTOVER_THRESHOLD '"\(.source) \(.value)"')" "the threshold's default"
    printf '# team defaults\nCUTOVER_LEDGER=%s\nCUTOVER_SERVER = "http://127.0.0.1:1"\n' "$TEST_TMP/file.jsonl" \
        >cutover.conf
    must config --json
    assert_eq "$TEST_TMP/cutover.conf" "$(jq -r .file <<<"$OUT")" "the file read"
    assert_eq "file $TEST_TMP/cutover.conf:2 $TEST_TMP/file.jsonl" \
        "$(jq_setting CUTOVER_LEDGER '"\(.source) \(.origin) \(.value)"')" "the ledger from the file, with its line"
    CUTOVER_LEDGER="$TEST_TMP/env.jsonl" must config --json
    assert_eq "env CUTOVER_LEDGER $TEST_TMP/env.jsonl" \
        "$(jq_setting CUTOVER_LEDGER '"\(.source) \(.origin) \(.value)"')" "the environment wins over the file"
    assert_eq "file http://127.0.0.1:1" "$(jq_setting CUTOVER_SERVER '"\(.source) \(.value)"')" "quotes dropped"
    CUTOVER_LEDGER="$TEST_TMP/env.jsonl" must config
    assert_match "$OUT" "CUTOVER_LEDGER +$TEST_TMP/env.jsonl +env \(CUTOVER_LEDGER\)" "the human table"
    assert_match "$OUT" "CUTOVER_SERVER +http://127.0.0.1:1 +file \($TEST_TMP/cutover.conf:3\)" "the file's line"
}

test_commands_take_flag_then_env_then_file() {
    printf 'CUTOVER_LEDGER=%s\n' "$TEST_TMP/file.jsonl" >cutover.conf
    cutover gate status
    assert_eq 2 "$RC" "the file's ledger does not exist"
    assert_contains "$ERR" "$TEST_TMP/file.jsonl" "gate status used the file's ledger"
    CUTOVER_LEDGER="$TEST_TMP/env.jsonl" cutover gate status
    assert_contains "$ERR" "$TEST_TMP/env.jsonl" "the environment wins over the file"
    CUTOVER_LEDGER="$TEST_TMP/env.jsonl" cutover gate status --ledger "$TEST_TMP/flag.jsonl"
    assert_contains "$ERR" "$TEST_TMP/flag.jsonl" "the flag wins over both"
    assert_not_contains "$ERR" "env.jsonl" "and only the flag is used"
    rm cutover.conf
    cutover gate status
    assert_eq 2 "$RC" "no ledger anywhere"
    assert_contains "$ERR" "no ledger: give --ledger FILE (or postgresql://...), or set CUTOVER_LEDGER" "says how"
    # The work folder of backfill; the reference's WORK_DIR still works, CUTOVER_WORK_DIR wins over it.
    must fixtures stores
    CUTOVER_WORK_DIR="$TEST_TMP/w1" WORK_DIR="$TEST_TMP/w0" must backfill --store "auth=$TEST_TMP/stores/auth.json"
    assert_contains "$OUT" "manifest: $TEST_TMP/w1/manifests/" "backfill's work folder from CUTOVER_WORK_DIR"
    # The server and token of the live verbs, and the trusted keys of evidence verify.
    CUTOVER_SERVER="http://127.0.0.1:1" CUTOVER_TOKEN="t" cutover routes get
    assert_eq 3 "$RC" "nothing listens on port 1"
    assert_contains "$ERR" "127.0.0.1:1" "routes get used CUTOVER_SERVER"
    cutover routes get
    assert_contains "$ERR" "no server: give --server URL" "no server anywhere"
    CUTOVER_TRUST="$TEST_TMP/a.pub, $TEST_TMP/b.pub" cutover evidence verify "$TEST_TMP/bundle"
    assert_ne 0 "$RC" "no such keys"
    assert_contains "$ERR" "$TEST_TMP/a.pub" "evidence verify used CUTOVER_TRUST"
    cutover evidence verify "$TEST_TMP/bundle"
    assert_contains "$ERR" "no trusted key: give --trust KEY.pub, or set CUTOVER_TRUST" "no keys anywhere"
}

test_the_token_is_never_printed() {
    printf 'CUTOVER_TOKEN=secret-token-value\n' >cutover.conf
    chmod 644 cutover.conf
    cutover config
    assert_eq 3 "$RC" "a token in a file others may read"
    assert_contains "$ERR" "holds CUTOVER_TOKEN but group or others may read it (mode 0644): chmod 600" "says what to do"
    chmod 600 cutover.conf
    must config
    assert_match "$OUT" "CUTOVER_TOKEN +\(set; not shown\) +file" "only that it is set"
    must config --json
    assert_eq "true null" "$(jq_setting CUTOVER_TOKEN '"\(.set) \(.value)"')" "JSON: set, no value"
    CUTOVER_TOKEN=other-secret must config --json
    assert_not_contains "$OUT" "secret" "no token value in the output"
}

test_malformed_conf_names_file_line_and_key() {
    printf 'CUTOVER_SERVER=http://127.0.0.1:8787\nCUTOVER_LEGDER=/srv/ledger.jsonl\nnonsense\n' >cutover.conf
    cutover config
    assert_eq 2 "$RC" "config refuses it"
    assert_contains "$ERR" "cutover config: error: settings file $TEST_TMP/cutover.conf is not usable:" "the file"
    assert_contains "$ERR" "cutover.conf:2: unknown key 'CUTOVER_LEGDER'; did you mean CUTOVER_LEDGER?" "line and key"
    assert_contains "$ERR" "cutover.conf:3: expected KEY=VALUE" "every problem"
    cutover gate status
    assert_eq 2 "$RC" "a command that reads it refuses it too"
    assert_match "$ERR" "^cutover gate status: error: settings file" "named by the command"
}

test_init_env_file_is_a_valid_conf_and_env() {
    must init "$TEST_TMP/setup"
    cp "$TEST_TMP/setup/cutover.env" cutover.conf
    must config --json
    assert_eq "file $TEST_TMP/setup/work" "$(jq_setting CUTOVER_WORK_DIR '"\(.source) \(.value)"')" "as cutover.conf"
    assert_eq "file http://127.0.0.1:8787" "$(jq_setting CUTOVER_SERVER '"\(.source) \(.value)"')" "the server"
    rm cutover.conf
    # Loaded into a shell (bash, as the runbook's blocks run).
    OUT="$(set -a && . "$TEST_TMP/setup/cutover.env" && set +a && "$BIN" config --json)" || fatal "config failed"
    assert_eq "env $TEST_TMP/setup/work" "$(jq_setting CUTOVER_WORK_DIR '"\(.source) \(.value)"')" "as environment"
    assert_eq "unset" "$(jq_setting CUTOVER_LEDGER source)" "the commented ones stay unset"
}

run_test test_config_shows_each_value_and_its_source
run_test test_commands_take_flag_then_env_then_file
run_test test_the_token_is_never_printed
run_test test_malformed_conf_names_file_line_and_key
run_test test_init_env_file_is_a_valid_conf_and_env
run_test test_init_token_serve_request
run_test test_init_baseline_is_accepted_by_verify
run_test test_init_refuses_to_overwrite
run_test test_baseline_from_a_backfill_is_accepted_by_verify
run_test test_baseline_refuses_unfinished_and_unverified_runs
finish_tests
