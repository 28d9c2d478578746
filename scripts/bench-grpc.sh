#!/usr/bin/env bash
# bench-grpc.sh — the gRPC-limit benchmark and the PostgreSQL comparison (docs/performance-grpc.md).
# Builds (with it the load tool, bench/grpc/grpc_load.cc), installs the pinned ghz
# (bench/grpc/install_ghz.sh; the other tool, --tool ghz), starts a private Kafka broker, then
# bench/grpc/bench_grpc.py: a bare gRPC hello-world server (sync and callback API) as the baseline
# and the four services (JWT authentication, plaintext) seeded through their APIs, each call run
# with the same load tool at the same concurrency, for --sync_writes=false and =true; then bench/postgres/pgbench.sh
# (the same logical write as CreateClient in PostgreSQL 15, fsync on) and the ratio of the two.
# Prints markdown tables. Budget: about 8 minutes on 2 cores (the durations are printed).
#
# Environment (all optional):
#   TRIAD_BENCH_GRPC_KAFKA_PORT  the private broker's port (default 19302)
#   TRIAD_BENCH_GRPC_ARGS        more flags for bench_grpc.py (e.g. "--duration 10 --perf", or
#                                "--tool ghz" to drive both sides with ghz instead of grpc_load)
#   TRIAD_BENCH_GRPC_SMOKE=1     a short smoke run (1 s runs, small seed, one sync mode)
#   TRIAD_BENCH_POSTGRES=0       skip the PostgreSQL comparison
#   TRIAD_BENCH_PG_ARGS          flags for bench/postgres/pgbench.sh
#   TRIAD_BENCH_GRPC_OUT         directory for the JSON results (default .triad/bench-grpc)
#   KAFKA_BOOTSTRAP_SERVERS      use that cluster instead of a private broker
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh
START=$SECONDS

if [[ -z "${TRIAD_BENCH_SKIP_BUILD:-}" ]]; then
  triad_build
fi
GHZ="$(bench/grpc/install_ghz.sh)"
triad_private_kafka "${TRIAD_BENCH_GRPC_KAFKA_PORT:-19302}" kafka-bench-grpc full
OUT="${TRIAD_BENCH_GRPC_OUT:-$ROOT/.triad/bench-grpc}"
mkdir -p "$OUT"
echo "machine: $(hostname), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load tool: $BUILD/bench/grpc/bench_grpc_load (or with --tool ghz: $GHZ $(sed -n 's:^require github.com/bojand/ghz \(v[0-9.]*\)$:\1:p' bench/grpc/ghz/go.mod)); Kafka at $BOOTSTRAP"

ARGS=()
if [[ "${TRIAD_BENCH_GRPC_SMOKE:-}" == 1 ]]; then
  ARGS=(--duration 1 --warmup 0.5 --rate-duration 1 --clients 300 --opportunities 60
        --projects 4 --verdicts-per-mode 300 --warmup-verdicts 50 --sync-modes false,true
        --thread-rounds 1)
fi
# shellcheck disable=SC2086
python3 bench/grpc/bench_grpc.py --build-dir "$BUILD" --bootstrap "$BOOTSTRAP" --ghz "$GHZ" \
  --broker-pid-file "${TRIAD_KAFKA_DIR:-/nonexistent}/broker.pid" \
  --json "$OUT/grpc.json" "${ARGS[@]}" ${TRIAD_BENCH_GRPC_ARGS:-} | tee "$OUT/grpc.md"

if [[ "${TRIAD_BENCH_POSTGRES:-1}" != 0 ]]; then
  PG_ARGS=(--duration 10)
  [[ "${TRIAD_BENCH_GRPC_SMOKE:-}" == 1 ]] && PG_ARGS=(--duration 3)
  # shellcheck disable=SC2086
  bench/postgres/pgbench.sh --triad-json "$OUT/grpc.json" "${PG_ARGS[@]}" \
    ${TRIAD_BENCH_PG_ARGS:-} | tee "$OUT/postgres.md"
fi
echo "bench-grpc: whole script $((SECONDS - START)) s"
