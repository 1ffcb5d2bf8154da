#!/usr/bin/env bash
# End-to-end tests of `cutover token new|list|revoke` (issue 16): the tokens
# file of docs/formats/tokens.md, kept without openssl and sha256sum.
#   tests/e2e/token.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary token "${1:-}" sha256sum curl jq

test_token_new_list_revoke() {
    local f="$TEST_TMP/tokens.txt" alice bob
    must token new alice --role operator --tokens-file "$f"
    alice="$(printf '%s\n' "$OUT" | tail -n 1)"
    assert_match "$alice" "^[0-9a-f]{64}$" "the token alone on the last line"
    assert_eq 600 "$(stat -c %a "$f")" "a new tokens file is private"
    must token new bob --role viewer --tokens-file "$f"
    bob="$(printf '%s\n' "$OUT" | tail -n 1)"
    assert_eq "operator alice sha256:$(printf %s "$alice" | sha256sum | cut -c1-64)" "$(sed -n 1p "$f")" "alice's line"
    assert_eq "viewer bob sha256:$(printf %s "$bob" | sha256sum | cut -c1-64)" "$(sed -n 2p "$f")" "bob's line"
    assert_not_contains "$(cat "$f")" "$alice" "the file holds hashes, never tokens"
    cutover token new alice --role viewer --tokens-file "$f"
    assert_eq 2 "$RC" "a repeated name"
    assert_match "$ERR" "^cutover token new: error: .*already has a token named 'alice'" "repeated name message"
    cutover token new 'bad name' --role viewer --tokens-file "$f"
    assert_eq 2 "$RC" "a name with a space"
    cutover token new carol --role admin --tokens-file "$f"
    assert_eq 2 "$RC" "an unknown role"
    must token list --tokens-file "$f"
    assert_match "$OUT" "^operator alice sha256:[0-9a-f]{12}\.\.\."$'\n'"viewer bob sha256:[0-9a-f]{12}\.\.\.$" "list"
    assert_not_contains "$OUT" "$(sed -n 1p "$f" | cut -d: -f2)" "list shows no whole hash"
    must token revoke alice --tokens-file "$f"
    assert_eq "viewer bob sha256:$(printf %s "$bob" | sha256sum | cut -c1-64)" "$(cat "$f")" "after revoke"
    assert_eq 600 "$(stat -c %a "$f")" "revoke keeps the mode"
    cutover token revoke alice --tokens-file "$f"
    assert_eq 2 "$RC" "revoking a name not there"
}

# A running server takes new and revoked tokens on SIGHUP, refuses a bad
# file (the tokens in force stay) and audits the reload.
test_server_reloads_tokens_on_sighup() {
    write_setup
    start_server
    local f="$TEST_TMP/tokens.txt" carol
    must token new carol --role viewer --tokens-file "$f"
    carol="$(printf '%s\n' "$OUT" | tail -n 1)"
    req GET "$CTRL/status" "$carol"
    assert_eq 401 "$CODE" "a new token before SIGHUP"
    hup_and_wait "tokens reloaded (3 tokens)"
    req GET "$CTRL/status" "$carol"
    assert_eq 200 "$CODE" "the new token after SIGHUP"
    assert_eq 1 "$(grep -c '"event":"route.split.tokens.reloaded"' "$TEST_TMP/state/audit.jsonl")" "audit line"
    assert_not_contains "$(cat "$TEST_TMP/state/audit.jsonl")" "carol" "the audit names no token holder"
    # A file others may read is refused; carol still gets in.
    chmod 644 "$f"
    hup_and_wait "tokens reload refused: tokens file $f is readable or writable by group or others"
    req GET "$CTRL/status" "$carol"
    assert_eq 200 "$CODE" "the tokens in force stay after a refused reload"
    chmod 600 "$f"
    must token revoke carol --tokens-file "$f"
    hup_and_wait "tokens reloaded (2 tokens)"
    req GET "$CTRL/status" "$carol"
    assert_eq 401 "$CODE" "a revoked token after SIGHUP"
    req GET "$CTRL/status" "$VIEW_TOKEN"
    assert_eq 200 "$CODE" "the other tokens still work"
    stop_server
}

# hup_and_wait TEXT: SIGHUP to the server; waits (at most 10 s) until its
# log holds TEXT one more time than before.
hup_and_wait() {
    local before i
    before="$(grep -cF -- "$1" "$SERVER_ERR")"
    kill -HUP "$PID"
    for ((i = 0; i < 500; i++)); do
        (($(grep -cF -- "$1" "$SERVER_ERR") > before)) && return 0
        sleep 0.02
    done
    fatal "the server never logged '$1' after SIGHUP: $(tail -n 5 "$SERVER_ERR")"
}

run_test test_token_new_list_revoke
run_test test_server_reloads_tokens_on_sighup
finish_tests
