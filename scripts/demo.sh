#!/usr/bin/env bash
# demo.sh — loads the demo dataset (the source article's two cases) into the running services
# through their APIs; `make run` calls it once the services are up. Idempotent: running it again
# adds nothing. Prints what happened (numbers read back from the services) and what to try next.
#
#   scripts/demo.sh [--clients ADDR] [--pipeline ADDR] [--review ADDR] [--production ADDR]
# Env: TRIAD_PORT_BASE (services on 127.0.0.1:<base+1..4>, default 7100), or
#      TRIAD_<SERVICE>_ADDR per service; TRIAD_RUN_DIR (where the demo keeps its day 0).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=python3
# Debian's interpreter has the python3-grpcio/-protobuf/-confluent-kafka packages; another
# python3 earlier on PATH (pyenv, venv) may not. demo.py re-executes itself with it if needed.
[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
exec "$PYTHON" "$ROOT/tools/demo/demo.py" "$@"
