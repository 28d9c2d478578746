#!/usr/bin/env bash
# validate_asyncapi.sh [FILE] — validates FILE (default docs/asyncapi.yaml) with the official
# AsyncAPI parser, installing it first when needed (tests/asyncapi/install_tools.sh). Exits
# non-zero when the document has an error or a warning.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_ASYNCAPI_TOOLS_DIR:-$ROOT/.cache/asyncapi-tools}"
"$ROOT/tests/asyncapi/install_tools.sh"
NODE_PATH="$TOOLS/node_modules" exec node "$ROOT/tests/asyncapi/validate_asyncapi.js" \
  "${1:-$ROOT/docs/asyncapi.yaml}"
