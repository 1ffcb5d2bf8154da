#!/usr/bin/env bash
# Runs the shared-state tests (state_tests, tests/state_test.cc) against a
# throwaway PostgreSQL (tests/e2e/pg_lib.sh), stopped and removed at exit.
#
#   tests/state_tests.sh STATE_TESTS_BINARY [gtest flags...]
#   tests/state_tests.sh --control PG_DIR stop|start   (what the tests call)
#
# It creates the schema's owner (the superuser here) and the login role
# cutover_app that the tests use as `cutover serve` would, and passes both
# URLs and the control command in CUTOVER_STATE_TEST_*.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=e2e/pg_lib.sh
source "$root/tests/e2e/pg_lib.sh"

if [[ "${1:-}" == "--control" ]]; then
    pg_attach "$2"
    case "$3" in
        stop) pg_stop fast ;;
        start) pg_restart ;;
        *) echo "state_tests.sh: --control takes stop or start" >&2; exit 2 ;;
    esac
    exit 0
fi

bin="${1:?usage: state_tests.sh STATE_TESTS_BINARY [gtest flags...]}"
shift
pg_start
export CUTOVER_STATE_TEST_URL="$PG_URL"
export CUTOVER_STATE_TEST_APP_URL="$PG_APP_URL"
export CUTOVER_STATE_TEST_CONTROL="bash $root/tests/state_tests.sh --control $PG_DIR"
"$bin" "$@"
