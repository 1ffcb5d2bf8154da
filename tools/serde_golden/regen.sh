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
#    deletes the stale counterpart.
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
for in in "$corpus"/*.json; do
    base="${in%.json}"
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
echo "regen: $((ok + err)) cases in $corpus: $ok .expected, $err .error"
du -sh "$corpus" | awk '{print "regen: corpus size " $1}'
