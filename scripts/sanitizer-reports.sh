#!/bin/sh
# Usage: scripts/sanitizer-reports.sh DIR
# Prints every sanitizer report the sanitized test run left in DIR and exits 1
# when one of them is a finding (ASan, LeakSanitizer, UBSan). A file that holds
# nothing but LeakSanitizer's "Unable to get registers from thread N." lines is
# not a finding: that thread was exiting while LeakSanitizer stopped the
# process, and LeakSanitizer then scans its whole stack as reachable and goes
# on (the process's own exit status tells whether it found a leak). Those files
# are printed as warnings and do not fail the run; an empty file (a process
# killed as it began a report) is a finding.
set -eu
dir=$1
findings=0
for f in "$dir"/*; do
  [ -e "$f" ] || continue
  if [ ! -s "$f" ] || grep -qv -e '^==[0-9]*==Unable to get registers from thread [0-9]*\.$' -e '^$' "$f"; then
    echo "== $f"
    findings=$((findings + 1))
  else
    echo "== $f (LeakSanitizer warning, not a finding)"
  fi
  cat "$f"
done
if [ "$findings" -ne 0 ]; then
  echo "test-asan: $findings sanitizer report(s) above (in $dir)" >&2
  exit 1
fi
