# lib.sh — shell functions shared by test.sh, bench.sh and run-local.sh (source it; it runs
# nothing by itself). Expects ROOT (the repository) and runs from it.

# triad_build installs what is missing and builds everything into ${TRIAD_BUILD_DIR:-build}.
triad_build() {
  "$ROOT/scripts/setup.sh"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j"${TRIAD_JOBS:-2}"
}

# triad_ensure_go LABEL puts a Go toolchain on PATH (Debian's usual places, else installs
# golang-go), for the tools built from pinned Go modules (buf, ghz). LABEL prefixes its messages.
triad_ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
      [[ -x "$candidate" ]] && export PATH="$(dirname "$candidate"):$PATH" && break
    done
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "$1: installing golang-go" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go >&2
  fi
}

# triad_private_kafka PORT NAME [JIT] starts a broker of its own on PORT with fresh state in
# .triad/NAME (so a `make run` broker is untouched), stops it when the script exits, and sets
# BOOTSTRAP. When KAFKA_BOOTSTRAP_SERVERS names a cluster, it starts nothing and uses that.
# JIT is kafka-local.sh's TRIAD_KAFKA_JIT (quick by default; benchmarks pass full, the JVM a
# production broker runs); a TRIAD_KAFKA_JIT already set wins.
triad_private_kafka() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
    BOOTSTRAP="$KAFKA_BOOTSTRAP_SERVERS"
    return 0
  fi
  export TRIAD_KAFKA_PORT="$1"
  export TRIAD_KAFKA_DIR="$ROOT/.triad/$2"
  export TRIAD_KAFKA_JIT="${TRIAD_KAFKA_JIT:-${3:-quick}}"
  rm -rf "$TRIAD_KAFKA_DIR"
  trap '"$ROOT/scripts/kafka-local.sh" stop' EXIT
  "$ROOT/scripts/kafka-local.sh" start
  BOOTSTRAP="$("$ROOT/scripts/kafka-local.sh" bootstrap)"
  TRIAD_PRIVATE_KAFKA_STARTED=1
}

# triad_stop_private_kafka stops the broker triad_private_kafka started (nothing when it used
# KAFKA_BOOTSTRAP_SERVERS), so later steps do not share the cores with an idle broker.
triad_stop_private_kafka() {
  if [[ "${TRIAD_PRIVATE_KAFKA_STARTED:-0}" == 1 ]]; then
    "$ROOT/scripts/kafka-local.sh" stop
    trap - EXIT
    TRIAD_PRIVATE_KAFKA_STARTED=0
  fi
}
