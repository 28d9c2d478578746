#!/usr/bin/env bash
# install_buf.sh — installs the protobuf linter `buf` (pinned) into .cache/proto-tools/bin with
# `go install` from the Go module proxy (checksums verified by Go against go.sum's database),
# idempotently: a second run only checks the version. Env override: TRIAD_PROTO_TOOLS_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_PROTO_TOOLS_DIR:-$ROOT/.cache/proto-tools}"
BUF_VERSION="v1.75.0"
BIN="$TOOLS/bin/buf"
if [[ -x "$BIN" ]] && [[ "v$("$BIN" --version 2>/dev/null)" == "$BUF_VERSION" ]]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [[ -x "$candidate" ]] && export PATH="$(dirname "$candidate"):$PATH" && break
  done
fi
if ! command -v go >/dev/null 2>&1; then
  echo "proto-tools: installing golang-go" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go >&2
fi
mkdir -p "$TOOLS/bin"
echo "proto-tools: go install github.com/bufbuild/buf/cmd/buf@$BUF_VERSION" >&2
GOBIN="$TOOLS/bin" GOFLAGS=-buildvcs=false go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION" >&2
"$BIN" --version >/dev/null
