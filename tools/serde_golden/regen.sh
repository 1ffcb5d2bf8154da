#!/usr/bin/env bash
# Rebuild the serde_json oracle and regenerate the canonicalize corpus.
#
#   tools/serde_golden/regen.sh [CORPUS_DIR]
#
# 1. cargo build --release (offline, Debian crate directory; see .cargo/config.toml)
# 2. make_corpus.py writes the hand-designed inputs and the seeded random set
#    (rand_*.json, deleted and rewritten deterministically)
# 3. for EVERY *.json in the corpus dir (including hand-added ones that
#    make_corpus.py does not know about) writes NAME.expected (exact serde
#    output bytes) or an empty NAME.error (serde_json rejects the input), and
#    deletes the stale counterpart, except for the cases listed in
#    known_differences.tsv, where serde_json changes a number's value and the
#    expectation is cutover's (the number's value).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${1:-$root/tests/data/canonical}"

(cd "$here" && cargo build --release --quiet)
oracle="$here/target/release/serde_golden"

python3 "$here/make_corpus.py" "$corpus"

# drop expectations whose input no longer exists
shopt -s nullglob
for f in "$corpus"/*.expected "$corpus"/*.error; do
    [[ -e "${f%.*}.json" ]] || rm -f -- "$f"
done

ok=0; err=0
tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
# Cases where serde_json changed a number's value keep cutover's expectation
# (the number's value; issue 12, item 8): see known_differences.tsv.
declare -A keep=()
if [[ -f "$corpus/known_differences.tsv" ]]; then
    while IFS=$'\t' read -r name _; do
        [[ -z "$name" || "$name" == \#* ]] || keep[$name]=1
    done <"$corpus/known_differences.tsv"
fi
kept=0
for in in "$corpus"/*.json; do
    base="${in%.json}"
    if [[ -n "${keep[$(basename "$base")]:-}" ]]; then
        kept=$((kept + 1))
        continue
    fi
    if "$oracle" "$in" >"$tmp" 2>/dev/null; then
        cp -- "$tmp" "$base.expected"
        rm -f -- "$base.error"
        ok=$((ok + 1))
    else
        rc=$?
        if [[ $rc -ne 1 ]]; then
            echo "regen: oracle failed unexpectedly (rc=$rc) on $in" >&2
            exit 1
        fi
        : >"$base.error"
        rm -f -- "$base.expected"
        err=$((err + 1))
    fi
done
echo "regen: $((ok + err)) cases in $corpus: $ok .expected, $err .error; $kept known differences left as they were"
du -sh "$corpus" | awk '{print "regen: corpus size " $1}'
