#!/usr/bin/env bash
# test.sh — the whole test suite, as `make test` runs it: installs what is needed, builds, starts
# a real Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS names one), runs every test with ctest,
# stops the broker (also when tests fail) and exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh

triad_build
# The fuzz targets (build-fuzz/, clang): their ctest entries (label `fuzz`) run each for
# TRIAD_FUZZ_SECONDS (default 20). TRIAD_SKIP_FUZZ=1 leaves them out (the entries skip).
[[ "${TRIAD_SKIP_FUZZ:-0}" == 1 ]] || scripts/fuzz.sh build
triad_private_kafka "${TRIAD_TEST_KAFKA_PORT:-19192}" kafka-test

echo "test: running ctest against Kafka at $BOOTSTRAP" >&2
KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TRIAD_REPO_ROOT="$ROOT" \
  ctest --test-dir "$BUILD" --output-on-failure -j"${TRIAD_JOBS:-2}" ${TRIAD_CTEST_ARGS:-}
