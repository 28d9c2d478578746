#!/usr/bin/env bash
# bench-flow.sh — the event-flow benchmark (bench/flow, binary flow_bench): on a private Kafka
# broker, (1) the latency from the RPC that wins a deal in pipeline to its project being
# scheduled and readable in production, at 10, 100 and 1,000 deals/s, and (2) the events each
# service applies per second over a backlog produced before it starts. Prints two markdown
# tables with their setup (docs/performance-flow.md explains them). Asserts nothing; about
# 6 minutes on 2 cores. `make bench` runs it at its end (TRIAD_BENCH_FLOW=0 skips it there).
#
# Environment:
#   TRIAD_BUILD_DIR           build tree (default build)
#   TRIAD_FLOW_KAFKA_PORT     port of the private broker (default 19304); KAFKA_BOOTSTRAP_SERVERS
#                             uses that cluster instead (its topics' records are purged!)
#   TRIAD_FLOW_ARGS           more flow_bench flags (e.g. --flow_part=latency --flow_seconds=5;
#                             build/bench/flow/flow_bench --helpfull lists them)
#   TRIAD_FLOW_SERVICE_FLAGS  flags given to every service, comma-separated
#                             (e.g. --sync_writes=true)
#   TRIAD_FLOW_PERF_DIR       when set, part 2 records each service with `perf record -g` there
#   TRIAD_FLOW_BUILD=0        skips the build (bench.sh has built already)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh

if [[ "${TRIAD_FLOW_BUILD:-1}" != 0 ]]; then
  "$ROOT/scripts/setup.sh"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j"${TRIAD_JOBS:-2}" flow_bench
fi

WORK="$ROOT/.triad/bench-flow"
rm -rf "$WORK"
mkdir -p "$WORK"
triad_private_kafka "${TRIAD_FLOW_KAFKA_PORT:-19304}" kafka-flow full

start=$(date +%s)
echo "=== flow_bench (scripts/bench-flow.sh): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB," \
  "$(uname -r); Kafka at $BOOTSTRAP; $(date -u +%Y-%m-%dT%H:%MZ)"
# shellcheck disable=SC2086
"$BUILD/bench/flow/flow_bench" --flow_bootstrap="$BOOTSTRAP" --flow_build_dir="$BUILD" \
  --flow_work_dir="$WORK" --flow_service_flags="${TRIAD_FLOW_SERVICE_FLAGS:-}" \
  ${TRIAD_FLOW_ARGS:-}
echo "bench-flow wall time: $(( $(date +%s) - start )) s (broker start not included);" \
  "service logs in $WORK"
