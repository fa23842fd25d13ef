# Front door for people: `make run` and `make test` (see README.md).
# The real build is CMake; these targets only configure, build and run it.
.POSIX:
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD     ?= build/release
TESTBUILD ?= build/test
FUZZBUILD ?= $(TESTBUILD)
EXAMPLE   ?= examples/cartpole
HOST      ?= 127.0.0.1
PORT      ?= 8080
FUZZ_SECONDS ?= 300
CHAOS_SECONDS ?= 60

.PHONY: all deps build build-test run test fuzz chaos bench clean check-style browser-deps

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DHIPPO_WERROR=ON

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target hippo

$(TESTBUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DHIPPO_WERROR=ON \
	    -DHIPPO_SANITIZE=ON -DHIPPO_FUZZ=ON

build-test: $(TESTBUILD)/CMakeCache.txt
	cmake --build $(TESTBUILD) -j $(JOBS)

browser-deps:
	cd tests && npm ci --no-audit --no-fund

# Install dependencies, build, start the example study and print the URL to open.
run: deps build
	./$(BUILD)/hippo serve $(EXAMPLE) --host $(HOST) --port $(PORT) --data data

# Install dependencies, build (release with -Werror, tests with ASan/UBSan), run every test.
test: deps build build-test browser-deps check-style
	cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS)

# Long fuzzing of every target (FUZZ_SECONDS each).
fuzz: deps build-test
	cd $(TESTBUILD) && for t in tests/fuzz_*; do \
	  n=$$(basename $$t); \
	  dict=$$PWD/../../tests/fuzz/$$n.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	  sh ../../tests/fuzz/run.sh $$PWD/$$t ../../tests/fuzz/corpus/$$n $$PWD/fuzz-long/$$n \
	     -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 $$dict || exit 1; \
	done

# The adversarial suite at length (tests/chaos/README.md): CHAOS_SECONDS per attack.
chaos: deps build-test
	cd $(TESTBUILD) && CHAOS_SECONDS=$(CHAOS_SECONDS) ctest --output-on-failure -L chaos

# Benchmarks (figures go to docs/performance.md).
bench: deps build
	bash bench/run.sh ./$(BUILD)/hippo

check-style:
	bash scripts/check-style.sh

clean:
	rm -rf build
