#!/usr/bin/env bash
# fuzz.sh — the libFuzzer targets of tests/fuzz (two per service: <svc>_request_fuzz,
# <svc>_event_fuzz), built with clang + ASan + UBSan in their own build directory.
#
#   scripts/fuzz.sh build              configure build-fuzz/ (CC=clang, TRIAD_FUZZ=ON) and build
#                                      only the fuzz targets and what they link (`make fuzz`)
#   scripts/fuzz.sh run <target> [s]   replay tests/fuzz/regressions/<target>/, then fuzz for s
#                                      seconds (default TRIAD_FUZZ_SECONDS or 20) from the seed
#                                      corpus tests/fuzz/corpus/<target>/; exit 77 when the
#                                      target is not built (the ctest entries skip then)
#   scripts/fuzz.sh all [s]            run every target
#   scripts/fuzz.sh seeds <target>     rewrite the target's seed corpus (its built-in samples)
#   scripts/fuzz.sh targets            list the targets
#
# A crash leaves its input in build-fuzz/artifacts/<target>/; after fixing the bug, keep it in
# tests/fuzz/regressions/<target>/ so every run replays it. Longer runs: `scripts/fuzz.sh run
# <target> 3600`, or the binary itself with libFuzzer's flags (-jobs, -workers, -dict ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${TRIAD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
TARGETS=(clients_request_fuzz clients_event_fuzz pipeline_request_fuzz pipeline_event_fuzz
  review_request_fuzz review_event_fuzz production_request_fuzz production_event_fuzz)

build() {
  local start=$SECONDS
  # The generated protobuf code (not instrumented) comes from the normal build.
  local protos="${TRIAD_BUILD_DIR:-$ROOT/build}"
  [[ "$protos" = /* ]] || protos="$ROOT/$protos"
  if [[ ! -f "$protos/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$protos" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  ninja -C "$protos" -j"${TRIAD_JOBS:-2}" triad_proto
  # The libraries' precompiled headers (tests/fuzz/CMakeLists.txt): ccache caches their users
  # only with these sloppiness settings (without, it compiles them, uncached).
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:+$CCACHE_SLOPPINESS,}pch_defines,time_macros,include_file_mtime,include_file_ctime"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTRIAD_FUZZ=ON -DTRIAD_FUZZ_PROTO_BUILD="$protos" >/dev/null
  ninja -C "$BUILD" -j"${TRIAD_JOBS:-2}" fuzz_targets
  echo "fuzz: targets built in $((SECONDS - start)) s ($BUILD)" >&2
}

run() {
  local target="$1" seconds="${2:-${TRIAD_FUZZ_SECONDS:-20}}"
  local bin="$BUILD/tests/fuzz/$target"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz: $bin is not built (scripts/fuzz.sh build, or make fuzz): skipped" >&2
    exit 77
  fi
  local corpus="$ROOT/tests/fuzz/corpus/$target" regressions="$ROOT/tests/fuzz/regressions/$target"
  local work="$BUILD/work/$target" artifacts="$BUILD/artifacts/$target/"
  mkdir -p "$work" "$artifacts" "$BUILD/tmp"
  # The targets' stores live in temporary directories: keep those in the build directory.
  export TMPDIR="$BUILD/tmp"
  # Leak checking is off: gRPC's and RocksDB's process-wide objects live until exit.
  local flags=(-detect_leaks=0 -rss_limit_mb=2560 -timeout=30 -max_len=65536
    -artifact_prefix="$artifacts" -print_final_stats=1)
  if compgen -G "$regressions/*" >/dev/null; then
    echo "fuzz: $target replays $(ls "$regressions" | wc -l) regression inputs" >&2
    "$bin" "${flags[@]}" "$regressions"/*
  fi
  echo "fuzz: $target for ${seconds}s from $corpus" >&2
  # The work directory collects what the run finds; the checked-in corpus is only read.
  "$bin" "${flags[@]}" -max_total_time="$seconds" "$work" "$corpus"
}

case "${1:-}" in
  build) build ;;
  run) run "${2:?target}" "${3:-}" ;;
  all)
    for t in "${TARGETS[@]}"; do run "$t" "${2:-}"; done
    ;;
  seeds)
    target="${2:?target}"
    mkdir -p "$ROOT/tests/fuzz/corpus/$target"
    TRIAD_FUZZ_WRITE_SEEDS="$ROOT/tests/fuzz/corpus/$target" "$BUILD/tests/fuzz/$target"
    ;;
  targets) printf '%s\n' "${TARGETS[@]}" ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
