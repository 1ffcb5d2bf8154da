# Front door. `make run` and `make test` work on a fresh Debian 12 machine:
# they install the missing Debian packages first (scripts/install-deps.sh).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build run test test-asan bench install package clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The harness: the whole drill on the built-in fixtures; prints the SUMMARY.md
# table and the summary's path (under ./cutover-runs/).
run: build
	@$(BUILD_DIR)/cutover harness --out cutover-runs

# The Release tests, then the same unit and end-to-end tests under ASan+UBSan.
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan

# Every suite but fuzz_smoke (its targets are sanitized already) and the three
# suites that drive nginx and PostgreSQL around the server (e2e_edge, e2e_live,
# e2e_replicas: their subject is the other processes, and their thousands of
# sanitized starts would double the run; the server's own code runs sanitized
# in e2e_server, e2e_decide and e2e_failclosed_server) on a build
# with -DCUTOVER_SANITIZE=ON (docs/RELIABILITY.md, "Sanitizers"). A report of
# any kind (ASan, LeakSanitizer, UBSan) aborts the process (exit 134, which no
# test expects) and is written to $(ASAN_BUILD_DIR)/sanitizer-reports/; the
# target fails if that folder holds a finding after the run, and prints it, so a
# report in a process whose exit status no test checks is caught as well
# (scripts/sanitizer-reports.sh; LeakSanitizer's "Unable to get registers"
# warning alone is printed but is not a finding).
# DETECT_LEAKS=0 turns LeakSanitizer off where ptrace is refused. The unit
# tests run there in 8 shards, not one process a test (tests/CMakeLists.txt).
ASAN_BUILD_DIR ?= $(BUILD_DIR)-asan
DETECT_LEAKS ?= 1
SANITIZER_REPORTS = $(abspath $(ASAN_BUILD_DIR))/sanitizer-reports
SANITIZER_OPTIONS = halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$(SANITIZER_REPORTS)/report

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DCUTOVER_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@rm -rf $(SANITIZER_REPORTS) && mkdir -p $(SANITIZER_REPORTS)
	@cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=$(DETECT_LEAKS):$(SANITIZER_OPTIONS) UBSAN_OPTIONS=$(SANITIZER_OPTIONS) \
	  ctest --output-on-failure -j $(JOBS) -E '^(fuzz_smoke|e2e_edge|e2e_live|e2e_replicas)$$'; rc=$$?; \
	  $(CURDIR)/scripts/sanitizer-reports.sh $(SANITIZER_REPORTS) || exit 1; exit $$rc

bench: build
	@bench/run.sh $(BUILD_DIR)

# Installs under PREFIX (default /usr/local), staged under DESTDIR when set:
# bin/cutover, its man pages and bash completion (generated from the binary's
# own command tree at build time), and share/cutover/ (runbook, spec, formats,
# a systemd unit example). See cmake/Install.cmake.
PREFIX ?= /usr/local
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# A Debian package (build/cutover_VERSION_ARCH.deb) with CPack; its Depends are
# the Debian packages the binary links (dpkg-shlibdeps).
package: build
	@cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
