#!/usr/bin/env bash
# test.sh — the whole test suite, as `make test` runs it: installs what is needed, builds, starts
# a real Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS names one), runs every test with ctest,
# stops the broker (also when tests fail) and exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
JOBS="${TRIAD_JOBS:-2}"

scripts/setup.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j"$JOBS"

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  # A broker of its own, on its own port and fresh state, so a `make run` broker is untouched.
  export TRIAD_KAFKA_PORT="${TRIAD_TEST_KAFKA_PORT:-19192}"
  export TRIAD_KAFKA_DIR="$ROOT/.triad/kafka-test"
  rm -rf "$TRIAD_KAFKA_DIR"
  trap 'scripts/kafka-local.sh stop' EXIT
  scripts/kafka-local.sh start
  BOOTSTRAP="$(scripts/kafka-local.sh bootstrap)"
else
  BOOTSTRAP="$KAFKA_BOOTSTRAP_SERVERS"
fi

echo "test: running ctest against Kafka at $BOOTSTRAP" >&2
KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" TRIAD_REPO_ROOT="$ROOT" \
  ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" ${TRIAD_CTEST_ARGS:-}
