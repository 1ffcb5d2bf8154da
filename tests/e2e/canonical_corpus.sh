#!/usr/bin/env bash
# Differential corpus test for `cutover canonicalize FILE`.
#
#   tests/e2e/canonical_corpus.sh [BIN] [CORPUS_DIR]
#
# BIN defaults to build/cutover and CORPUS_DIR to tests/data/canonical, both
# relative to the repository root (found from this script's location).
# Each case is NAME.json plus either
#   NAME.expected  exact bytes serde_json::to_vec_pretty prints (for the cases
#                  in known_differences.tsv, where serde_json changed a
#                  number's value, the bytes with the value kept): exit status
#                  must be 0 and stdout must be byte-identical, or
#   NAME.error     serde_json rejects the input: exit status must be non-zero
#                  (cutover uses 2) and stderr must be non-empty.
# Ends with "N passed, M failed"; exits 1 if any case failed.
# CUTOVER_CORPUS_EVERY=N runs every Nth case only (the sanitized build's ctest
# sets it: there each run pays the sanitizers' start-up, and the Release run
# checks every case); which Nth rotates with the day of the year, and the
# first line printed says which.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:-$root/build/cutover}"
corpus="${2:-$root/tests/data/canonical}"
# relative BIN / CORPUS_DIR arguments are taken relative to the current dir
[[ "$bin" == */* ]] || bin="./$bin"

if [[ ! -x "$bin" ]]; then
    echo "canonical_corpus: binary not found or not executable: $bin" >&2
    exit 1
fi
if [[ ! -d "$corpus" ]]; then
    echo "canonical_corpus: corpus dir not found: $corpus" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/stdout"
err="$tmp/stderr"

# short hint: first differing byte offset plus a little context from each side
diff_hint() {
    local expected="$1" actual="$2" first off
    first="$(cmp -- "$expected" "$actual" 2>&1 | head -n1)"
    off="$(printf '%s\n' "$first" | sed -n 's/.* differ: byte \([0-9][0-9]*\).*/\1/p')"
    if [[ -n "$off" ]]; then
        local start=$(( off > 40 ? off - 40 : 1 ))
        printf '    %s\n' "$first"
        printf '    expected: %s\n' "$(tail -c +"$start" -- "$expected" | head -c 80 | od -An -c | tr -s ' \n' ' ' | cut -c1-200)"
        printf '    actual:   %s\n' "$(tail -c +"$start" -- "$actual" | head -c 80 | od -An -c | tr -s ' \n' ' ' | cut -c1-200)"
    else
        # one file is a prefix of the other (cmp reports EOF)
        printf '    %s (expected %s bytes, got %s bytes)\n' "$first" \
            "$(wc -c <"$expected" | tr -d ' ')" "$(wc -c <"$actual" | tr -d ' ')"
    fi
}

passed=0
failed=0
shopt -s nullglob
inputs=("$corpus"/*.json)
if [[ ${#inputs[@]} -eq 0 ]]; then
    echo "canonical_corpus: no *.json cases in $corpus" >&2
    exit 1
fi

every="${CUTOVER_CORPUS_EVERY:-1}"
if [[ ! "$every" =~ ^[1-9][0-9]*$ ]]; then
    echo "canonical_corpus: CUTOVER_CORPUS_EVERY must be a positive integer, not '$every'" >&2
    exit 1
fi
offset=$(( 10#$(date -u +%j) % every ))
if [[ $every -gt 1 ]]; then
    echo "canonical_corpus: every ${every}th case from case $offset (CUTOVER_CORPUS_EVERY=$every)"
fi

index=-1
for in in "${inputs[@]}"; do
    index=$((index + 1))
    (( index % every == offset )) || continue
    base="${in%.json}"
    name="$(basename -- "$base")"
    "$bin" canonicalize "$in" >"$out" 2>"$err" </dev/null
    rc=$?
    if [[ -e "$base.expected" ]]; then
        if [[ $rc -ne 0 ]]; then
            echo "FAIL $name: exit status $rc, expected 0; stderr: $(head -c 200 "$err" | tr '\n' ' ')"
            failed=$((failed + 1))
        elif ! cmp -s -- "$base.expected" "$out"; then
            echo "FAIL $name: output differs from $name.expected"
            diff_hint "$base.expected" "$out"
            failed=$((failed + 1))
        else
            passed=$((passed + 1))
        fi
    elif [[ -e "$base.error" ]]; then
        if [[ $rc -eq 0 ]]; then
            echo "FAIL $name: exit status 0, expected rejection; stdout starts: $(head -c 80 "$out" | od -An -c | tr -s ' \n' ' ')"
            failed=$((failed + 1))
        elif [[ ! -s "$err" ]]; then
            echo "FAIL $name: exit status $rc but stderr is empty"
            failed=$((failed + 1))
        else
            passed=$((passed + 1))
        fi
    else
        echo "FAIL $name: neither $name.expected nor $name.error exists"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
