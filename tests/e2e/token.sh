#!/usr/bin/env bash
# End-to-end tests of `cutover token new|list|revoke` (issue 16): the tokens
# file of docs/formats/tokens.md, kept without openssl and sha256sum.
#   tests/e2e/token.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary token "${1:-}" sha256sum

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

run_test test_token_new_list_revoke
finish_tests
