#!/usr/bin/env bash
# sanitize.sh — `make sanitize`: the C++ test binaries built with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), run against a private Kafka broker. Slower than
# `make test`; run it before a release or after touching memory-sensitive code.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_ASAN_BUILD_DIR:-build-asan}"
source scripts/lib.sh

scripts/setup.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g1" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C "$BUILD" -j"${TRIAD_JOBS:-2}"
triad_private_kafka "${TRIAD_ASAN_KAFKA_PORT:-19992}" kafka-asan

# Leak checking is off: librdkafka and gRPC keep process-lifetime allocations.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" ctest --test-dir "$BUILD" --output-on-failure \
  -E 'e2e_python_test|deploy_manifests_test' ${TRIAD_CTEST_ARGS:-}
