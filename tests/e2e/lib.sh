# shellcheck shell=bash disable=SC2034  # variables set here are for the suites that source it
# Shared helpers for the end-to-end bash suites (source it; do not run it).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   test_something() { ...; assert_eq 0 "$rc" "exit status"; }
#   run_test test_something
#   finish_tests            # prints the summary; exits 1 if any test failed
#
# Each test function runs in its own subshell (so `cd`, exported variables and
# open file descriptors cannot leak into the next test) with a fresh,
# symlink-free temporary folder in $TEST_TMP, removed by an EXIT trap however
# the test ends. An assertion that fails prints why and bumps ASSERT_FAILS;
# the test keeps going, so one run reports every broken check. A test passes
# when none of its assertions failed. `fatal` stops the current test only.
#
# The last section drives `cutover serve` (server.sh, server_load.sh):
# write_setup, start_server / stop_server, req and the raw-socket helpers.
#
# The suites must not depend on the caller's locale, time zone or umask
# (verify and rollback refuse a group- or world-writable work folder).
export LC_ALL=C
export TZ=UTC
umask 022
# `cutover serve` takes its shared state from CUTOVER_STATE: the suites say it themselves.
unset CUTOVER_STATE

E2E_PASSED=0
E2E_FAILED=0
E2E_FAILED_NAMES=()
ASSERT_FAILS=0
declare -A E2E_SHA=()

