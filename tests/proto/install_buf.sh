#!/usr/bin/env bash
# install_buf.sh — installs the protobuf linter `buf` (pinned) into .cache/proto-tools/bin,
# idempotently (a second run only checks the version and the pin). It is built with `go install`
# inside the module tests/proto/buf, whose go.mod pins buf's version and whose go.sum pins the
# hash of every module buf is built from: Go verifies each download against go.sum and stops
# ("SECURITY ERROR" / "checksum mismatch") on any difference, and -mod=readonly refuses a module
# go.sum does not list. After a deliberate upgrade: edit the version in tests/proto/buf/go.mod,
# run `go mod tidy` there and review the go.sum diff. Env override: TRIAD_PROTO_TOOLS_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_PROTO_TOOLS_DIR:-$ROOT/.cache/proto-tools}"
MODULE="$ROOT/tests/proto/buf"
BUF_VERSION="$(sed -n 's:^require github.com/bufbuild/buf \(v[0-9.]*\)$:\1:p' "$MODULE/go.mod")"
BIN="$TOOLS/bin/buf"
[[ -n "$BUF_VERSION" ]] || { echo "proto-tools: no buf version in $MODULE/go.mod" >&2; exit 1; }
if [[ -x "$BIN" ]] && [[ "v$("$BIN" --version 2>/dev/null)" == "$BUF_VERSION" ]] &&
   cmp -s "$MODULE/go.sum" "$TOOLS/bin/buf.go.sum"; then
  exit 0
fi
source "$ROOT/scripts/lib.sh"
triad_ensure_go proto-tools
mkdir -p "$TOOLS/bin"
echo "proto-tools: go install github.com/bufbuild/buf/cmd/buf ($BUF_VERSION, modules pinned by $MODULE/go.sum)" >&2
if ! (cd "$MODULE" && GOBIN="$TOOLS/bin" GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off \
      go install github.com/bufbuild/buf/cmd/buf >&2); then
  echo "proto-tools: FATAL: building buf from the pinned modules failed (a checksum mismatch is named above)" >&2
  exit 1
fi
[[ "v$("$BIN" --version 2>/dev/null)" == "$BUF_VERSION" ]] ||
  { echo "proto-tools: $BIN does not report $BUF_VERSION" >&2; exit 1; }
cp "$MODULE/go.sum" "$TOOLS/bin/buf.go.sum"
