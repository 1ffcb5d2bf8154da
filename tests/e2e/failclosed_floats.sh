#!/usr/bin/env bash
# End-to-end suite for issue 12, item 8: numbers keep their values.
#
#   tests/e2e/failclosed_floats.sh [BIN]
#
# serde_json 1.0.87's float parsing (which cutover used to copy) is not
# correctly rounded: a long decimal could become a neighbour of its double,
# whose shortest digits read back as yet another double, so a second backfill
# rewrote the store. Now every canonical form cutover prints is a fixed point,
# and a second backfill of any store changes nothing. Needs bash, jq, cmp.
# shellcheck disable=SC2317
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/tests/e2e/lib.sh"
CUTOVER_TIMEOUT=60  # the large-document cases

e2e_binary failclosed_floats.sh "${1:-}" jq cmp
unset AUTH_STORE_PATH CODEX_THREAD_STORE_PATH DOMAIN_STORE_PATH WORK_DIR
CORPUS="$root/tests/data/canonical"

# The numbers serde_json moved, as typed (hand cases of the corpus and the
# fuzz finding), and as serde_json printed them (known_differences.tsv).
drift_numbers() {
    printf '%s\n' -922337203632.923988 -922337203632.9241 9007199254740993.0 1e-23 1e-307 \
        2.4703282292062328e-324 1234567890123456789012345.678901234567890e-30 \
        0.000000000000000000000000000000000000000000001 9.999999999999999e-1 -1.10150294624617e-246
    awk -F'\t' '!/^#/ && $2 != "(refused)" {print $2}' "$CORPUS/known_differences.tsv"
}

test_canonicalize_keeps_the_value_of_a_long_decimal() {
    printf '%s' '{"score": -922337203632.923988}' >in.json
    cutover canonicalize in.json
    assert_eq 0 "$RC" "exit status (stderr: $ERR)"
    assert_eq $'{\n  "score": -922337203632.924\n}' "$OUT" "canonical form"
    printf '%s' "$OUT" >once.json
    cutover canonicalize once.json
    assert_eq "$(cat once.json)" "$OUT" "canonical form of the canonical form"
}

# The expectation of every case where serde_json moved a value is its own
# canonical form (FailClosedFloats.EveryCorpusExpectationIsAFixedPoint checks
# every case of the corpus in process), and each number listed in
# known_differences.tsv is in its case's expectation.
test_known_differences_are_fixed_points_in_the_corpus() {
    local name bad=()
    while read -r name; do
        timeout 20 "$BIN" canonicalize "$CORPUS/$name.expected" >out 2>err </dev/null
        if [[ $? -ne 0 ]] || ! cmp -s out "$CORPUS/$name.expected"; then bad+=("$name"); fi
    done < <(awk -F'\t' '!/^#/ {print $1}' "$CORPUS/known_differences.tsv" | uniq)
    assert_eq "" "${bad[*]:0:10}" "expectations that change when canonicalized again (${#bad[@]}; first 10 shown)"
    local missing
    missing="$(awk -F'\t' -v dir="$CORPUS" '
        /^#/ { next }
        $2 == $3 { print $1 ": listed as unchanged"; next }
        {
            file = dir "/" $1 ".expected"; found = 0
            while ((getline line < file) > 0) if (index(line, $3)) { found = 1; break }
            close(file)
            if (!found) print $1 ": " $3 " not in its expectation"
        }' "$CORPUS/known_differences.tsv" | head -n 10)"
    assert_eq "" "$missing" "known_differences.tsv against the corpus"
}

# A store holding every number serde_json moved: the first backfill writes
# the numbers' values, the second changes nothing (SPEC §3).
test_second_backfill_of_drifting_floats_changes_nothing() {
    mkdir stores
    local n i=0 rows=""
    while read -r n; do
        rows+="${rows:+,}\"a$i\": {\"score\": $n}"
        i=$((i + 1))
    done < <(drift_numbers)
    printf '{"autopilots": {%s}}' "$rows" >stores/domain.json
    cutover backfill --store "domain=$TEST_TMP/stores/domain.json" --work-dir "$TEST_TMP/work"
    assert_eq 0 "$RC" "first backfill (stderr: $ERR)"
    local first
    first="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ -f "$first" ]] || fatal "no manifest named: $OUT"
    assert_eq "true" "$(jq -r '.stores[0].changed' "$first")" "first run changed"
    assert_eq "-922337203632.924" "$(jq -r '.autopilots.a0.score | tostring' stores/domain.json)" "the value of -922337203632.923988"
    local sha
    sha="$(sha256sum stores/domain.json | cut -c1-64)"
    cutover backfill --store "domain=$TEST_TMP/stores/domain.json" --work-dir "$TEST_TMP/work"
    assert_eq 0 "$RC" "second backfill (stderr: $ERR)"
    local second
    second="$(sed -n 's/^manifest: //p' <<<"$OUT")"
    [[ -f "$second" ]] || fatal "no manifest named: $OUT"
    assert_contains "$OUT" "0 changed" "stdout of the second run"
    assert_eq "false" "$(jq -r '.stores[0].changed' "$second")" "second run changed"
    assert_eq "$(jq -r '.stores[0].after_sha256' "$first")" "$(jq -r '.stores[0].after_sha256' "$second")" "after_sha256 across runs"
    assert_eq "$sha" "$(sha256sum stores/domain.json | cut -c1-64)" "store bytes after the second run"
}

TESTS=(
    test_canonicalize_keeps_the_value_of_a_long_decimal
    test_known_differences_are_fixed_points_in_the_corpus
    test_second_backfill_of_drifting_floats_changes_nothing
)
for t in "${TESTS[@]}"; do run_test "$t"; done
finish_tests
