#!/usr/bin/env bash
# setup.sh — installs everything Triad needs on a Debian bookworm machine (as root), idempotently:
# the C++ toolchain and libraries from Debian's packages, Java 17 and Maven for the Kafka broker,
# kcat, Node.js, the Kafka jars (resolved by Maven into .cache/) and the npm packages of the
# AsyncAPI validation (into .cache/). Safe to run again: it installs only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev librocksdb-dev libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libspdlog-dev prometheus-cpp-dev libcli11-dev nlohmann-json3-dev
  kcat clang-format python3 python3-grpcio python3-confluent-kafka python3-protobuf
  python3-grpc-tools python3-jwt python3-cryptography
  libjwt-dev libgoogle-perftools-dev clang libfuzzer-14-dev libclang-rt-14-dev openssl
  curl procps
)
command -v java >/dev/null 2>&1 || PACKAGES+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || PACKAGES+=(maven)
# Node.js runs the AsyncAPI parser that validates docs/asyncapi.yaml (tests/asyncapi).
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

"$ROOT/scripts/kafka-local.sh" jars
# Tools of the offline Kubernetes manifest validation (kustomize, kubernetes-validate in a venv).
"$ROOT/tests/deploy/install_tools.sh"
# The AsyncAPI parser (npm, pinned by tests/asyncapi/package-lock.json) into .cache/.
"$ROOT/tests/asyncapi/install_tools.sh"
# The protobuf linter buf (Go module proxy, pinned) into .cache/proto-tools.
"$ROOT/tests/proto/install_buf.sh"
echo "setup: ok" >&2
