# The two commands of the README, and a few helpers.
#   make run    install dependencies, build, start radflowd, run workflows/demo.json
#   make test   install dependencies, build, run every test through ctest
#   make stop   stop the daemon that `make run` left serving
#   make fuzz   run each libFuzzer target for FUZZ_SECONDS (needs clang-14; docs/fuzzing.md)
# Knobs: WITH_TORCH=OFF (skip the LibTorch plugins), BUILD_DIR, JOBS, PORT, FUZZ_SECONDS,
# PYTHON (make bench).

BUILD_DIR ?= build
WITH_TORCH ?= ON
JOBS ?= $(shell nproc)
PORT ?= 8080
FUZZ_SECONDS ?= 120

.PHONY: all deps configure build test run stop bench fuzz package clean

all: build

deps:
	RADFLOW_WITH_TORCH=$(WITH_TORCH) scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DRADFLOW_WITH_TORCH=$(WITH_TORCH)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Only what the demo runs (radflowd, radflow, radflow-worker, the shipped plugins):
# the tests are built by `make test`.
run: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target radflow_runtime
	BUILD_DIR=$(BUILD_DIR) PORT=$(PORT) scripts/run-demo.sh

stop:
	scripts/stop-daemon.sh

# Benchmarks (not tests): each script rewrites its section of BENCHMARKS.md.
# bench/orchestration needs snakemake (apt, bench-only: bench/orchestration/README.md).
# PYTHON: Debian's interpreter, whose numpy, pydicom and torch the peers use.
PYTHON ?= /usr/bin/python3
bench: build
	$(PYTHON) bench/orchestration/run.py $(BUILD_DIR)
	$(PYTHON) bench/dicom_decode/run.py $(BUILD_DIR)
	$(PYTHON) bench/metric_ingestion/run.py $(BUILD_DIR)
	$(PYTHON) bench/api/run.py $(BUILD_DIR)
	$(PYTHON) bench/dashboard/run.py $(BUILD_DIR)
	if [ "$(WITH_TORCH)" = ON ]; then PYTHON=$(PYTHON) bench/pretrain_step/run.sh $(BUILD_DIR); fi
	if [ "$(WITH_TORCH)" = ON ]; then $(PYTHON) bench/embed/run.py $(BUILD_DIR); fi

# Fuzzing (not a test): each target for FUZZ_SECONDS; the corpus grows and crashes
# land in tests/fuzz/findings/ (git-ignored). Builds only what the fuzzers need.
fuzz: configure
	@grep -q '^RADFLOW_FUZZ_TOOLCHAIN_OK:INTERNAL=ON' $(BUILD_DIR)/CMakeCache.txt || { \
	  echo "make fuzz: needs clang-14 and libclang-rt-14-dev (scripts/install-deps.sh)" >&2; exit 1; }
	cmake --build $(BUILD_DIR) --target radflow_fuzzers
	tests/fuzz/run.sh $(BUILD_DIR) $(FUZZ_SECONDS)

# The Debian package (cmake/packaging.cmake, docs/service.md): $(BUILD_DIR)/radflow_VERSION_ARCH.deb
package: build
	cmake --build $(BUILD_DIR) --target package

clean:
	rm -rf $(BUILD_DIR)
