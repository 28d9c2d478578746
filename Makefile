# Triad — the two ways in: `make run` and `make test`. Everything else is a helper.
.PHONY: all setup build test unit run stop status bench sanitize tsan fuzz fmt clean

BUILD ?= build

all: build

setup:
	scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(BUILD) -j2

# Installs what is missing, builds, starts a real Kafka broker, runs every test, stops it.
test:
	scripts/test.sh

# Builds, then runs only the tests that need no Kafka broker (ctest label `unit`): well under a
# minute after a build.
unit: build
	ctest --test-dir $(BUILD) -L unit --output-on-failure -j2

# Builds and brings up Kafka and every service (with demo data once there is a demo).
run:
	scripts/run-local.sh start

stop:
	scripts/run-local.sh stop

status:
	scripts/run-local.sh status

bench:
	scripts/bench.sh

# The C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/), then the event
# runtime's and the services' tests under ThreadSanitizer (build-tsan/).
sanitize:
	scripts/sanitize.sh all

# Only the ThreadSanitizer build and run (build-tsan/; suppressions in scripts/tsan.supp).
tsan:
	scripts/sanitize.sh tsan

# The libFuzzer targets (tests/fuzz) with clang + ASan + UBSan in build-fuzz/; `make test` builds
# them and its ctest entries (label `fuzz`) run each for a bounded time (scripts/fuzz.sh).
fuzz: setup
	scripts/fuzz.sh build

fmt:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
