#!/usr/bin/env bash
# End-to-end suite for `cutover state init` (issue 15) against a throwaway
# PostgreSQL (pg_lib.sh): creates the schema, a second run changes nothing,
# a newer schema is refused with exit 1, a URL that is not one is a usage
# error, an unreachable database an I/O error, and no password is printed.
#
#   tests/e2e/state.sh [BIN]
#
# The tests run indirectly (run_test "$name").
# shellcheck disable=SC2317
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pg_lib.sh
source "$root/tests/e2e/pg_lib.sh"

e2e_binary state.sh "${1:-}"
pg_start || exit 1

test_init_creates_then_changes_nothing() {
    pg_sql "DROP SCHEMA IF EXISTS cutover CASCADE" >/dev/null
    local out rc
    out="$("$BIN" state init "$PG_URL" 2>&1)"
    rc=$?
    assert_eq 0 "$rc" "first init"
    assert_contains "$out" "schema: created version 1"
    local stamp
    stamp="$(pg_sql "SELECT xmin::text || updated_at FROM cutover.schema_version")"
    out="$("$BIN" state init "$PG_URL" 2>&1)"
    rc=$?
    assert_eq 0 "$rc" "second init"
    assert_contains "$out" "schema: version 1 in"
    assert_contains "$out" "unchanged"
    assert_eq "$stamp" "$(pg_sql "SELECT xmin::text || updated_at FROM cutover.schema_version")" "schema_version row"
}

test_newer_schema_is_refused() {
    pg_sql "DROP SCHEMA IF EXISTS cutover CASCADE" >/dev/null
    "$BIN" state init "$PG_URL" >/dev/null 2>&1
    pg_sql "UPDATE cutover.schema_version SET version = 99" >/dev/null
    local out rc
    out="$("$BIN" state init "$PG_URL" 2>&1)"
    rc=$?
    assert_eq 1 "$rc" "exit status"
    assert_contains "$out" "cutover state init: error:"
    assert_contains "$out" "version 99, newer than this cutover knows"
    assert_eq 99 "$(pg_sql "SELECT version FROM cutover.schema_version")" "version kept"
}

test_bad_url_and_unreachable_database() {
    local out rc
    out="$("$BIN" state init "mysql://root:hunter2@localhost/x" 2>&1)"
    rc=$?
    assert_eq 2 "$rc" "not a postgresql URL"
    assert_not_contains "$out" "hunter2"
    out="$("$BIN" state init "postgresql://u:hunter2@/cutover?host=$TEST_TMP" 2>&1)"
    rc=$?
    assert_eq 3 "$rc" "no server at that socket"
    assert_contains "$out" "cannot connect to postgresql"
    assert_not_contains "$out" "hunter2"
}

run_test test_init_creates_then_changes_nothing
run_test test_newer_schema_is_refused
run_test test_bad_url_and_unreachable_database
finish_tests
