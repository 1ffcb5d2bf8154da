#!/usr/bin/env bash
# Installs the Debian 12 packages cutover needs to build, test and run.
# Only packages that are missing are installed, so a ready machine pays nothing.
set -euo pipefail

packages=(
  cmake make g++ pkg-config     # toolchain
  libssl-dev openssl            # SHA-256 and Ed25519 (hash/, evidence/), openssl CLI for cross-checks
  libexpected-dev               # tl::expected, the Result type (base/)
  libcli11-dev                  # command line (cli/)
  libgtest-dev libgmock-dev     # unit tests
  libbenchmark-dev              # bench/
  jq                            # the runbook's count snapshot, used by the e2e suites
  libcpp-httplib-dev            # HTTP server of the route-split control API (server/)
  curl                          # drives the control server in tests/e2e/server.sh
  wrk                           # load on the control server in tests/e2e/server_load.sh
  clang-14 libclang-rt-14-dev   # libFuzzer + ASan/UBSan for the fuzz targets (fuzz/run.sh)
  libpq-dev                     # PostgreSQL client for the shared state (state/)
  postgresql-15                 # the throwaway database of tests/state_tests.sh and e2e/replicas.sh (pg_lib.sh)
  python3                       # bench/replicas_bench.sh's keep-alive client; ctest structure_check
  nginx                         # the data plane in front (docs/EDGE.md): tests/e2e/edge.sh, bench/edge_bench.sh
  dpkg-dev file                 # make package: CPack's .deb and its shlibdeps (dpkg-shlibdeps, file)
  man-db bash-completion        # tests/e2e/install.sh: `man -l` on a generated page, the completion script
  bsdutils                      # `script`: the pseudo-terminal of tests/e2e/progress.sh (the progress bar)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
