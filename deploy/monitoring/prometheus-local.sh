#!/usr/bin/env bash
# prometheus-local.sh — a local Prometheus on 127.0.0.1 that scrapes the services of `make run`
# and evaluates Triad's alert rules (deploy/monitoring/prometheusrule.yaml), to see the alerts
# and try the dashboard's queries against real services without a cluster.
#
#   deploy/monitoring/prometheus-local.sh start|stop|status
#
# It labels the targets as the Kubernetes ServiceMonitor would (job triad-<svc>, namespace
# local, pod triad-<svc>-0), so the dashboard's expressions work with $namespace=local. The
# Prometheus binary comes from Debian bookworm's `prometheus` package, extracted (not installed,
# which would start a system service) into .cache/deploy-tools/bin beside promtool.
#
# Environment (all optional):
#   TRIAD_METRICS_PORTS  "svc:port ..." to scrape (default: the make run admin ports,
#                        "clients:9101 pipeline:9102 review:9103 production:9104")
#   TRIAD_PROMETHEUS_PORT  its web/API port on 127.0.0.1 (default 19090)
#   TRIAD_PROMETHEUS_DIR   its config, data, log and pid (default .triad/prometheus)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${TRIAD_DEPLOY_TOOLS_DIR:-$ROOT/.cache/deploy-tools}"
PORTS="${TRIAD_METRICS_PORTS:-clients:9101 pipeline:9102 review:9103 production:9104}"
WEB_PORT="${TRIAD_PROMETHEUS_PORT:-19090}"
DIR="${TRIAD_PROMETHEUS_DIR:-$ROOT/.triad/prometheus}"
PIDFILE="$DIR/prometheus.pid"
PROM="$TOOLS/bin/prometheus"

log() { echo "prometheus-local: $*" >&2; }

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

install_prometheus() {
  [[ -x "$PROM" ]] && return
  "$ROOT/tests/deploy/install_tools.sh"  # promtool, and the Python venv used below
  log "extracting prometheus from Debian's prometheus package into $TOOLS/bin"
  local dl
  dl="$(mktemp -d)"
  chmod 777 "$dl"
  (cd "$dl" && apt-get download -qq prometheus >&2)
  dpkg-deb --fsys-tarfile "$dl"/prometheus_*.deb | tar -x -C "$dl" ./usr/bin/prometheus
  mv "$dl/usr/bin/prometheus" "$PROM"
  rm -rf "$dl"
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE")) on http://127.0.0.1:$WEB_PORT"; return; fi
  install_prometheus
  "$ROOT/tests/deploy/install_tools.sh"
  # shellcheck source=/dev/null
  source "$TOOLS/env.sh"
  mkdir -p "$DIR"
  # The rule groups of the PrometheusRule, as a plain rule file.
  "$TRIAD_DEPLOY_PYTHON" - "$ROOT/deploy/monitoring/prometheusrule.yaml" "$DIR/rules.yaml" <<'EOF'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))["spec"]
yaml.safe_dump({"groups": spec["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
EOF
  {
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "rule_files: [rules.yaml]"
    echo "scrape_configs:"
    for entry in $PORTS; do
      svc="${entry%%:*}" port="${entry##*:}"
      echo "  - job_name: triad-$svc"
      echo "    static_configs: [{targets: ['127.0.0.1:$port'], labels: {namespace: local, pod: triad-$svc-0}}]"
    done
  } >"$DIR/prometheus.yml"
  "$TOOLS/bin/promtool" check config "$DIR/prometheus.yml" >/dev/null
  nohup "$PROM" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
    --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$WEB_PORT" \
    >"$DIR/prometheus.log" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 50); do
    if curl -sf "http://127.0.0.1:$WEB_PORT/-/ready" >/dev/null 2>&1; then
      log "up (pid $(cat "$PIDFILE")): http://127.0.0.1:$WEB_PORT/alerts, targets $PORTS"
      return
    fi
    running || break
    sleep 0.2
  done
  log "did not start; see $DIR/prometheus.log"
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$PIDFILE")"
    log "stopped (pid $(cat "$PIDFILE"))"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then log "running (pid $(cat "$PIDFILE")) on http://127.0.0.1:$WEB_PORT"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
