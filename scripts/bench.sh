#!/usr/bin/env bash
# bench.sh — `make bench`: builds, starts a Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS is set)
# and runs every benchmark binary (registered with triad_add_bench), printing measured numbers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
scripts/setup.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j"${TRIAD_JOBS:-2}"
if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  export TRIAD_KAFKA_PORT="${TRIAD_BENCH_KAFKA_PORT:-19292}"
  export TRIAD_KAFKA_DIR="$ROOT/.triad/kafka-bench"
  rm -rf "$TRIAD_KAFKA_DIR"
  trap 'scripts/kafka-local.sh stop' EXIT
  scripts/kafka-local.sh start
  BOOTSTRAP="$(scripts/kafka-local.sh bootstrap)"
else
  BOOTSTRAP="$KAFKA_BOOTSTRAP_SERVERS"
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; Kafka at $BOOTSTRAP"
for bench in $(cat "$BUILD/benches.txt"); do
  echo "=== $bench"
  KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" "$BUILD/$bench" ${TRIAD_BENCH_ARGS:-}
done
