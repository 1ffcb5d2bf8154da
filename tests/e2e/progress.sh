#!/usr/bin/env bash
# End-to-end tests of the progress bar (issue 16): backfill, verify and
# rollback of a 65 MiB store draw it on a terminal (a pseudo-terminal from
# util-linux `script`), with percent, bytes, rate and ETA, ending on a 100%
# line; nothing of it without a terminal, with --quiet, with --json, or for
# a store under 64 MiB; a refusal clears it before its message.
#   tests/e2e/progress.sh [path/to/cutover]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
e2e_binary progress "${1:-}" jq script seq

# One drawing of the bar, as progress_line prints it.
BAR_RE='^(backfill|verify|rollback)( \[[#.]+\])? +[0-9]{1,3}%  [0-9]+\.[0-9]/[0-9]+\.[0-9] MiB  ([0-9]+\.[0-9]|--) MiB/s  ETA ([0-9]+:[0-9]{2}|--)$'

# big_store: $S/domain.json, a domain store of about 65 MiB (the fixture's
# with 759997 shouts; over the bar's 64 MiB; backfill refuses it unless it
# is JSON), and $W for the work folder.
big_store() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    must fixtures "$S"
    local fixture="$S/domain.json.fixture"
    mv "$S/domain.json" "$fixture"
    {
        grep -v -e '"shouts"' -e '"whispers"' -e '^}$' "$fixture"
        printf '  "shouts": ['
        seq 5 760000 | sed 's/.*/{"id": &, "user_id": "user-1", "body": "a shout of some length, to fill the store"},/'
        printf '{"id": 760001, "user_id": "user-1", "body": "last"}],\n'
        grep '"whispers"' "$fixture" | sed 's/"id": 6/"id": 760002/'
        echo '}'
    } >"$S/domain.json"
    rm "$fixture"
    (($(stat -c %s "$S/domain.json") >= 64 * 1024 * 1024)) || fatal "the big store is under 64 MiB"
}

# on_tty NAME ARGS...: runs cutover ARGS... with stderr on a pseudo-terminal
# and stdout in NAME.out; what reached the terminal is in NAME.tty; sets RC.
on_tty() {
    local name="$1" cmd q arg
    shift
    cmd="$(printf '%q' "$BIN")"
    for arg in "$@"; do cmd+=" $(printf '%q' "$arg")"; done
    q="$(printf '%q' "$TEST_TMP/$name.out")"
    timeout 120 script -q -e -c "$cmd >$q" /dev/null >"$TEST_TMP/$name.tty" </dev/null
    RC=$?
}

# drawings FILE: each drawing of the bar in FILE (the terminal's bytes),
# one a line, without the \r and the clear-to-end-of-line around it.
drawings() { sed 's/\x1b\[K//g' "$1" | tr '\r' '\n' | grep -v '^$'; }

# assert_bar NAME COMMAND: NAME.tty holds COMMAND's bar: every drawing is
# well formed and labelled, the first is 0% (shown from the start), the
# last is 100% of the total with its rate, and the terminal's last bytes
# end that line.
assert_bar() {
    local name="$1" command="$2" lines last total line
    lines="$(drawings "$TEST_TMP/$name.tty")"
    [[ -n "$lines" ]] || { _e2e_fail "$name: no bar on the terminal"; return; }
    while IFS= read -r line; do
        assert_match "$line" "$BAR_RE" "$name: a drawing of the bar"
        assert_match "$line" "^$command" "$name: the bar is labelled"
    done <<<"$lines"
    last="$(tail -n 1 <<<"$lines")"
    assert_match "$last" ' 100%  ([0-9.]+)/([0-9.]+) MiB' "$name: the last drawing is 100%"
    [[ "$last" =~ \ ([0-9.]+)/([0-9.]+)\ MiB ]] && assert_eq "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}" "$name: done = total"
    total="$(head -n 1 <<<"$lines")"
    assert_match "$total" ' 0%  0\.0/' "$name: the bar shows from the start"
    assert_match "$last" 'MiB/s  ETA 0:00$' "$name: the final line has the rate"
    # The pty turns the final \n into \r\n: the next message starts on a clean line.
    assert_eq "1b5b4b0d0a" "$(tail -c 5 "$TEST_TMP/$name.tty" | od -An -tx1 | tr -d ' \n')" "$name: ends its line"
}

# assert_no_bar FILE WHAT: nothing of the bar (no \r, no escape, no percent) in FILE.
assert_no_bar() {
    local text
    text="$(cat "$1")"
    assert_not_contains "$text" $'\r' "$2: a carriage return"
    assert_not_contains "$text" $'\033' "$2: an escape sequence"
    assert_not_contains "$text" "MiB/s" "$2: a rate"
    assert_not_contains "$text" "%" "$2: a percent"
}

