#!/usr/bin/env bash
# scripts/sanitizer-reports.sh, which decides whether `make test-asan` fails:
# a folder with no reports, or only LeakSanitizer's "Unable to get
# registers" warning, passes; a real report, that warning beside a leak, or
# an empty report file fails and is printed.
#   tests/sanitizer_reports_test.sh
set -u
script="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/sanitizer-reports.sh"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
failures=0

# expect RC CASE: the script's status on $dir is RC.
expect() {
    local want="$1" name="$2" got
    "$script" "$dir" >"$dir.out" 2>&1
    got=$?
    if [[ "$got" != "$want" ]]; then
        echo "FAIL $name: exit $got, want $want; output:" >&2
        cat "$dir.out" >&2
        failures=$((failures + 1))
    else
        echo "PASS $name"
    fi
    rm -f "$dir.out" "$dir"/*
}

expect 0 "no reports"
printf '==5410==Unable to get registers from thread 5403.\n' >"$dir/report.5403"
expect 0 "the LeakSanitizer warning alone"
printf '==5410==Unable to get registers from thread 5403.\n==5403==ERROR: LeakSanitizer: detected memory leaks\n' >"$dir/report.5403"
expect 1 "the warning beside a leak"
printf '==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n' >"$dir/report.77"
expect 1 "an AddressSanitizer report"
printf 'src/x.cc:3:5: runtime error: signed integer overflow\n' >"$dir/report.78"
expect 1 "a UBSan report"
: >"$dir/report.79"
expect 1 "an empty report file"
((failures == 0))
