#!/usr/bin/env bash
# End-to-end tests of `--json` on every command (issue 16,
# docs/formats/cli-json.md): whatever happens, standard output holds one
# JSON document (jq parses it) and the exit status is the documented one.
# The command tree is walked through `cutover help --json`, so a new
# command is covered without an edit here.
#   tests/e2e/json.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
e2e_binary json "${1:-}" jq

# leaves [WORDS...]: every command under WORDS that has no subcommands, one a line.
leaves() {
    local subs sub
    subs="$("$BIN" help "$@" --json | jq -r '.commands[]')" || fatal "help $* --json"
    if [[ -z "$subs" ]]; then
        echo "$*"
        return
    fi
    for sub in $subs; do leaves "$@" "$sub"; done
}

# one_document: $OUT is exactly one JSON document (jq -s counts them).
one_document() {
    local n
    n="$(jq -s length <<<"$OUT" 2>/dev/null)" || { echo "not JSON: ${OUT:0:200}"; return 1; }
    [[ "$n" == 1 ]] || { echo "$n documents: ${OUT:0:200}"; return 1; }
}

test_every_command_answers_a_usage_error_in_json() {
    local cmd count=0
    while read -r cmd; do
        # shellcheck disable=SC2086  # the words of the command
        cutover $cmd --json --no-such-flag
        assert_eq 2 "$RC" "$cmd: exit status"
        assert_eq "" "$(one_document)" "$cmd: stdout"
        assert_eq usage "$(jq -r .error.code <<<"$OUT")" "$cmd: error code"
        assert_eq false "$(jq -r .ok <<<"$OUT")" "$cmd: ok"
        assert_contains "$(jq -r .error.message <<<"$OUT")" "--no-such-flag" "$cmd: message"
        assert_match "$ERR" "^cutover $cmd: error: " "$cmd: stderr"
        count=$((count + 1))
    done < <(leaves)
    ((count >= 25)) || _e2e_fail "only $count commands found through help --json"
    echo "    $count commands"
}

test_refusals_are_one_document_with_their_exit_status() {
    local missing="$TEST_TMP/missing.json"
    cutover verify "$missing" --json
    assert_eq 2 "$RC" "verify of a missing manifest"
    assert_eq "" "$(one_document)"
    assert_eq not_found "$(jq -r .error.code <<<"$OUT")"
    assert_contains "$(jq -r .error.message <<<"$OUT")" "$missing"
    cutover counts "$missing" --json
    assert_eq 2 "$RC" "counts of a missing manifest"
    assert_eq "" "$(one_document)"
    cutover backfil --json
    assert_eq 2 "$RC" "a mistyped command"
    assert_eq "unknown command 'backfil'; did you mean 'backfill'?" "$(jq -r .error.message <<<"$OUT")"
    cutover token list --tokens-file "$missing" --json
    assert_eq 2 "$RC" "token list of a missing file"
    assert_eq not_found "$(jq -r .error.code <<<"$OUT")"
    # A step refused for safety: rollback of a manifest whose checksum is off.
    printf '{"not":"a manifest"}' >"$TEST_TMP/bad.json"
    cutover rollback "$TEST_TMP/bad.json" --json
    assert_ne 0 "$RC" "rollback of a bad manifest"
    assert_eq "" "$(one_document)" "rollback's refusal"
    assert_eq false "$(jq -r .ok <<<"$OUT")"
    # After "--" the word is an argument, not the flag.
    cutover canonicalize -- --json
    assert_eq 2 "$RC"
    assert_eq "" "$OUT" "no JSON mode after --"
}

test_commands_without_a_report_print_their_document() {
    must fixtures "$TEST_TMP/fx" --json
    assert_eq "" "$(one_document)"
    assert_eq "$TEST_TMP/fx/auth.json" "$(jq -r .fixtures.auth <<<"$OUT")"
    must backfill --store "auth=$TEST_TMP/fx/auth.json" --work-dir "$TEST_TMP/work" --json
    local manifest
    manifest="$(ls "$TEST_TMP"/work/manifests/*.json | head -n 1)"
    must counts "$manifest" --json
    assert_eq "" "$(one_document)"
    assert_eq auth "$(jq -r '.stores[0].store' <<<"$OUT")"
    # The same counts as the jq-compatible stream, as numbers.
    must counts "$manifest"
    assert_eq "$(jq -c '.counts' <<<"$OUT")" "$("$BIN" counts "$manifest" --json | jq -c '.stores[0].counts')"
    must token new alice --role operator --tokens-file "$TEST_TMP/tokens" --json
    assert_eq "" "$(one_document)"
    assert_match "$(jq -r .token <<<"$OUT")" "^[0-9a-f]{64}$"
    must token list --tokens-file "$TEST_TMP/tokens" --json
    assert_eq '[{"role":"operator","name":"alice"}]' "$(jq -c .tokens <<<"$OUT")"
    must token revoke alice --tokens-file "$TEST_TMP/tokens" --json
    assert_eq alice "$(jq -r .revoked <<<"$OUT")"
    must version --json
    assert_eq "$("$BIN" version)" "$(jq -r .version <<<"$OUT")"
    must help gate --json
    assert_eq "advance destructive status verify" "$(jq -r '.commands | sort | join(" ")' <<<"$OUT")"
    must canonicalize "$TEST_TMP/fx/auth.json" --json
    assert_eq "" "$(one_document)"
}

run_test test_every_command_answers_a_usage_error_in_json
run_test test_refusals_are_one_document_with_their_exit_status
run_test test_commands_without_a_report_print_their_document
finish_tests
