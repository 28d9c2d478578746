#!/usr/bin/env bash
# kafka-local.sh — runs a single-node Apache Kafka 4.x (KRaft, combined broker+controller) on
# 127.0.0.1 from the official jars, resolved by Maven into a cache folder.
#
#   scripts/kafka-local.sh start|stop|kill|status|bootstrap|jars|jars-lock|secure-env
#
# stop shuts the broker down gracefully (SIGTERM); kill SIGKILLs it, as a crash would (its data
# stays in TRIAD_KAFKA_DIR, so start brings the same broker back, recovering its logs).
#
# The jars are pinned: after Maven resolves them (with strict checksums against the repository),
# every jar's sha256 must match scripts/kafka/jars.sha256, else the script stops (jars-lock
# rewrites that file after a deliberate upgrade of scripts/kafka/pom.xml).
#
# With TRIAD_KAFKA_SECURE=1 the broker also listens with SASL_SSL on 127.0.0.1:<secure port>:
# a dev CA and a broker certificate (SAN 127.0.0.1, localhost) made with openssl, a PEM key
# store, SASL PLAIN and SCRAM-SHA-256/512 users (TRIAD_KAFKA_SECURE_USERS, each with a random
# password in <dir>/tls/<user>.password, mode 600; SCRAM users are created when the storage is
# formatted, so use a fresh TRIAD_KAFKA_DIR). The plaintext listener stays for tools and
# health checks. secure-env prints the client settings (TRIAD_KAFKA_* variables) for a user,
# with PLAIN by default: Debian's librdkafka 2.0.2 fails SCRAM against Kafka 4.x brokers (fixed
# in librdkafka 2.6.1), so Triad's clients use PLAIN over TLS here (and mTLS in Kubernetes).
#
# Environment (all optional):
#   KAFKA_BOOTSTRAP_SERVERS  use that cluster instead: start/stop do nothing, status checks it
#   TRIAD_KAFKA_PORT         client listener port            (default 19092)
#   TRIAD_KAFKA_CONTROLLER_PORT controller listener port     (default: client port + 1)
#   TRIAD_KAFKA_DIR          broker state: config, data, log, pid (default .triad/kafka-<port>)
#   TRIAD_KAFKA_HEAP         JVM heap                        (default 384m)
#   TRIAD_KAFKA_JIT          quick: the JVM's first-tier compiler only, for a fast start
#                            (tests); full: both tiers, as a production broker runs, for
#                            benchmarks (default quick)
#   TRIAD_KAFKA_START_TIMEOUT seconds to wait for the broker (default 90)
#   TRIAD_CACHE_DIR          where the jars are cached       (default .cache, not committed)
#   TRIAD_KAFKA_SECURE       1: add the SASL_SSL listener    (default 0)
#   TRIAD_KAFKA_SECURE_PORT  its port                        (default: client port + 2)
#   TRIAD_KAFKA_SECURE_USERS space-separated SASL users      (default "triad")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${TRIAD_KAFKA_PORT:-19092}"
CPORT="${TRIAD_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
KDIR="${TRIAD_KAFKA_DIR:-$ROOT/.triad/kafka-$PORT}"
HEAP="${TRIAD_KAFKA_HEAP:-384m}"
JIT="${TRIAD_KAFKA_JIT:-quick}"
TIMEOUT="${TRIAD_KAFKA_START_TIMEOUT:-90}"
CACHE="${TRIAD_CACHE_DIR:-$ROOT/.cache}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")"
JARS="$CACHE/kafka-$KAFKA_VERSION"
PIDFILE="$KDIR/broker.pid"
LOCK="$ROOT/scripts/kafka/jars.sha256"
SECURE="${TRIAD_KAFKA_SECURE:-0}"
SPORT="${TRIAD_KAFKA_SECURE_PORT:-$((PORT + 2))}"
SECURE_USERS="${TRIAD_KAFKA_SECURE_USERS:-triad}"
TLSDIR="$KDIR/tls"
LOG="$KDIR/broker.log"

log() { echo "kafka-local: $*" >&2; }

if [[ "$JIT" != quick && "$JIT" != full ]]; then
  log "TRIAD_KAFKA_JIT=$JIT: expected quick or full"
  exit 2
fi

bootstrap() {
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then echo "$KAFKA_BOOTSTRAP_SERVERS"; else echo "127.0.0.1:$PORT"; fi
}

