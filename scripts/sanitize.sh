#!/usr/bin/env bash
# sanitize.sh — `make sanitize` (both builds) and `make tsan` (ThreadSanitizer only): the C++ tests
# under sanitizers, run against a private Kafka broker. Slower than `make test`; run it before a
# release or after touching memory-sensitive or concurrent code.
#
#   scripts/sanitize.sh [all|asan|tsan]     (default all)
#
#   asan  every C++ test binary built with AddressSanitizer + UndefinedBehaviorSanitizer
#         (build-asan/, or TRIAD_ASAN_BUILD_DIR).
#   tsan  the concurrent parts (outbox relay, idempotent consumer, service host, runtime) and
#         their tests, common_unit_test and events_integration_test (with the outbox_crash_tool
#         it spawns), and the four services' unit, gRPC and integration tests, built with
#         ThreadSanitizer (build-tsan/, or TRIAD_TSAN_BUILD_DIR).
#         librdkafka, gRPC, RocksDB and protobuf are Debian's uninstrumented libraries: races
#         TSan reports inside them are suppressed by scripts/tsan.supp (each entry says why);
#         nothing of Triad's own code is suppressed. Any report fails the run.
#
# Environment: TRIAD_SANITIZE_KAFKA_PORT (or the older TRIAD_ASAN_KAFKA_PORT) is the private
# broker's port (default 19992); KAFKA_BOOTSTRAP_SERVERS names a running broker instead;
# TRIAD_CTEST_ARGS adds ctest arguments; TRIAD_JOBS the build's parallelism (default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/lib.sh
MODE="${1:-all}"
case "$MODE" in
  all | asan | tsan) ;;
  *) echo "usage: $0 [all|asan|tsan]" >&2; exit 2 ;;
esac
JOBS="${TRIAD_JOBS:-2}"
ASAN_BUILD="${TRIAD_ASAN_BUILD_DIR:-build-asan}"
TSAN_BUILD="${TRIAD_TSAN_BUILD_DIR:-build-tsan}"
# The targets of the TSan build: the test binaries of the concurrent runtime, and each service's
# unit, gRPC and integration tests (creates and stage moves run side by side under shared locks).
TSAN_SERVICE_TESTS=(clients_unit_test clients_grpc_test clients_integration_test
  pipeline_unit_test pipeline_grpc_test pipeline_integration_test
  review_unit_test review_grpc_test review_integration_test review_pipeline_integration_test
  production_unit_test production_grpc_test production_integration_test)
TSAN_TARGETS=(common_unit_test events_integration_test outbox_crash_tool "${TSAN_SERVICE_TESTS[@]}")
TSAN_TESTS="^(common_unit_test|events_integration_test|$(IFS='|'; echo "${TSAN_SERVICE_TESTS[*]}"))\$"

scripts/setup.sh
if [[ "$MODE" != tsan ]]; then
  cmake -S . -B "$ASAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g1" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  ninja -C "$ASAN_BUILD" -j"$JOBS"
fi
if [[ "$MODE" != asan ]]; then
  # -U__SANITIZE_THREAD__: library headers must describe the same types as the uninstrumented
  # Debian libraries built from them. protobuf 3.21's map_field.h adds two members to MapFieldBase
  # when the macro is defined (80 bytes against the library's 72), and reflection over a map field
  # then crashes; TSan instruments the code either way.
  cmake -S . -B "$TSAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -U__SANITIZE_THREAD__ -fno-omit-frame-pointer -O1 -g" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
  ninja -C "$TSAN_BUILD" -j"$JOBS" "${TSAN_TARGETS[@]}"
fi
triad_private_kafka "${TRIAD_SANITIZE_KAFKA_PORT:-${TRIAD_ASAN_KAFKA_PORT:-19992}}" kafka-sanitize

status=0
if [[ "$MODE" != tsan ]]; then
  echo "sanitize: AddressSanitizer + UndefinedBehaviorSanitizer ($ASAN_BUILD)" >&2
  # Leak checking is off: librdkafka and gRPC keep process-lifetime allocations.
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" ctest --test-dir "$ASAN_BUILD" --output-on-failure \
    -E 'e2e_.*_test|deploy_manifests_test|dlq_tool_test' ${TRIAD_CTEST_ARGS:-} || status=1
fi
if [[ "$MODE" != asan ]]; then
  echo "sanitize: ThreadSanitizer ($TSAN_BUILD)" >&2
  # ignore_noninstrumented_modules: accesses the TSan runtime sees on behalf of the uninstrumented
  # libraries are not recorded (see scripts/tsan.supp). exitcode: a report fails the test binary
  # (and the crash tool, whose exit status the test checks); halt_on_error=0 lets one run show
  # every report.
  TSAN_OPTIONS="suppressions=$ROOT/scripts/tsan.supp ignore_noninstrumented_modules=1 halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4" \
    KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" ctest --test-dir "$TSAN_BUILD" --output-on-failure \
    -R "$TSAN_TESTS" ${TRIAD_CTEST_ARGS:-} || status=1
fi
exit "$status"
