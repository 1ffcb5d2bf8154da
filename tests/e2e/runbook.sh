#!/usr/bin/env bash
# End-to-end test of docs/RUNBOOK.md (issue 6: "every command in it is run by
# an end-to-end test, so the runbook cannot rot").
#
#   tests/e2e/runbook.sh [BIN]
#
# Every ```sh block of the runbook is extracted, in order, and run verbatim in
# one bash session (set -euo pipefail), with BIN first on PATH as `cutover`,
# in a temporary folder that stands in for production:
#
#   OA_DATA=$TEST_TMP/srv        the built-in fixtures as the three stores
#                                (`cutover fixtures`), and under cutover/ what
#                                the runbook's Setup says must exist: the route
#                                config naming its tokens file, an operator
#                                token, the count baseline, and the canary
#                                samples the metrics system would export
#   LISTEN=127.0.0.1:0           the control server the runbook starts picks a
#                                free port and prints it (the runbook reads it)
#   HOME=$TEST_TMP/home          so the signers' throwaway keys stay here
#   GROUP=billing_l402
#
# The session starts from an empty environment (env -i) but for those, PATH,
# TMPDIR and the locale, in a process group of its own, which is sent SIGTERM
# afterwards (that stops the control server the runbook started).
#
# The test asserts that the session runs to the end; that every command marked
# `# expect: exit N` exits with N (and that every such mark was checked); that
# the number of blocks that ran to their end is the number of ```sh fences in
# the file; that every fence that looks like shell is a ```sh block; that no
# other block holds a `cutover ...` command (it would never be run); that
# every `cutover` subcommand the blocks name exists; and the end state the
# runbook promises (the group at contract, a passing drill, the stores back at
# their pre-migration bytes after the Rollback section, every group on its
# rollback target). The last tests feed the runner broken copies of the
# runbook to prove each of those checks can fail. Nothing sleeps: the runbook
# reads the server's first line, and the test waits for processes with
# `tail --pid`.
# shellcheck disable=SC2317,SC2031,SC2016
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"

e2e_binary runbook.sh "${1:-}" jq curl awk grep sed setsid timeout tail pgrep sha256sum od
RUNBOOK="$root/docs/RUNBOOK.md"
GROUP=billing_l402

# --- reading the runbook ------------------------------------------------------------

