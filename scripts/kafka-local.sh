#!/usr/bin/env bash
# kafka-local.sh — runs a single-node Apache Kafka 4.x (KRaft, combined broker+controller) on
# 127.0.0.1 from the official jars, resolved by Maven into a cache folder.
#
#   scripts/kafka-local.sh start|stop|kill|status|bootstrap|jars
#
# stop shuts the broker down gracefully (SIGTERM); kill SIGKILLs it, as a crash would (its data
# stays in TRIAD_KAFKA_DIR, so start brings the same broker back, recovering its logs).
#
# Environment (all optional):
#   KAFKA_BOOTSTRAP_SERVERS  use that cluster instead: start/stop do nothing, status checks it
#   TRIAD_KAFKA_PORT         client listener port            (default 19092)
#   TRIAD_KAFKA_CONTROLLER_PORT controller listener port     (default: client port + 1)
#   TRIAD_KAFKA_DIR          broker state: config, data, log, pid (default .triad/kafka-<port>)
#   TRIAD_KAFKA_HEAP         JVM heap                        (default 384m)
#   TRIAD_KAFKA_START_TIMEOUT seconds to wait for the broker (default 90)
#   TRIAD_CACHE_DIR          where the jars are cached       (default .cache, not committed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${TRIAD_KAFKA_PORT:-19092}"
CPORT="${TRIAD_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
KDIR="${TRIAD_KAFKA_DIR:-$ROOT/.triad/kafka-$PORT}"
HEAP="${TRIAD_KAFKA_HEAP:-384m}"
TIMEOUT="${TRIAD_KAFKA_START_TIMEOUT:-90}"
CACHE="${TRIAD_CACHE_DIR:-$ROOT/.cache}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")"
JARS="$CACHE/kafka-$KAFKA_VERSION"
PIDFILE="$KDIR/broker.pid"
LOG="$KDIR/broker.log"

log() { echo "kafka-local: $*" >&2; }

bootstrap() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then echo "$KAFKA_BOOTSTRAP_SERVERS"; else echo "127.0.0.1:$PORT"; fi
}

# answers: true when the cluster returns a metadata response.
answers() {
  kcat -b "$(bootstrap)" -L -m 3 >/dev/null 2>&1
}

resolve_jars() {
  if [[ -f "$JARS/.complete" ]]; then return 0; fi
  log "resolving Kafka $KAFKA_VERSION jars with Maven into $JARS"
  rm -rf "$JARS.tmp"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$JARS.tmp" >&2
  rm -rf "$JARS"
  mv "$JARS.tmp" "$JARS"
  touch "$JARS/.complete"
}

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

write_config() {
  mkdir -p "$KDIR/data"
  cat >"$KDIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KDIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  cat >"$KDIR/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: WARN
YAML
}

java_args() {
  JAVA_ARGS=(-Xms128m "-Xmx$HEAP" -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KDIR/log4j2.yaml" -cp "$JARS/*")
}

start() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
    log "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS is set: using that cluster, starting nothing"
    return 0
  fi
  if pid="$(running_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$PORT"
    return 0
  fi
  command -v kcat >/dev/null || { log "kcat is missing: run scripts/setup.sh"; return 1; }
  resolve_jars
  write_config
  java_args
  if [[ ! -f "$KDIR/data/meta.properties" ]]; then
    local cid
    cid="$(java "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format -t "$cid" -c "$KDIR/server.properties" --standalone \
      >"$KDIR/format.log" 2>&1 || { log "storage format failed:"; tail -n 20 "$KDIR/format.log" >&2; return 1; }
  fi
  # setsid: the broker gets its own process group, so stop can end exactly it.
  setsid java "${JAVA_ARGS[@]}" kafka.Kafka "$KDIR/server.properties" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local pid deadline
  pid="$(cat "$PIDFILE")"
  deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during start; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "broker did not answer a metadata request within ${TIMEOUT}s; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      kill "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
  log "broker up (pid $pid) at 127.0.0.1:$PORT, state in $KDIR"
}

stop() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then return 0; fi
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not stop in 30s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

# kill_broker: SIGKILLs the broker named by the pid file (no shutdown: a crash), waits until it is
# gone.
kill_broker() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then return 0; fi
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  # running_pid, not kill -0: a killed broker nobody has reaped yet is a zombie, already gone.
  for _ in $(seq 1 100); do
    running_pid >/dev/null || break
    sleep 0.1
  done
  if running_pid >/dev/null; then
    log "pid $pid still exists 10s after SIGKILL"
    return 1
  fi
  rm -f "$PIDFILE"
  log "killed (pid $pid, SIGKILL)"
}

status() {
  if answers; then
    echo "kafka: up at $(bootstrap)"
  else
    echo "kafka: down ($(bootstrap))"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_broker ;;
  status) status ;;
  bootstrap) bootstrap ;;
  jars) resolve_jars ;;
  *) echo "usage: $0 start|stop|kill|status|bootstrap|jars" >&2; exit 2 ;;
esac