# answers: true when the cluster returns a metadata response.
answers() {
  kcat -b "$(bootstrap)" -L -m 3 >/dev/null 2>&1
}

# verify_jars DIR: every jar in DIR is listed in the lock with its sha256, and every listed jar
# is there. Fails loudly, naming the jar.
verify_jars() {
  local dir="$1" want have name bad=0
  [[ -f "$LOCK" ]] || { log "FATAL: $LOCK is missing: the jars cannot be verified"; return 1; }
  while read -r want name; do
    [[ -z "$want" || "$want" == \#* ]] && continue
    if [[ ! -f "$dir/$name" ]]; then
      log "FATAL: $name is pinned in $LOCK but Maven did not resolve it"
      bad=1
      continue
    fi
    have="$(sha256sum "$dir/$name" | cut -d' ' -f1)"
    if [[ "$have" != "$want" ]]; then
      log "FATAL: checksum mismatch for $name: sha256 $have, pinned $want"
      bad=1
    fi
  done <"$LOCK"
  for name in $(cd "$dir" && ls -- *.jar); do
    if ! grep -q "  $name\$" "$LOCK"; then
      log "FATAL: $name is not pinned in $LOCK"
      bad=1
    fi
  done
  ((bad == 0)) || { log "FATAL: the Kafka jars in $dir do not match $LOCK; refusing to run them"; return 1; }
}

resolve_jars() {
  local stamp
  stamp="$(sha256sum "$LOCK" 2>/dev/null | cut -d' ' -f1)"
  if [[ -f "$JARS/.complete" && "$(cat "$JARS/.complete")" == "$stamp" ]]; then return 0; fi
  log "resolving Kafka $KAFKA_VERSION jars with Maven into $JARS"
  rm -rf "$JARS.tmp"
  # -C: strict checksums, a download that does not match the repository's checksum fails.
  mvn -q -B -C -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$JARS.tmp" >&2
  if [[ "${1:-}" != "--no-verify" ]]; then
    verify_jars "$JARS.tmp" || { rm -rf "$JARS.tmp"; return 1; }
    log "all $(grep -c '\.jar$' "$LOCK") jars match $LOCK"
  fi
  rm -rf "$JARS"
  mv "$JARS.tmp" "$JARS"
  echo "$stamp" >"$JARS/.complete"
}

# jars_lock: resolves the jars of scripts/kafka/pom.xml and writes their sha256 into the lock
# (after a deliberate upgrade; review the diff).
jars_lock() {
  rm -f "$JARS/.complete"
  resolve_jars --no-verify
  {
    sed -n '/^#/p' "$LOCK" 2>/dev/null
    (cd "$JARS" && sha256sum -- *.jar)
  } >"$LOCK.tmp"
  mv "$LOCK.tmp" "$LOCK"
  rm -f "$JARS/.complete"
  log "wrote $LOCK; review it (git diff) before committing"
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

# make_pki: the dev CA, the broker's certificate (SAN 127.0.0.1, localhost) and its PEM key
# store (an encrypted PKCS#8 key, its password in a file), and a random password per SASL user.
make_pki() {
  mkdir -p "$TLSDIR"
  chmod 700 "$TLSDIR"
  if [[ ! -f "$TLSDIR/keystore.pem" ]]; then
    command -v openssl >/dev/null || { log "openssl is missing: run scripts/setup.sh"; return 1; }
    (
      cd "$TLSDIR"
      umask 077
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -keyout ca.key -out ca.pem -subj "/CN=triad-kafka-dev-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout broker.key -out broker.csr -subj "/CN=localhost"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
      openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile broker.ext -out broker.pem
      openssl rand -hex 24 >keystore.password
      # Kafka's file-based PEM key store wants an encrypted PKCS#8 key and its password.
      openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in broker.key -passout file:keystore.password \
        -out broker.p8
      cat broker.p8 broker.pem ca.pem >keystore.pem
      rm -f broker.csr broker.ext broker.p8 ca.srl
    ) >"$KDIR/pki.log" 2>&1 || { log "making the dev PKI failed:"; tail -n 20 "$KDIR/pki.log" >&2; return 1; }
  fi
  local user
  for user in $SECURE_USERS; do
    [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || { log "invalid SASL user name: $user"; return 1; }
    if [[ ! -f "$TLSDIR/$user.password" ]]; then
      (umask 077 && openssl rand -hex 24 >"$TLSDIR/$user.password")
    fi
  done
}

# secure_properties: the SASL_SSL listener's settings (PLAIN users with their passwords: a dev
# broker's file, mode 600).
secure_properties() {
  local user plain=""
  for user in $SECURE_USERS; do
    plain+=" user_$user=\"$(cat "$TLSDIR/$user.password")\""
  done
  cat <<PROPS
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLSDIR/keystore.pem
listener.name.sasl_ssl.ssl.key.password=$(cat "$TLSDIR/keystore.password")
ssl.enabled.protocols=TLSv1.3,TLSv1.2
PROPS
}

# scram_args: StorageTool arguments creating every SASL user's SCRAM credentials.
scram_args() {
  SCRAM_ARGS=()
  [[ "$SECURE" == 1 ]] || return 0
  local user mech
  for user in $SECURE_USERS; do
    for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
      SCRAM_ARGS+=(--add-scram "$mech=[name=$user,password=$(cat "$TLSDIR/$user.password")]")
    done
  done
}

write_config() {
  mkdir -p "$KDIR/data"
  local listeners="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT"
  local advertised="PLAINTEXT://127.0.0.1:$PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ "$SECURE" == 1 ]]; then
    listeners+=",SASL_SSL://127.0.0.1:$SPORT"
    advertised+=",SASL_SSL://127.0.0.1:$SPORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  (umask 077 && : >"$KDIR/server.properties")
  cat >"$KDIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
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
  if [[ "$SECURE" == 1 ]]; then secure_properties >>"$KDIR/server.properties"; fi
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
  JAVA_ARGS=(-Xms128m "-Xmx$HEAP" -XX:+UseG1GC)
  if [[ "$JIT" == quick ]]; then JAVA_ARGS+=(-XX:TieredStopAtLevel=1); fi
  JAVA_ARGS+=(-Djava.awt.headless=true "-Dlog4j2.configurationFile=$KDIR/log4j2.yaml" -cp "$JARS/*")
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
  if [[ "$SECURE" == 1 ]]; then make_pki; fi
  write_config
  java_args
  if [[ ! -f "$KDIR/data/meta.properties" ]]; then
    local cid
    cid="$(java "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    scram_args
    java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format -t "$cid" -c "$KDIR/server.properties" --standalone \
      "${SCRAM_ARGS[@]}" >"$KDIR/format.log" 2>&1 ||
      { log "storage format failed:"; tail -n 20 "$KDIR/format.log" >&2; return 1; }
    if [[ "$SECURE" == 1 ]]; then touch "$KDIR/data/.scram-users"; fi
  elif [[ "$SECURE" == 1 && ! -f "$KDIR/data/.scram-users" ]]; then
    log "warning: $KDIR was formatted without TRIAD_KAFKA_SECURE=1: its SCRAM users are missing (PLAIN works); use a fresh TRIAD_KAFKA_DIR for SCRAM"
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
  if [[ "$SECURE" == 1 ]]; then
    until (exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null; do
      if ((SECONDS >= deadline)); then log "the SASL_SSL listener on $SPORT did not open"; return 1; fi
      sleep 0.2
    done
    log "SASL_SSL listener at 127.0.0.1:$SPORT (CA $TLSDIR/ca.pem, users: $SECURE_USERS; scripts/kafka-local.sh secure-env)"
  fi
  log "broker up (pid $pid) at 127.0.0.1:$PORT, state in $KDIR"
}

# secure_env [USER] [MECHANISM]: the client settings of the SASL_SSL listener as environment
# assignments (the password as a file, never its value).
secure_env() {
  local user="${1:-${SECURE_USERS%% *}}" mech="${2:-PLAIN}"
  [[ -f "$TLSDIR/$user.password" ]] || { log "no SASL user $user in $TLSDIR (start with TRIAD_KAFKA_SECURE=1)"; return 1; }
  cat <<ENV
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$SPORT
TRIAD_KAFKA_SECURITY_PROTOCOL=sasl_ssl
TRIAD_KAFKA_SASL_MECHANISM=$mech
TRIAD_KAFKA_SASL_USERNAME=$user
TRIAD_KAFKA_SASL_PASSWORD_FILE=$TLSDIR/$user.password
TRIAD_KAFKA_SSL_CA_FILE=$TLSDIR/ca.pem
ENV
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
  jars-lock) jars_lock ;;
  secure-env) shift; secure_env "$@" ;;
  *) echo "usage: $0 start|stop|kill|status|bootstrap|jars|jars-lock|secure-env [user] [mechanism]" >&2; exit 2 ;;
esac
