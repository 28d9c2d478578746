#!/usr/bin/env bash
# bench-scale.sh — the scale benchmark: for N in 10k, 100k, 1M records and each service, seed N
# records (bench/scale, cached in .cache/bench-scale/<svc>-<N>-<seeder version>, per service), start the real
# service binary on them (private Kafka broker, --auth_mode=disabled on loopback), and print
# start-up time, p50/p99 of its main reads (ghz, 8 concurrent, 5 s each), peak RSS and disk size
# as one markdown table per service (docs/performance-scale.md). Prints numbers, asserts nothing.
#
# Environment: TRIAD_SCALE_SIZES (default 10000,100000,1000000), TRIAD_SCALE_SERVICES (default
# clients,pipeline,review,production), TRIAD_SCALE_DURATION (5s), TRIAD_SCALE_CONCURRENCY (8),
# TRIAD_SCALE_SEED_JOBS (2 seeders at a time), TRIAD_SCALE_KAFKA_PORT (19306), TRIAD_SCALE_SKIP_BUILD=1 (use the build as it is),
# KAFKA_BOOTSTRAP_SERVERS (use that broker instead of starting one).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
source scripts/lib.sh

if [[ "${TRIAD_SCALE_SKIP_BUILD:-0}" != 1 ]]; then
  triad_build
fi

# ghz: the one pinned build (bench/grpc/ghz), installed once into .cache/ghz.
GHZ="$(bench/grpc/install_ghz.sh)"

# Each service's seeds are keyed by the last commit of what its seeder runs: the seeder's shared
# files and its own, the service's code (not its docs, tests or benchmarks) and common/storage
# (a dirty tree reseeds: its key is that of its diff). A change to one service reseeds that service alone; the driver, run_scale.py,
# makes no seed.
SEED_KEYS=()
for svc in clients pipeline review production; do
  paths=(bench/scale/seed.h bench/scale/seed_main.cc "bench/scale/${svc}_seed.cc" "services/$svc"
         common/storage ':(exclude)*.md' ':(exclude)services/*/tests' ':(exclude)services/*/bench')
  key="$(git log -1 --format=%h -- "${paths[@]}")"
  if [[ -n "$(git status --porcelain -- "${paths[@]}")" ]]; then
    key="dirty$(git diff HEAD -- "${paths[@]}" | sha256sum | cut -c1-10)"
  fi
  SEED_KEYS+=("$svc=$key")
done
SEED_KEY="$(IFS=,; echo "${SEED_KEYS[*]}")"

triad_private_kafka "${TRIAD_SCALE_KAFKA_PORT:-19306}" kafka-scale full

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); Kafka at $BOOTSTRAP; seeders $SEED_KEY"
python3 bench/scale/run_scale.py --build "$BUILD" --ghz "$GHZ" --bootstrap "$BOOTSTRAP" \
  --sizes "${TRIAD_SCALE_SIZES:-10000,100000,1000000}" \
  --services "${TRIAD_SCALE_SERVICES:-clients,pipeline,review,production}" \
  --duration "${TRIAD_SCALE_DURATION:-5s}" --concurrency "${TRIAD_SCALE_CONCURRENCY:-8}" \
  --seed-jobs "${TRIAD_SCALE_SEED_JOBS:-2}" \
  --seed-key "$SEED_KEY"
