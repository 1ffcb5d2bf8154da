#!/usr/bin/env bash
# `make run`: the drill on the built-in reference fixtures (SPEC §8), in a
# fresh temporary folder: write the fixtures, back them up and migrate them,
# then check every store against the manifest. Prints where the manifest is.
set -euo pipefail
cutover=${1:-build/cutover}
cutover=$(cd "$(dirname "$cutover")" && pwd)/$(basename "$cutover")

drill=$(mktemp -d "${TMPDIR:-/tmp}/cutover-drill-XXXXXX")
echo "drill folder: $drill"

"$cutover" fixtures "$drill/stores" >/dev/null
"$cutover" backfill --work-dir "$drill/work" \
  --store auth="$drill/stores/auth.json" \
  --store codex_threads="$drill/stores/codex_threads.json" \
  --store domain="$drill/stores/domain.json"

manifest=$(ls -1 "$drill"/work/manifests/*.json | sort | tail -n 1)
if "$cutover" --help | grep -qE "^ +verify"; then
  "$cutover" verify "$manifest"
else
  # Before `cutover verify` existed: every store hashes to its after_sha256.
  jq -r '.stores[] | "\(.after_sha256)  \(.path)"' "$manifest" | sha256sum --check
fi
echo "count snapshot:"
jq -c '.stores[] | {store, counts}' "$manifest"
echo "manifest: $manifest"
