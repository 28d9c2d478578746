#!/usr/bin/env bash
# demo.sh — loads the demo dataset (the source article's two cases) into running services;
# `make run` calls it once the services are up. Idempotent: running it again adds nothing.
#
#   scripts/demo.sh [--approve-hospital-review]
# Env: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:19092), TRIAD_CLIENTS_ADDR (127.0.0.1:7101),
#      TRIAD_PIPELINE_ADDR (127.0.0.1:7102).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=python3
# Debian's interpreter has the python3-grpcio/-protobuf/-confluent-kafka packages; another
# python3 earlier on PATH (pyenv, venv) may not. demo.py re-executes itself with it if needed.
[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
exec "$PYTHON" "$ROOT/tools/demo/demo.py" "$@"