# e2e_binary SUITE ARG TOOL...: sets BIN to the cutover binary (ARG, or
# build/cutover under the repository) and stops the suite unless BIN is
# executable and every TOOL is on PATH.
e2e_binary() {
    local suite="$1" arg="$2" tool
    shift 2
    BIN="${arg:-$root/build/cutover}"
    [[ "$BIN" == /* ]] || BIN="$PWD/$BIN"
    if [[ ! -x "$BIN" ]]; then
        echo "$suite: binary not found or not executable: $BIN" >&2
        exit 1
    fi
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            echo "$suite: needs $tool on PATH" >&2
            exit 1
        fi
    done
}

# --- reporting --------------------------------------------------------------

# _e2e_fail MESSAGE...: records one failed assertion.
_e2e_fail() {
    ASSERT_FAILS=$((ASSERT_FAILS + 1))
    printf '    FAIL: %s\n' "$*"
}

# _e2e_show TEXT: a value quoted on one line, cut to a readable length.
_e2e_show() {
    local s="$1"
    s="${s//$'\n'/\\n}"
    if ((${#s} > 400)); then s="${s:0:400}..."; fi
    printf "'%s'" "$s"
}

# fatal MESSAGE: fails the current test and stops it (the others still run).
fatal() {
    _e2e_fail "$* (test stopped)"
    exit 1
}

# --- assertions ---------------------------------------------------------------

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
    if [[ "$1" != "$2" ]]; then
        _e2e_fail "${3:-values differ}: expected $(_e2e_show "$1"), got $(_e2e_show "$2")"
        return 1
    fi
}

# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() {
    if [[ "$1" == "$2" ]]; then
        _e2e_fail "${3:-values are equal}: did not expect $(_e2e_show "$2")"
        return 1
    fi
}

# assert_contains HAYSTACK NEEDLE [WHAT]: a fixed-string search.
assert_contains() {
    if [[ "$1" != *"$2"* ]]; then
        _e2e_fail "${3:-text}: expected to contain $(_e2e_show "$2"), got $(_e2e_show "$1")"
        return 1
    fi
}

# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
    if [[ "$1" == *"$2"* ]]; then
        _e2e_fail "${3:-text}: expected not to contain $(_e2e_show "$2"), got $(_e2e_show "$1")"
        return 1
    fi
}

# assert_match STRING ERE [WHAT]: an extended regular expression, anchored by the caller.
assert_match() {
    if ! [[ "$1" =~ $2 ]]; then
        _e2e_fail "${3:-text}: expected to match /$2/, got $(_e2e_show "$1")"
        return 1
    fi
}

# assert_file_exists PATH [WHAT]: a regular file (not a symlink to one).
assert_file_exists() {
    if [[ ! -f "$1" || -L "$1" ]]; then
        _e2e_fail "${2:-file}: $1 is not a regular file"
        return 1
    fi
}

# assert_no_path PATH [WHAT]: nothing at all at PATH.
assert_no_path() {
    if [[ -e "$1" || -L "$1" ]]; then
        _e2e_fail "${2:-path}: $1 should not exist"
        return 1
    fi
}

# assert_same_bytes EXPECTED_FILE ACTUAL_FILE [WHAT]: byte-for-byte equal.
assert_same_bytes() {
    if ! cmp -s -- "$1" "$2"; then
        _e2e_fail "${3:-files differ}: $2 is not byte-identical to $1 ($(cmp -- "$1" "$2" 2>&1 | head -n1))"
        return 1
    fi
}

# sha256_of FILE: the lower-case hex digest sha256sum prints.
sha256_of() {
    local out
    out="$(sha256sum -- "$1" 2>/dev/null)" || { printf 'unreadable'; return 1; }
    printf '%s' "${out%% *}"
}

# remember_file FILE...: records each file's sha256 for assert_file_unchanged.
remember_file() {
    local f
    for f in "$@"; do E2E_SHA["$f"]="$(sha256_of "$f")"; done
}

# assert_file_unchanged FILE [WHAT]: its sha256 is the one remember_file saw.
assert_file_unchanged() {
    if [[ -z "${E2E_SHA[$1]+set}" ]]; then
        _e2e_fail "${2:-file}: $1 was never remembered (test bug)"
        return 1
    fi
    local now
    now="$(sha256_of "$1")"
    if [[ "$now" != "${E2E_SHA[$1]}" ]]; then
        _e2e_fail "${2:-file changed}: $1 had sha256 ${E2E_SHA[$1]}, now $now"
        return 1
    fi
}

# --- running ------------------------------------------------------------------

# run_test FUNCTION: runs one test in a subshell with its own $TEST_TMP and
# prints PASS or FAIL with the time it took. E2E_ONLY=REGEX runs only the tests
# whose function name matches it, E2E_SKIP=REGEX leaves out those that match
# (tests/CMakeLists.txt runs server_load.sh's load test alone and its other
# tests beside the rest); finish_tests fails when they left no test to run.
run_test() {
    local name="$1" rc start end
    [[ -z "${E2E_ONLY:-}" || "$name" =~ $E2E_ONLY ]] || return 0
    [[ -z "${E2E_SKIP:-}" || ! "$name" =~ $E2E_SKIP ]] || return 0
    start="$(date +%s%N)"
    (
        TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/e2e.${name}.XXXXXX")" || exit 99
        TEST_TMP="$(cd "$TEST_TMP" && pwd -P)" || exit 99
        # Kill only what this test started in the background, then clean up
        # (a test may leave read-only files or folders behind).
        trap 'kill $(jobs -p) 2>/dev/null; chmod -R u+rwX "$TEST_TMP" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
        cd "$TEST_TMP" || exit 99
        ASSERT_FAILS=0
        "$name"
        ((ASSERT_FAILS == 0))
    )
    rc=$?
    end="$(date +%s%N)"
    local ms=$(((end - start) / 1000000))
    if ((rc == 0)); then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'PASS %s (%d ms)\n' "$name" "$ms"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILED_NAMES+=("$name")
        printf 'FAIL %s (%d ms)\n' "$name" "$ms"
    fi
}

# finish_tests: the summary line; exit status 1 if any test failed.
finish_tests() {
    echo "$E2E_PASSED passed, $E2E_FAILED failed"
    if ((E2E_PASSED + E2E_FAILED == 0)); then
        echo "no test ran (E2E_ONLY='${E2E_ONLY:-}', E2E_SKIP='${E2E_SKIP:-}' matched none)" >&2
        exit 1
    fi
    if ((E2E_FAILED > 0)); then
        printf 'failed: %s\n' "${E2E_FAILED_NAMES[*]}"
        exit 1
    fi
    exit 0
}

# --- running the binary ----------------------------------------------------------

# cutover ARGS...: runs the binary with no standard input, its temporary files
# in $TEST_TMP, killed after $CUTOVER_TIMEOUT seconds (default 30); sets RC,
# OUT, ERR.
cutover() {
    mkdir -p "$TEST_TMP/.io"
    TMPDIR="$TEST_TMP" timeout "${CUTOVER_TIMEOUT:-30}" "$BIN" "$@" >"$TEST_TMP/.io/out" 2>"$TEST_TMP/.io/err" </dev/null
    RC=$?
    OUT="$(cat "$TEST_TMP/.io/out")"
    ERR="$(cat "$TEST_TMP/.io/err")"
}

# must ARGS...: cutover ARGS..., which must succeed.
must() {
    cutover "$@"
    ((RC == 0)) || fatal "cutover $* failed with status $RC: $ERR $OUT"
}

# migrated: the reference fixtures in $S backfilled into $W; sets MANIFEST.
# (verify_rollback.sh and failclosed_files.sh define their own, which keep
# more state.)
migrated() {
    S="$TEST_TMP/stores"
    W="$TEST_TMP/work"
    must fixtures "$S"
    must backfill --store "auth=$S/auth.json" --store "codex_threads=$S/codex_threads.json" \
        --store "domain=$S/domain.json" --work-dir "$W"
    MANIFEST="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ -f "$MANIFEST" ]] || fatal "no manifest named on stdout: $OUT"
}

# --- the control server (server.sh, server_load.sh) ------------------------------
#
# The tests' tokens and the control API's prefix. The helpers need BIN (from
# e2e_binary) and TEST_TMP; start_server sets PID, ADDR, BASE, SERVER_ERR.

OP_TOKEN="operator-token-e2e-0123456789"
VIEW_TOKEN="viewer-token-e2e-9876543210"
CTRL=/api/v1/control/route-split

sha_of_text() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# write_setup [CONFIG_JSON]: tokens.txt (mode 0600: serve refuses a tokens
# file others may read) and routes.json in $TEST_TMP. The default config:
# cohort mode at 60 %, a legacy base URL, the tokens file.
write_setup() {
    local config="${1:-}"
    if [[ -z "$config" ]]; then
        config='{"mode": "cohort", "cohort_percentage": 60, "legacy_base_url": "https://legacy.example.test/", "tokens_file": "tokens.txt"}'
    fi
    (
        umask 077
        {
            echo "# e2e tokens"
            echo "operator alice sha256:$(sha_of_text "$OP_TOKEN")"
            echo "viewer   bob   sha256:$(sha_of_text "$VIEW_TOKEN")   # read-only"
        } >"$TEST_TMP/tokens.txt"
    )
    printf '%s\n' "$config" >"$TEST_TMP/routes.json"
}

# start_server [ARGS...]: starts `cutover serve --config routes.json
# --listen 127.0.0.1:0 --state-dir state ARGS...`; reads the first line of
# its standard output (the bound address) from a FIFO; sets PID, ADDR, BASE.
# SERVER_N counts servers, so a test may run several.
SERVER_N=0
start_server() {
    SERVER_N=$((SERVER_N + 1))
    local fifo="$TEST_TMP/server$SERVER_N.out"
    mkfifo "$fifo"
    "$BIN" serve --config "$TEST_TMP/routes.json" --listen 127.0.0.1:0 --state-dir "$TEST_TMP/state" "$@" \
        >"$fifo" 2>"$TEST_TMP/server$SERVER_N.err" &
    PID=$!
    # Keep the read end open for the server's whole life.
    eval "exec $((20 + SERVER_N))<\"\$fifo\""
    local line=""
    if ! read -r -t 20 line <&$((20 + SERVER_N)); then
        fatal "server did not print its address: $(cat "$TEST_TMP/server$SERVER_N.err")"
    fi
    assert_match "$line" '^listening on 127\.0\.0\.1:[0-9]+$' "first line of serve"
    ADDR="${line#listening on }"
    BASE="http://$ADDR"
    SERVER_ERR="$TEST_TMP/server$SERVER_N.err"
}

# stop_server [PID]: SIGTERM, then waits (at most 15 s) for the exit; the
# exit status must be 0.
stop_server() {
    local pid="${1:-$PID}"
    kill -TERM "$pid"
    timeout 15 tail -s 0.01 --pid="$pid" -f /dev/null || fatal "server $pid did not exit within 15 s of SIGTERM"
    wait "$pid"
    local rc=$?
    assert_eq 0 "$rc" "exit status after SIGTERM"
}

# req METHOD PATH [TOKEN] [BODY] [CURL_ARGS...]: sets CODE, BODY, HDRS.
req() {
    local method="$1" path="$2" token="${3:-}" body="${4:-}"
    shift 4 2>/dev/null || shift $#
    local args=(-s -S -X "$method" -o "$TEST_TMP/.body" -D "$TEST_TMP/.hdrs" -w '%{http_code}' --max-time 10)
    [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
    [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    CODE="$(curl "${args[@]}" "$@" "$BASE$path")"
    BODY="$(cat "$TEST_TMP/.body")"
    HDRS="$(tr -d '\r' <"$TEST_TMP/.hdrs")"
}

# header NAME: the value of response header NAME in $HDRS (case-insensitive).
header() { printf '%s\n' "$HDRS" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==n {print $2; exit}'; }

# jqb FILTER: FILTER applied to $BODY (raw output).
jqb() { printf '%s' "$BODY" | jq -r "$1"; }

# expect_error STATUS CODE [MESSAGE]: the response is the error envelope.
expect_error() {
    assert_eq "$1" "$CODE" "HTTP status"
    assert_eq "$2" "$(jqb '.error.code')" "error.code"
    assert_eq "$(jqb '.message')" "$(jqb '.error.message')" "message repeats error.message"
    if [[ $# -ge 3 ]]; then assert_eq "$3" "$(jqb '.message')" "message"; fi
}

# raw_connect FD: opens a TCP connection to the server on file descriptor FD.
raw_connect() { eval "exec $1<>/dev/tcp/127.0.0.1/${ADDR##*:}"; }

# read_response FD: reads the next response on FD; sets RAW_STATUS (the
# status line) and RAW_BODY (Content-Length bytes).
read_response() {
    local fd="$1" line len=0
    RAW_STATUS=""
    read -r -t 10 RAW_STATUS <&"$fd" || return 1
    RAW_STATUS="${RAW_STATUS%$'\r'}"
    while read -r -t 10 line <&"$fd"; do
        line="${line%$'\r'}"
        [[ -z "$line" ]] && break
        if [[ "${line,,}" == content-length:* ]]; then len="${line#*: }"; fi
    done
    RAW_BODY=""
    if ((len > 0)); then read -r -t 10 -N "$len" RAW_BODY <&"$fd" || return 1; fi
}

# --- the expand gate's evidence (issue 17) ------------------------------------------
#
# expand_evidence [DIR]: writes, in DIR (default $TEST_TMP/expand), a route
# config (the reference matrix with base URLs) once, then a passing routes
# report for it and a passing expand report, both made now, by hand per
# docs/formats/routes-report.md and expand-report.md; sets EXPAND_ARGS to the
# flags `gate advance GROUP expand` needs. Call it before each expand: a
# report must be newer than the ledger's last record. The first call's
# EXPAND_ARGS include --routes (recorded in the ledger; later expands use it).
expand_evidence() {
    local dir="${1:-$TEST_TMP/expand}" now sha first=0
    mkdir -p "$dir"
    if [[ ! -f "$dir/routes.json" ]]; then
        first=1
        printf '%s\n' '{"legacy_base_url": "http://127.0.0.1:9", "rust_base_url": "http://127.0.0.1:9"}' >"$dir/routes.json"
    fi
    now="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)"
    sha="$(sha256sum <"$dir/routes.json" | cut -c1-64)"
    jq -n --arg now "$now" --arg sha "$sha" --arg path "$dir/routes.json" '{
        format: "cutover.routes_report.v1", ok: true, created_at: $now,
        config: {path: $path, sha256: $sha}, health_path: "/healthz", timeout_ms: 2000,
        groups: [("auth_entry", "account_settings_admin", "billing_l402", "chat_pilot") as $g | {group: $g, ok: true,
            checks: [{role: "rollback", target: "legacy", url: "http://127.0.0.1:9/healthz", ok: true, status: 200,
                      error: null, duration_ms: 1}]}],
        pins: []}' >"$dir/routes-report.json"
    jq -n --arg now "$now" --arg path "$dir/no-store.json" '{
        format: "cutover.expand_report.v1", ok: true, created_at: $now,
        reader: {command: ["true"], executable: "/bin/true", sha256: ("0" * 64)}, timeout_ms: 60000,
        stores: [{name: "auth", path: $path, existed: false, sha256_before: null, sha256_after: null,
                  pre_sha256: ("1" * 64), migrated_sha256: ("2" * 64),
                  runs: [{shape: "pre", ok: true, exit_status: 0, signal: null, timed_out: false, duration_ms: 1,
                          stdout_sha256: ("3" * 64), stderr_sha256: ("3" * 64), stderr_tail: ""},
                         {shape: "migrated", ok: true, exit_status: 0, signal: null, timed_out: false, duration_ms: 1,
                          stdout_sha256: ("3" * 64), stderr_sha256: ("3" * 64), stderr_tail: ""}]}]}' \
        >"$dir/expand-report.json"
    EXPAND_ARGS=(--routes-report "$dir/routes-report.json" --expand-report "$dir/expand-report.json")
    if ((first)); then EXPAND_ARGS+=(--routes "$dir/routes.json"); fi
}
