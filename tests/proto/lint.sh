#!/usr/bin/env bash
# lint.sh — lints every .proto under proto/ with buf (rules in proto/buf.yaml); exits non-zero
# on any finding. Run by ctest as proto_lint_test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${TRIAD_PROTO_TOOLS_DIR:-$ROOT/.cache/proto-tools}/bin/buf"
[[ -x "$BIN" ]] || "$ROOT/tests/proto/install_buf.sh"
cd "$ROOT/proto"
"$BIN" lint
echo "proto lint: ok"
