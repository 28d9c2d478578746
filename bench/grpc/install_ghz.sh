#!/usr/bin/env bash
# install_ghz.sh — installs the gRPC load tool ghz (pinned) into .cache/ghz/bin, idempotently (a
# second run only compares the pin). It is built with `go install` inside the module
# bench/grpc/ghz, whose go.mod pins ghz's version and whose go.sum pins the hash of every module
# ghz is built from: Go verifies each download against go.sum and stops on any difference, and
# -mod=readonly refuses a module go.sum does not list. After a deliberate upgrade: edit the
# version in bench/grpc/ghz/go.mod, run `go mod tidy` there and review the go.sum diff.
# Env override: TRIAD_GHZ_DIR. Prints the binary's path on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_GHZ_DIR:-$ROOT/.cache/ghz}"
MODULE="$ROOT/bench/grpc/ghz"
BIN="$TOOLS/bin/ghz"
if [[ -x "$BIN" ]] && cmp -s "$MODULE/go.sum" "$TOOLS/bin/ghz.go.sum" &&
   cmp -s "$MODULE/go.mod" "$TOOLS/bin/ghz.go.mod"; then
  echo "$BIN"
  exit 0
fi
source "$ROOT/scripts/lib.sh"
triad_ensure_go ghz
mkdir -p "$TOOLS/bin"
echo "ghz: go install github.com/bojand/ghz/cmd/ghz (modules pinned by $MODULE/go.sum)" >&2
if ! (cd "$MODULE" && GOBIN="$TOOLS/bin" GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off \
      go install github.com/bojand/ghz/cmd/ghz >&2); then
  echo "ghz: FATAL: building ghz from the pinned modules failed (a checksum mismatch is named above)" >&2
  exit 1
fi
cp "$MODULE/go.sum" "$TOOLS/bin/ghz.go.sum"
cp "$MODULE/go.mod" "$TOOLS/bin/ghz.go.mod"
echo "$BIN"