test_backfill_verify_and_rollback_draw_the_bar_on_a_terminal() {
    big_store
    on_tty backfill backfill --store "domain=$S/domain.json" --work-dir "$W"
    assert_eq 0 "$RC" "backfill: $(cat "$TEST_TMP/backfill.tty")"
    assert_bar backfill backfill
    local manifest
    manifest="$(sed -n 's/^manifest: //p' "$TEST_TMP/backfill.out")"
    [[ -f "$manifest" ]] || fatal "no manifest on stdout: $(cat "$TEST_TMP/backfill.out")"
    on_tty verify verify "$manifest"
    assert_eq 0 "$RC" "verify: $(cat "$TEST_TMP/verify.tty")"
    assert_bar verify verify
    assert_contains "$(cat "$TEST_TMP/verify.out")" "verify: ok" "verify's verdict on stdout"
    on_tty rollback rollback "$manifest"
    assert_eq 0 "$RC" "rollback: $(cat "$TEST_TMP/rollback.tty")"
    assert_bar rollback rollback
    assert_contains "$(cat "$TEST_TMP/rollback.out")" "rollback: ok" "rollback's verdict on stdout"
}

test_no_bar_without_a_terminal() {
    big_store
    must backfill --store "domain=$S/domain.json" --work-dir "$W"
    printf '%s' "$ERR" >"$TEST_TMP/backfill.err"
    assert_no_bar "$TEST_TMP/backfill.err" "backfill's stderr, a file"
    local manifest
    manifest="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    must verify "$manifest"
    printf '%s%s' "$ERR" "$OUT" >"$TEST_TMP/verify.err"
    assert_no_bar "$TEST_TMP/verify.err" "verify's output, files"
    must rollback "$manifest"
    printf '%s%s' "$ERR" "$OUT" >"$TEST_TMP/rollback.err"
    assert_no_bar "$TEST_TMP/rollback.err" "rollback's output, files"
}

test_quiet_and_json_draw_nothing_on_a_terminal() {
    big_store
    on_tty backfill_quiet backfill --quiet --store "domain=$S/domain.json" --work-dir "$W"
    assert_eq 0 "$RC" "backfill --quiet"
    assert_eq "" "$(cat "$TEST_TMP/backfill_quiet.tty")" "backfill --quiet: the terminal"
    local manifest
    manifest="$(sed -n 's/^manifest: //p' "$TEST_TMP/backfill_quiet.out")"
    on_tty verify_quiet verify --quiet "$manifest"
    assert_eq 0 "$RC" "verify --quiet"
    assert_eq "" "$(cat "$TEST_TMP/verify_quiet.tty")" "verify --quiet: the terminal"
    local name
    for name in verify rollback backfill; do
        case "$name" in
        backfill) on_tty backfill_json backfill --json --store "domain=$S/domain.json" --work-dir "$W" ;;
        *) on_tty "${name}_json" "$name" --json "$manifest" ;;
        esac
        assert_eq 0 "$RC" "$name --json"
        assert_eq "" "$(cat "$TEST_TMP/${name}_json.tty")" "$name --json: the terminal"
        assert_eq 1 "$(jq -s length "$TEST_TMP/${name}_json.out")" "$name --json: one JSON document on stdout"
        assert_eq true "$(jq -r '.ok // (.manifest.status == "complete")' "$TEST_TMP/${name}_json.out")" "$name --json: ok"
    done
}

test_a_small_store_draws_no_bar() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    must fixtures "$S"
    on_tty backfill backfill --store "domain=$S/domain.json" --store "auth=$S/auth.json" --work-dir "$W"
    assert_eq 0 "$RC" "backfill"
    assert_eq "" "$(cat "$TEST_TMP/backfill.tty")" "backfill of the fixtures: the terminal"
    local manifest
    manifest="$(sed -n 's/^manifest: //p' "$TEST_TMP/backfill.out")"
    on_tty verify verify "$manifest"
    assert_eq 0 "$RC" "verify"
    assert_eq "" "$(cat "$TEST_TMP/verify.tty")" "verify of the fixtures: the terminal"
}

test_a_refused_rollback_clears_the_bar_before_its_message() {
    big_store
    must backfill --store "domain=$S/domain.json" --work-dir "$W"
    local manifest
    manifest="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    echo ' ' >>"$S/domain.json"  # written since the migration: drifted
    on_tty rollback rollback "$manifest"
    assert_eq 1 "$RC" "a drifted store refuses the rollback"
    local tty
    tty="$(cat "$TEST_TMP/rollback.tty")"
    assert_contains "$tty" "rollback [" "the bar was drawn while preflight read the backup"
    assert_contains "$tty" $'\r\033[Kcutover rollback: error: ' "the bar is cleared; the error starts its own line"
    # A final line ends with the clear-to-end-of-line and a newline: none here.
    assert_not_contains "$tty" $'\033[K\r\n' "no final line for work that stopped"
}

run_test test_backfill_verify_and_rollback_draw_the_bar_on_a_terminal
run_test test_no_bar_without_a_terminal
run_test test_quiet_and_json_draw_nothing_on_a_terminal
run_test test_a_small_store_draws_no_bar
run_test test_a_refused_rollback_clears_the_bar_before_its_message
finish_tests
