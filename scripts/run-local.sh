#!/usr/bin/env bash
# run-local.sh — `make run` / `make stop`: brings up Kafka and every Triad service that exists
# (each built binary build/services/<svc>/triad-<svc>), with data under .triad/, and loads the
# demo data when scripts/demo.sh exists; `stop` takes it all down. Every service runs with TLS
# (mTLS requested) and JWT authentication against the dev PKI scripts/dev-pki.sh writes into
# .triad/pki (kept between runs); `tools/triadctl login` mints a token with its dev signing key.
#
#   scripts/run-local.sh start|stop|status
#
# Environment (all optional), so a second instance can run beside the first:
#   TRIAD_PORT_BASE        gRPC ports are base+1..base+4 (clients, pipeline, review, production;
#                          default 7100)
#   TRIAD_ADMIN_PORT_BASE  metrics ports are base+1..base+4 (default TRIAD_PORT_BASE + 2000)
#   TRIAD_RUN_DIR          data, logs and pids (default .triad/run)
#   TRIAD_KAFKA_PORT, TRIAD_KAFKA_DIR, KAFKA_BOOTSTRAP_SERVERS   the broker (scripts/kafka-local.sh)
#   TRIAD_PKI_DIR          the dev PKI (default .triad/pki)
#   TRIAD_NO_DEMO=1        start without loading the demo
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${TRIAD_BUILD_DIR:-build}"
STATE="${TRIAD_RUN_DIR:-$ROOT/.triad/run}"
PKI="${TRIAD_PKI_DIR:-$ROOT/.triad/pki}"
SERVICES=(clients pipeline review production)
source scripts/lib.sh
PORT_BASE="${TRIAD_PORT_BASE:-7100}"
ADMIN_BASE="${TRIAD_ADMIN_PORT_BASE:-$((PORT_BASE + 2000))}"
declare -A GRPC_PORT ADMIN_PORT
i=1
for svc in "${SERVICES[@]}"; do
  GRPC_PORT[$svc]=$((PORT_BASE + i))
  ADMIN_PORT[$svc]=$((ADMIN_BASE + i))
  i=$((i + 1))
done

start() {
  triad_build
  scripts/kafka-local.sh start
  local bootstrap
  bootstrap="$(scripts/kafka-local.sh bootstrap)"
  mkdir -p "$STATE"
  scripts/dev-pki.sh "$PKI"
  local auth_flags=(
    --tls_cert_file="$PKI/server.pem" --tls_key_file="$PKI/server.key"
    --tls_client_ca_file="$PKI/ca.pem"
    --auth_mode=jwt --auth_jwt_keys_dir="$PKI/jwt" --auth_issuer="$(cat "$PKI/issuer")"
    --auth_audience=triad)
  echo "Kafka        $bootstrap"
  for svc in "${SERVICES[@]}"; do
    local bin="$BUILD/services/$svc/triad-$svc"
    [[ -x "$bin" ]] || continue
    local pidfile="$STATE/$svc.pid"
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$svc already running (pid $(cat "$pidfile"))"
      continue
    fi
    mkdir -p "$STATE/data/$svc"
    KAFKA_BOOTSTRAP_SERVERS="$bootstrap" "$bin" \
      --data_dir="$STATE/data/$svc" \
      --grpc_port="${GRPC_PORT[$svc]}" --admin_port="${ADMIN_PORT[$svc]}" \
      --topic_replication=1 --topic_min_insync_replicas=1 \
      "${auth_flags[@]}" \
      >"$STATE/$svc.log" 2>&1 &
    echo $! >"$pidfile"
  done
  for svc in "${SERVICES[@]}"; do
    local pidfile="$STATE/$svc.pid"
    [[ -f "$pidfile" ]] || continue
    local deadline=$((SECONDS + 60))
    until grep -q '"server listening"' "$STATE/$svc.log" 2>/dev/null; do
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$svc failed to start; last lines of $STATE/$svc.log:" >&2
        tail -n 20 "$STATE/$svc.log" >&2
        exit 1
      fi
      if ((SECONDS >= deadline)); then
        echo "$svc did not start within 60s; see $STATE/$svc.log" >&2
        exit 1
      fi
      sleep 0.2
    done
    printf '%-12s gRPC 127.0.0.1:%s  metrics http://127.0.0.1:%s/metrics  log %s\n' \
      "$svc" "${GRPC_PORT[$svc]}" "${ADMIN_PORT[$svc]}" "$STATE/$svc.log"
  done
  echo "TLS + JWT    CA $PKI/ca.pem, token keys $PKI/jwt, issuer $(cat "$PKI/issuer")"
  if [[ -x scripts/demo.sh && -z "${TRIAD_NO_DEMO:-}" ]]; then
    TRIAD_PORT_BASE="$PORT_BASE" TRIAD_RUN_DIR="$STATE" TRIAD_PKI_DIR="$PKI" scripts/demo.sh
  fi
  echo "Call the services as someone: tools/triadctl login --as u:zhao.am --roles sales \\"
  echo "    --teams firm-a.east   (a dev token in .triad/token; operators: --roles operator)"
  echo "Stop everything with: make stop"
}

stop() {
  for svc in "${SERVICES[@]}"; do
    local pidfile="$STATE/$svc.pid"
    [[ -f "$pidfile" ]] || continue
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "$svc stopped"
    fi
    rm -f "$pidfile"
  done
  scripts/kafka-local.sh stop
}

status() {
  scripts/kafka-local.sh status || true
  for svc in "${SERVICES[@]}"; do
    local pidfile="$STATE/$svc.pid"
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$svc: running (pid $(cat "$pidfile")) gRPC 127.0.0.1:${GRPC_PORT[$svc]}"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
