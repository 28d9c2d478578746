#!/usr/bin/env bash
# test.sh — the whole test suite, as `make test` runs it: installs what is needed, builds, starts
# a real Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS names one), runs every test with ctest,
# stops the broker (also when tests fail) and exits non-zero on any failure.
#
# Order: the normal build; then the broker and every ctest entry but the fuzz ones, while the
# fuzz build (scripts/fuzz.sh build: clang, build-fuzz/) runs beside them at a lower CPU priority
# (most broker tests wait on Kafka and the services, not on the CPU); then, once it is built, the
# fuzz entries (label `fuzz`), each for TRIAD_FUZZ_SECONDS (default 20). TRIAD_SKIP_FUZZ=1 leaves
# the fuzz build out (the fuzz entries skip).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh

triad_build
triad_private_kafka "${TRIAD_TEST_KAFKA_PORT:-19192}" kafka-test

FUZZ_PID=""
FUZZ_LOG="$ROOT/$BUILD/fuzz-build.log"
[[ "$BUILD" = /* ]] && FUZZ_LOG="$BUILD/fuzz-build.log"
# stop_fuzz_build ends the background fuzz build (its own process group) if it still runs.
stop_fuzz_build() {
  if [[ -n "$FUZZ_PID" ]]; then
    kill -- "-$FUZZ_PID" 2>/dev/null || true
  fi
}
if [[ "${TRIAD_SKIP_FUZZ:-0}" != 1 ]]; then
  # The broker's stop (set by triad_private_kafka) stays in the exit trap, after this one.
  previous_trap="$(trap -p EXIT)"
  if [[ -n "$previous_trap" ]]; then
    eval "$(sed -E "s/^trap -- '/trap -- 'stop_fuzz_build; /" <<<"$previous_trap")"
  else
    trap stop_fuzz_build EXIT
  fi
  echo "test: building the fuzz targets in the background (log: $FUZZ_LOG)" >&2
  setsid nice -n 10 scripts/fuzz.sh build >"$FUZZ_LOG" 2>&1 &
  FUZZ_PID=$!
fi

rc=0
echo "test: running ctest (all but label fuzz) against Kafka at $BOOTSTRAP" >&2
KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TRIAD_REPO_ROOT="$ROOT" \
  ctest --test-dir "$BUILD" --output-on-failure -j"${TRIAD_JOBS:-2}" -LE '^fuzz$' \
  ${TRIAD_CTEST_ARGS:-} || rc=$?

if [[ -n "$FUZZ_PID" ]]; then
  echo "test: waiting for the fuzz build" >&2
  if wait "$FUZZ_PID"; then
    tail -n 1 "$FUZZ_LOG" >&2
  else
    echo "test: the fuzz build failed; the end of $FUZZ_LOG:" >&2
    tail -n 40 "$FUZZ_LOG" >&2
    rc=1
  fi
  FUZZ_PID=""
fi
echo "test: running the fuzz entries (label fuzz)" >&2
KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TRIAD_REPO_ROOT="$ROOT" \
  ctest --test-dir "$BUILD" --output-on-failure -j"${TRIAD_JOBS:-2}" -L '^fuzz$' \
  ${TRIAD_CTEST_ARGS:-} || rc=$?
exit "$rc"
