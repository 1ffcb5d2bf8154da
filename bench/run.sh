#!/usr/bin/env bash
# Whole-program benchmarks on a realistic store (docs/PERFORMANCE.md).
#
#   bench/run.sh [BUILD_DIR] [MB]
#
# Generates a domain store of MB megabytes (default 500; cached in
# BUILD_DIR/bench-data), then times with hyperfine, in one run so the ratios
# are fair on a noisy machine:
#   - cutover backfill (fresh copy of the store each run, fsync included);
#   - the reference stand-in: tools/serde_golden bench_ref, serde_json
#     parse -> to_vec_pretty -> SHA-256 (no backup, no fsync: it does less);
#   - sha256sum and cp of the store, for scale.
# Then verify (against sha256sum of the store, the reference verify) and
# rollback (against cp of the backup, with and without sync).
# Peak memory comes from /usr/bin/time. Needs hyperfine, cargo and the Debian
# crates librust-serde-json-dev and librust-sha2-dev (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mb=${2:-500}
runs=${RUNS:-5}
cutover=$(realpath "$build/cutover")
data=$(realpath -m "$build/bench-data")
mkdir -p "$data"

need=()
for p in hyperfine librust-serde-json-dev librust-sha2-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
(cd tools/serde_golden && cargo build --release --offline --quiet)
bench_ref=$(realpath tools/serde_golden/target/release/bench_ref)

store="$data/domain-${mb}mb.json"
[ -f "$store" ] || "$build/bench/gen_store" "$store" "$mb"
size=$(stat -c %s "$store")
echo "store: $store ($size bytes)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"

prepare="rm -rf $data/work $data/s && mkdir -p $data/s && cp $store $data/s/domain.json && sync"
hyperfine --runs "$runs" --export-json "$data/backfill.json" \
  --command-name "cutover backfill" --prepare "$prepare" \
  "$cutover backfill --store domain=$data/s/domain.json --work-dir $data/work" \
  --command-name "reference stand-in (serde_json parse+pretty+sha256)" --prepare "sync" \
  "$bench_ref $store" \
  --command-name "sha256sum" --prepare "sync" "sha256sum $store" \
  --command-name "cp" --prepare "rm -f $data/copy.json && sync" "cp $store $data/copy.json"

echo
echo "peak memory (max RSS):"
eval "$prepare"
/usr/bin/time -f "  cutover backfill: %M KB" "$cutover" backfill --store "domain=$data/s/domain.json" --work-dir "$data/work" >/dev/null
/usr/bin/time -f "  reference stand-in: %M KB" "$bench_ref" "$store" >/dev/null 2>"$data/ref.err" || true
grep -h "KB" "$data/ref.err" || true
echo "  store size: $((size / 1024)) KB"

# Verify and rollback work on the migrated store left by the last backfill.
manifest=$(ls -1 "$data"/work/manifests/*.json | sort | tail -n 1)
migrated="$data/s/domain.json"
# A copy of the backup outlives the work folder each rollback run rebuilds.
cp "$(jq -r '.stores[0].backup_path' "$manifest")" "$data/backup.json"
backup="$data/backup.json"
hyperfine --runs "$runs" --export-json "$data/verify.json" \
  --command-name "cutover verify" --prepare "sync" "$cutover verify $manifest" \
  --command-name "sha256sum of the store (reference verify)" --prepare "sync" "sha256sum $migrated"

# Each rollback run needs a freshly migrated store: the prepare step backfills.
# Backfill writes the store and the backup past the page cache, so rollback
# reads them from the disk; cp gets the same cold cache where we may drop it.
drop="sync"
if [ -w /proc/sys/vm/drop_caches ]; then
  drop="sync && echo 3 > /proc/sys/vm/drop_caches"
  echo "rollback and cp run with a cold page cache"
fi
prepare_rollback="$prepare && $cutover backfill --store domain=$data/s/domain.json --work-dir $data/work >/dev/null && $drop"
hyperfine --runs "$runs" --export-json "$data/rollback.json" \
  --command-name "cutover rollback" --prepare "$prepare_rollback" \
  "$cutover rollback \$(ls -1 $data/work/manifests/*.json | sort | tail -n 1)" \
  --command-name "cp of the backup" --prepare "rm -f $data/copy.json && $drop" "cp $backup $data/copy.json" \
  --command-name "cp of the backup + sync" --prepare "rm -f $data/copy.json && $drop" "cp $backup $data/copy.json && sync $data/copy.json"

python3 - "$data" "$size" <<'PY'
import json, sys
data, size = sys.argv[1], int(sys.argv[2])
def medians(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{data}/{name}.json"))["results"]}
for name in ("backfill", "verify", "rollback"):
    print(f"\n{name} medians:")
    for cmd, m in medians(name).items():
        print(f"  {cmd}: {m:.3f} s, {size / m / 1e6:.0f} MB/s of input store")
b = medians("backfill"); v = medians("verify"); r = medians("rollback")
ref = [x for k, x in b.items() if k.startswith("reference")][0]
print(f"\nbackfill: {ref / b['cutover backfill']:.1f}x the reference stand-in's throughput")
print(f"verify: {v['sha256sum of the store (reference verify)'] / v['cutover verify']:.1f}x faster than sha256sum of the store")
print(f"rollback: {r['cutover rollback'] / r['cp of the backup']:.1f}x cp, {r['cutover rollback'] / r['cp of the backup + sync']:.1f}x cp + sync")
PY
