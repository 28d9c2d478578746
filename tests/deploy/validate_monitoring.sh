#!/usr/bin/env bash
# validate_monitoring.sh — offline validation of deploy/monitoring (ctest: deploy_monitoring_test):
#   1. tests/deploy/check_monitoring.py: the Grafana dashboard (valid, current, Grafana's schema
#      basics), every PromQL expression parsed by promtool, `promtool check rules` and
#      `promtool test rules` (tests/deploy/monitoring/alerts_test.yaml) on the PrometheusRule's
#      groups, and every metric name exported by the code or listed as external;
#   2. tests/deploy/check_monitoring_test.py: that each of those checks catches what it is for.
# Needs no cluster and no network once tests/deploy/install_tools.sh has run (called here).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="${TRIAD_DEPLOY_TOOLS_DIR:-$ROOT/.cache/deploy-tools}"

"$HERE/install_tools.sh"
# shellcheck source=/dev/null
source "$TOOLS/env.sh"

failed=0
"$TRIAD_DEPLOY_PYTHON" "$HERE/check_monitoring.py" --repo "$ROOT" --promtool "$TRIAD_PROMTOOL" || failed=1
"$TRIAD_DEPLOY_PYTHON" "$HERE/check_monitoring_test.py" "$TRIAD_PROMTOOL" || failed=1
if ((failed)); then
  echo "deploy monitoring: FAILED" >&2
  exit 1
fi
echo "deploy monitoring: ok"
