#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) in their own build
# folder and runs each for a bounded time from the seed corpora in
# fuzz/corpus/<target>/. Exit 0 only when no target found a crash.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20 s, every target)
# Environment: BUILD_DIR (default build-fuzz beside fuzz/), JOBS (default 2).
# New inputs go to BUILD_DIR/corpus/<target>/ (the seeds in the repo are not
# touched); a crash is written to BUILD_DIR/artifacts/<target>/ and replayed
# with: BUILD_DIR/<target> BUILD_DIR/artifacts/<target>/crash-...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(json_fuzz manifest_fuzz store_spec_fuzz route_config_fuzz control_api_fuzz http_framing_fuzz)
build="${BUILD_DIR:-$root/build-fuzz}"

command -v clang++-14 >/dev/null || { echo "fuzz/run.sh: clang++-14 is missing; run scripts/install-deps.sh" >&2; exit 2; }
CC=clang-14 CXX=clang++-14 cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" >/dev/null

status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  log="$build/$t.log"
  if "$build/$t" "$build/corpus/$t" "$here/corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$t: $result, ${runs:-?} executions in ${seconds} s, corpus $(ls "$build/corpus/$t" | wc -l) inputs (log $log)"
  [ "$result" = ok ] || grep -E "ERROR|SUMMARY|abort|Test unit written" "$log" | head -n 20 >&2
done
exit $status
