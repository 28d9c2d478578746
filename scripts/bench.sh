#!/usr/bin/env bash
# bench.sh — `make bench`: builds, starts a Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS is set)
# and runs every benchmark binary (registered with triad_add_bench), printing measured numbers,
# then the production scheduler's CP-SAT optimality gap (bench/production_cpsat/cpsat_gap.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh

triad_build
triad_private_kafka "${TRIAD_BENCH_KAFKA_PORT:-19292}" kafka-bench full

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; Kafka at $BOOTSTRAP"
while read -r bench; do
  [[ -n "$bench" ]] || continue
  echo "=== $bench ($(date -u +%T))"
  KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" "$BUILD/$bench" ${TRIAD_BENCH_ARGS:-}
done <"$BUILD/benches.txt"
# The benchmarks below start brokers of their own: this one stops rather than idle beside them.
triad_stop_private_kafka

# The production scheduler's optimality gap against OR-Tools CP-SAT (installs ortools from PyPI
# into .cache/production-cpsat/venv on first use; a few minutes). TRIAD_BENCH_CPSAT=0 skips it.
if [[ "${TRIAD_BENCH_CPSAT:-1}" != 0 ]]; then
  echo "=== production_cpsat (bench/production_cpsat/cpsat_gap.py) ($(date -u +%T))"
  TRIAD_BUILD_DIR="$BUILD" bench/production_cpsat/cpsat_gap.py ${TRIAD_BENCH_CPSAT_ARGS:-}
fi

# The gRPC-limit benchmark against a bare gRPC server and the PostgreSQL comparison
# (scripts/bench-grpc.sh, docs/performance-grpc.md; about 8 minutes, its own broker on
# TRIAD_BENCH_GRPC_KAFKA_PORT, so no other service shares its topics). TRIAD_BENCH_GRPC=0 skips it.
if [[ "${TRIAD_BENCH_GRPC:-1}" != 0 ]]; then
  echo "=== grpc (scripts/bench-grpc.sh) ($(date -u +%T))"
  TRIAD_BUILD_DIR="$BUILD" TRIAD_BENCH_SKIP_BUILD=1 scripts/bench-grpc.sh
fi

# The event-flow benchmark (scripts/bench-flow.sh: deal won -> project scheduled latency,
# apply throughput per service) on a broker of its own; TRIAD_BENCH_FLOW=0 skips it.
if [[ "${TRIAD_BENCH_FLOW:-1}" != 0 ]]; then
  echo "=== event flow (scripts/bench-flow.sh) ($(date -u +%T))"
  TRIAD_BUILD_DIR="$BUILD" TRIAD_FLOW_BUILD=0 scripts/bench-flow.sh
fi

# The scale benchmark: start-up, read p99, peak RSS and disk of each service at 10k, 100k and 1M
# records (scripts/bench-scale.sh; seeds cached in .cache/bench-scale; its own broker unless
# KAFKA_BOOTSTRAP_SERVERS names one). TRIAD_BENCH_SCALE=0 skips it.
if [[ "${TRIAD_BENCH_SCALE:-1}" != 0 ]]; then
  echo "=== scale (scripts/bench-scale.sh) ($(date -u +%T))"
  TRIAD_BUILD_DIR="$BUILD" TRIAD_SCALE_SKIP_BUILD=1 scripts/bench-scale.sh
fi
echo "=== end ($(date -u +%T))"