# The fence logic both awk programs share: a fence is ``` or ~~~ (three or
# more), possibly indented; its info string's first word is the language; it
# closes with a run of the same character at least as long and nothing else.
AWK_FENCES='
function fence_open(s,   t) {
  t = s; sub(/^[ ]*/, "", t)
  if (t !~ /^(```|~~~)/) return 0
  F_CHAR = substr(t, 1, 1); F_LEN = 0
  while (substr(t, F_LEN + 1, 1) == F_CHAR) F_LEN++
  F_INFO = substr(t, F_LEN + 1); sub(/^[ \t]+/, "", F_INFO); sub(/[ \t].*$/, "", F_INFO)
  return 1
}
function fence_close(s,   t, n) {
  t = s; sub(/^[ ]*/, "", t); sub(/[ \t]+$/, "", t)
  if (substr(t, 1, 1) != F_CHAR) return 0
  n = 0
  while (substr(t, n + 1, 1) == F_CHAR) n++
  return n >= F_LEN && n == length(t)
}
'

# lint_runbook FILE: prints one problem a line (nothing when the file is
# fine), and "use LINE SUB [SUB2]" for every `cutover SUB` a ```sh block names.
lint_runbook() {
    awk "$AWK_FENCES"'
    function problem(nr, msg) { print "problem line " nr ": " msg }
    function is_command(s) {
      return s ~ /^[ \t]*(\$[ \t]+)?cutover[ \t]+[a-z]/ && s !~ /^[ \t]*(\$[ \t]+)?cutover( [a-z][a-z-]*)*:/
    }
    # Every `cutover WORD [WORD]` in a line of a sh block.
    function uses(s, nr,   rest, w1, w2) {
      rest = s
      while (match(rest, /(^|[^A-Za-z0-9_\/.-])cutover[ \t]+[a-z][a-z-]*/)) {
        w1 = substr(rest, RSTART, RLENGTH); sub(/^.*cutover[ \t]+/, "", w1)
        rest = substr(rest, RSTART + RLENGTH)
        w2 = ""
        if (match(rest, /^[ \t]+[a-z][a-z-]*/)) { w2 = substr(rest, RSTART, RLENGTH); sub(/^[ \t]+/, "", w2) }
        print "use " nr " " w1 " " w2
      }
    }
    {
      if (!infence) {
        if (fence_open($0)) {
          infence = 1; lang = F_INFO; open_nr = NR; prev = ""
          l = tolower(lang)
          if (lang != "sh" && (l ~ /^(bash|shell|zsh|ksh|dash|console|shell-session|shellsession|sh-session|terminal)$/ || l ~ /^sh[^a-z]/ || l == "sh"))
            problem(NR, "a shell block must be ```sh to be run (found ```" lang ")")
        }
        next
      }
      if (fence_close($0)) { infence = 0; next }
      if (lang == "sh") {
        if ($0 ~ /expect:/ && $0 !~ /[ \t]#[ \t]expect:[ \t]exit[ \t][0-9]+[ \t]*$/)
          problem(NR, "an expected exit is written \"COMMAND  # expect: exit N\", at the end of the line: " $0)
        if ($0 ~ /#[ \t]expect:[ \t]exit/ && prev ~ /\\$/)
          problem(NR, "\"# expect: exit N\" on a continued command: put the command on one line")
        uses($0, NR)
        prev = $0
      } else {
        if (is_command($0)) problem(NR, "a cutover command outside a ```sh block would never be run: " $0)
        if ($0 ~ /#[ \t]*expect:[ \t]*exit/) problem(NR, "\"# expect: exit\" outside a ```sh block is never checked")
      }
    }
    END { if (infence) problem(open_nr, "a code block that is never closed") }
    ' "$1"
}

# generate_session FILE MAP: the bash session, on stdout: a prelude, then each
# ```sh block between two markers, with "COMMAND  # expect: exit N" lines
# turned into a check of COMMAND's status. MAP gets "SCRIPT_LINE RUNBOOK_LINE"
# for every line copied from the runbook.
SESSION_PRELUDE="$(cat <<'PRELUDE'
set -euo pipefail
__runbook_mark() { printf '%s\n' "$*" >>"$__RUNBOOK_MARKS"; }
__runbook_expect() {
  __runbook_mark "expect $3 want $1 got $2"
  if [[ "$2" != "$1" ]]; then echo "runbook.sh: RUNBOOK.md line $3 should exit $1 but exited $2" >&2; exit 90; fi
}
trap '__runbook_mark "failed $LINENO $?"' ERR
PRELUDE
)"
generate_session() {
    printf '%s\n' "$SESSION_PRELUDE"
    awk -v map="$2" -v out="$(wc -l <<<"$SESSION_PRELUDE")" "$AWK_FENCES"'
    function emit(s) { out++; print s }
    function copy(s) { emit(s); print out, NR > map }
    {
      if (!infence) {
        if (fence_open($0)) {
          infence = 1; lang = F_INFO
          if (lang == "sh") { blocks++; emit("__runbook_mark \"start " blocks " " NR "\"") }
        }
        next
      }
      if (fence_close($0)) {
        infence = 0
        if (lang == "sh") emit("__runbook_mark \"end " blocks "\"")
        next
      }
      if (lang != "sh") next
      if (match($0, /[ \t]+#[ \t]expect:[ \t]exit[ \t][0-9]+[ \t]*$/)) {
        cmd = substr($0, 1, RSTART - 1)
        code = substr($0, RSTART); sub(/^.*exit[ \t]/, "", code); sub(/[ \t]*$/, "", code)
        copy("__rc=0; " cmd " || __rc=$?; __runbook_expect " code " \"$__rc\" " NR)
      } else {
        copy($0)
      }
    }
    END { emit("__runbook_mark \"done " blocks "\"") }
    ' "$1"
}

# sh_fences FILE: the number of ```sh fences, counted apart from the awk
# programs above, so a block they fail to see is noticed.
sh_fences() { grep -cE '^[[:space:]]*(```|~~~)[[:space:]]*sh[[:space:]]*$' "$1"; }

# expect_marks FILE: the number of "# expect: exit N" marks, counted apart.
expect_marks() { grep -cE '#[[:space:]]*expect:[[:space:]]*exit[[:space:]]*[0-9]' "$1"; }

# --- the stand-in for production -------------------------------------------------------

# samples GROUP: a healthy canary window (docs/formats/canary-samples.md):
# every stage held 600 s, a reading a minute, at the edge of the thresholds.
# The gates take only readings observed after the group's canary record, and
# this file is made before the runbook runs: the window starts an hour ahead.
samples() {
    jq -n --arg g "$1" '
      ((now | floor) + 3600) as $t0
      | {schema: "cutover.canary_samples.v1", group: $g,
       samples: [ [5, 25, 50, 100] | to_entries[] | .key as $i | .value as $stage
                  | range(0; 601; 60) as $s
                  | {stage: $stage, time: (($t0 + $i * 660 + $s) | todate),
                     requests: 1000, errors_5xx: 9, p95_ms: 120, baseline_p95_ms: 100} ]}'
}

# provision: what the runbook's Setup says must exist before the first step,
# under $TEST_TMP/srv; remembers the stores' bytes.
provision() {
    SRV="$TEST_TMP/srv"
    HOME_DIR="$TEST_TMP/home"
    local c="$SRV/cutover" token
    mkdir -p "$TEST_TMP/bin" "$HOME_DIR" "$TEST_TMP/tmp" "$TEST_TMP/cwd" "$c/evidence/$GROUP"
    ln -s "$BIN" "$TEST_TMP/bin/cutover"
    "$BIN" fixtures "$SRV" >/dev/null || fatal "cutover fixtures failed"
    remember_file "$SRV/auth.json" "$SRV/codex_threads.json" "$SRV/domain.json"
    token="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    (umask 077 && printf '%s\n' "$token" >"$c/operator.token")
    (umask 077 && printf 'operator runbook-e2e sha256:%s\n' "$(printf '%s' "$token" | sha256sum | cut -c1-64)" >"$c/tokens.txt")
    # Issue 17: the rollback and forward targets `routes check` asks are a
    # stub `cutover serve` (it answers /healthz), stopped after the session.
    write_setup
    start_server
    jq -n --arg url "$BASE" '{tokens_file: "tokens.txt", legacy_base_url: $url, rust_base_url: $url}' >"$c/routes.json"
    jq -n '{schema: "cutover.baseline.v1", description: "the built-in fixtures",
            environments: {e2e: {stores: {
              auth: {users: {min: 1}, sessions: {min: 1}, personal_access_tokens: {min: 1}},
              codex_threads: {threads: {min: 1}, messages: {min: 1}},
              domain: {integrations: {exact: 1}, l402_paywalls: {exact: 0}}}}}}' >"$c/baseline.json"
    samples "$GROUP" >"$c/evidence/$GROUP/canary-samples.json"
}

# run_runbook FILE: provisions, then runs FILE's sh blocks in one session.
# Sets RUN_RC (the session's exit status); the session's output is in
# $TEST_TMP/session.log, its markers in $TEST_TMP/marks.
run_runbook() {
    provision
    generate_session "$1" "$TEST_TMP/map" >"$TEST_TMP/session.sh"
    : >"$TEST_TMP/marks"
    (
        cd "$TEST_TMP/cwd" &&
            exec env -i PATH="$TEST_TMP/bin:$PATH" HOME="$HOME_DIR" TMPDIR="$TEST_TMP/tmp" LC_ALL=C TZ=UTC \
                OA_DATA="$SRV" LISTEN=127.0.0.1:0 GROUP="$GROUP" __RUNBOOK_MARKS="$TEST_TMP/marks" \
                NEW_READER="jq -e type {}" \
                setsid timeout 300 bash "$TEST_TMP/session.sh"
    ) >"$TEST_TMP/session.log" 2>&1 </dev/null &
    local pgid=$!
    wait "$pgid"
    RUN_RC=$?
    # Stop what the session left running (the control server), and wait for it.
    local pids pid
    pids="$(pgrep -g "$pgid" || true)"
    kill -TERM -- "-$pgid" 2>/dev/null
    for pid in $pids; do timeout 20 tail --pid="$pid" -f /dev/null || _e2e_fail "process $pid of the session did not stop"; done
    SERVER_STOPPED=$([[ -n "$pids" ]] && echo yes || echo no)
    stop_server  # the stub targets
}

# explain_failure: where the session stopped, in runbook lines.
explain_failure() {
    local failed line rc src
    failed="$(grep '^failed ' "$TEST_TMP/marks" | tail -n 1)"
    if [[ -n "$failed" ]]; then
        read -r _ line rc <<<"$failed"
        src="$(awk -v l="$line" '$1 == l { print $2 }' "$TEST_TMP/map")"
        printf '    the session stopped at RUNBOOK.md line %s (exit %s): %s\n' "${src:-?}" "$rc" \
            "$(sed -n "${src:-0}p" "$RUNBOOK_UNDER_TEST" 2>/dev/null)"
    fi
    printf '    last lines of the session:\n'
    tail -n 25 "$TEST_TMP/session.log" | sed 's/^/      /'
}

# marks_of KIND: the markers of one kind.
marks_of() { grep -c "^$1 " "$TEST_TMP/marks"; }

# --- the runbook as it is ---------------------------------------------------------------

test_the_runbook_has_no_block_that_would_not_run() {
    local out problems
    out="$(lint_runbook "$RUNBOOK")"
    problems="$(grep '^problem ' <<<"$out")"
    assert_eq "" "$problems" "problems in docs/RUNBOOK.md"
    local n
    n="$(sh_fences "$RUNBOOK")"
    ((n >= 10)) || _e2e_fail "only $n sh blocks in the runbook"
    # The words the harness's runbook check looks for (src/cutover/harness).
    local word
    for word in Expand Migrate Verify Rollback Contract; do
        assert_contains "$(cat "$RUNBOOK")" "$word" "the runbook names $word"
    done
}

# check_subcommands FILE: every `cutover SUB [SUB2]` of FILE's sh blocks is a
# command of BIN (SUB2 checked when SUB has subcommands of its own).
check_subcommands() {
    local top nested nr sub sub2 uses=0
    top="$("$BIN" --help | awk '/^Subcommands:/ { f = 1; next } f && NF { print $1 }')"
    [[ -n "$top" ]] || fatal "cutover --help lists no subcommands"
    while read -r _ nr sub sub2; do
        uses=$((uses + 1))
        if ! grep -qx -- "$sub" <<<"$top"; then
            _e2e_fail "RUNBOOK line $nr: 'cutover $sub' is not a cutover command (cutover --help)"
            continue
        fi
        nested="$("$BIN" "$sub" --help | awk '/^Subcommands:/ { f = 1; next } f && NF { print $1 }')"
        if [[ -n "$nested" ]] && ! grep -qx -- "$sub2" <<<"$nested"; then
            _e2e_fail "RUNBOOK line $nr: 'cutover $sub ${sub2:-(nothing)}' is not a cutover command (cutover $sub --help)"
        fi
    done < <(lint_runbook "$1" | grep '^use ')
    CHECKED_USES=$uses
}

test_every_cutover_subcommand_in_the_runbook_exists() {
    check_subcommands "$RUNBOOK"
    ((CHECKED_USES >= 20)) || _e2e_fail "only $CHECKED_USES cutover commands found in the sh blocks"
}

test_the_runbook_runs_verbatim_to_the_end() {
    RUNBOOK_UNDER_TEST="$RUNBOOK"
    run_runbook "$RUNBOOK"
    assert_eq 0 "$RUN_RC" "the session's exit status" || explain_failure
    local fences expects
    fences="$(sh_fences "$RUNBOOK")"
    expects="$(expect_marks "$RUNBOOK")"
    assert_eq "$fences" "$(marks_of start)" "blocks started = sh fences in RUNBOOK.md"
    assert_eq "$fences" "$(marks_of end)" "blocks run to their end = sh fences in RUNBOOK.md"
    assert_eq "done $fences" "$(grep '^done ' "$TEST_TMP/marks")" "the session reached its end"
    ((expects >= 2)) || _e2e_fail "the runbook shows only $expects refusals"
    assert_eq "$expects" "$(marks_of expect)" "every '# expect: exit N' was checked"
    assert_eq "" "$(grep '^expect ' "$TEST_TMP/marks" | awk '$4 != $6')" "expected exits that did not happen"
    assert_eq no "$(grep -q '^failed ' "$TEST_TMP/marks" && echo yes || echo no)" "a command failed"

    # The end state the runbook promises.
    local c="$SRV/cutover" status
    status="$("$BIN" gate status --ledger "$c/ledger.jsonl" --json)"
    assert_eq 0 "$?" "gate status of the runbook's ledger"
    # Seven steps (expand, migrate, verify, the drill's route rollback at
    # verify, canary, cutover, contract), then the Rollback section's store
    # rollback, which sends the group back to expand.
    assert_eq "true 8 $GROUP:expand" \
        "$(jq -r '"\(.chain_ok) \(.records) \([.groups[] | "\(.group):\(.phase)"] | join(" "))"' <<<"$status")" \
        "the ledger: chain, records, phases"
    assert_eq "route_rollback:verify store_rollback:expand" \
        "$(jq -r 'select(.evidence.event != null) | "\(.evidence.event):\(.phase)"' "$c/ledger.jsonl" | paste -sd' ')" \
        "the rollbacks the ledger recorded"
    assert_eq "contract" "$(sed -n 7p "$c/ledger.jsonl" | jq -r .phase)" "the group reached contract before the rollback"
    assert_eq "true" "$(jq -r .ok "$c/evidence/$GROUP/drill.json")" "the drill report"
    local key
    for key in owner-alice owner-bob; do
        assert_eq 600 "$(stat -c %a "$HOME_DIR/.cutover-keys/$key.key")" "$key's private key mode"
    done
    assert_file_exists "$c/evidence/$GROUP/contract-bundle/statement.dsse.json" "the contract bundle"
    # The Rollback section ran last: the stores are the fixtures' bytes again,
    # and every group is on its rollback target.
    local s
    for s in auth codex_threads domain; do assert_file_unchanged "$SRV/$s.json" "$s store after the rollback"; done
    assert_eq "legacy legacy legacy rust_shell" \
        "$("$BIN" routes status --config "$c/routes.json" --state-dir "$c/route-state" --json |
            jq -r '[.route_groups[] | .override_target] | join(" ")')" "overrides after the rollback"
    # The control server the runbook started was still up at the end, and
    # stopped cleanly on SIGTERM.
    assert_eq yes "$SERVER_STOPPED" "the control server was still running at the end"
    assert_contains "$(cat "$c/serve.log")" "cutover serve: stopped" "serve.log"
    assert_not_contains "$(cat "$TEST_TMP/session.log")" "runbook.sh:" "the runner's complaints"
}

# --- the checks fail on a broken runbook -------------------------------------------------

# broken SED_SCRIPT: a copy of the runbook edited by sed, in $TEST_TMP/RUNBOOK.md.
broken() { sed "$1" "$RUNBOOK" >"$TEST_TMP/RUNBOOK.md"; RUNBOOK_UNDER_TEST="$TEST_TMP/RUNBOOK.md"; }

test_a_refusal_that_does_not_happen_stops_the_run() {
    # The first expected refusal now claims exit 0.
    broken '0,/# expect: exit 1/s//# expect: exit 0/'
    run_runbook "$TEST_TMP/RUNBOOK.md"
    assert_eq 90 "$RUN_RC" "the session's exit status"
    assert_match "$(cat "$TEST_TMP/session.log")" "RUNBOOK\.md line [0-9]+ should exit 0 but exited 1" "the runner names the line"
    assert_eq 0 "$(grep -c '^done ' "$TEST_TMP/marks")" "the session did not reach its end"
    assert_ne "$(sh_fences "$TEST_TMP/RUNBOOK.md")" "$(marks_of end)" "not every block ran"
}

test_a_failing_command_stops_the_run_and_is_named() {
    # A command that fails, in the Verify section (verify of a missing manifest: exit 2).
    broken 's|^cutover counts "\$MANIFEST"|cutover counts /nonexistent/manifest.json|'
    run_runbook "$TEST_TMP/RUNBOOK.md"
    assert_eq 2 "$RUN_RC" "the session's exit status"
    local failed line src
    failed="$(grep '^failed ' "$TEST_TMP/marks" | tail -n 1)"
    read -r _ line _ <<<"$failed"
    src="$(awk -v l="$line" '$1 == l { print $2 }' "$TEST_TMP/map")"
    assert_contains "$(sed -n "${src:-0}p" "$TEST_TMP/RUNBOOK.md")" "cutover counts /nonexistent/manifest.json" "the line the map names"
    assert_eq 0 "$(grep -c '^done ' "$TEST_TMP/marks")" "the session did not reach its end"
}

test_a_block_that_is_not_sh_is_reported() {
    broken '/^## 3. Verify/a\
```bash\
cutover verify "$MANIFEST"\
```\
\
```text\
$ cutover counts "$MANIFEST"\
cutover verify: error: this output line is fine\
```'
    local out
    out="$(lint_runbook "$TEST_TMP/RUNBOOK.md" | grep '^problem ')"
    assert_contains "$out" 'a shell block must be ```sh to be run (found ```bash)'
    assert_contains "$out" 'a cutover command outside a ```sh block would never be run: $ cutover counts "$MANIFEST"'
    assert_contains "$out" 'a cutover command outside a ```sh block would never be run: cutover verify "$MANIFEST"' "the bash block's command"
    assert_not_contains "$out" "this output line is fine" "an output line is not a command"
    assert_eq 3 "$(wc -l <<<"$out" | tr -d ' ')" "problems"
}

test_a_misplaced_expect_mark_is_reported() {
    broken 's|^cutover counts "\$MANIFEST".*|cutover counts "$MANIFEST" #expect: exit 0|'
    assert_contains "$(lint_runbook "$TEST_TMP/RUNBOOK.md" | grep '^problem ')" 'is written "COMMAND  # expect: exit N"'
    # The independent count sees a mark the runner does not check.
    assert_ne "$(expect_marks "$RUNBOOK")" "$(expect_marks "$TEST_TMP/RUNBOOK.md")" "the marks counted"
}

test_an_unknown_subcommand_is_reported() {
    broken 's|^cutover counts "\$MANIFEST"|cutover cuonts "$MANIFEST"|
0,/^cutover gate status/s//cutover gate stauts/'
    (
        check_subcommands "$TEST_TMP/RUNBOOK.md"
        ((ASSERT_FAILS == 2))
    ) >"$TEST_TMP/out"
    assert_eq 0 "$?" "exactly the two misspelt commands fail: $(cat "$TEST_TMP/out")"
    assert_contains "$(cat "$TEST_TMP/out")" "'cutover cuonts' is not a cutover command"
    assert_contains "$(cat "$TEST_TMP/out")" "'cutover gate stauts' is not a cutover command"
}

run_test test_the_runbook_has_no_block_that_would_not_run
run_test test_every_cutover_subcommand_in_the_runbook_exists
run_test test_the_runbook_runs_verbatim_to_the_end
run_test test_a_refusal_that_does_not_happen_stops_the_run
run_test test_a_failing_command_stops_the_run_and_is_named
run_test test_a_block_that_is_not_sh_is_reported
run_test test_a_misplaced_expect_mark_is_reported
run_test test_an_unknown_subcommand_is_reported
finish_tests
