# Front door. `make run` and `make test` work on a fresh Debian 12 machine:
# they install the missing Debian packages first (scripts/install-deps.sh).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build run test bench clean

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

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
