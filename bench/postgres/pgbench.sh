#!/usr/bin/env bash
# pgbench.sh — the PostgreSQL side of the CreateClient comparison (docs/performance-grpc.md):
# PostgreSQL 15 from a private initdb data directory on a loopback port, run as the `postgres` OS
# user with fsync on, the schema of schema.sql and the pgbench script create_client.sql (the same
# logical write as Triad's CreateClient, one transaction), 16 clients; once with
# synchronous_commit=on (the fair pairing for --sync_writes=true) and once with
# synchronous_commit=off (commits do not wait for the WAL flush: the pairing for
# --sync_writes=false). Prints TPS and latency (p50/p99 from pgbench's per-transaction log) and,
# given the gRPC benchmark's JSON, the ratio Triad CreateClient QPS / PostgreSQL TPS. The server
# is stopped and its directory removed at exit. Installs postgresql-15 with apt when missing
# (and says so).
#
#   bench/postgres/pgbench.sh [--duration S] [--clients N] [--port P] [--triad-json FILE]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DURATION=15
CLIENTS=16
PORT="${TRIAD_BENCH_PG_PORT:-19308}"
TRIAD_JSON=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --triad-json) TRIAD_JSON="$2"; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--clients N] [--port P] [--triad-json FILE]" >&2; exit 2 ;;
  esac
done
PGBIN=/usr/lib/postgresql/15/bin
if [[ ! -x "$PGBIN/postgres" || ! -x "$PGBIN/pgbench" ]]; then
  echo "pgbench.sh: installing postgresql-15 and postgresql-contrib with apt (not in scripts/setup.sh: only this benchmark needs it)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-contrib >&2
fi
id postgres >/dev/null 2>&1 || { echo "pgbench.sh: no postgres OS user" >&2; exit 1; }
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "pgbench.sh: port $PORT is taken (TRIAD_BENCH_PG_PORT or --port moves it)" >&2
  exit 1
fi

DIR="$(mktemp -d /tmp/triad-pgbench.XXXXXX)"
chown postgres: "$DIR"
chmod 0700 "$DIR"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-instructions >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -w -l "$DIR/server.log" start -o \
  "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c shared_buffers=256MB -c max_connections=50" \
  >/dev/null
PSQL=(as_pg "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE DATABASE triadbench" >/dev/null
cp "$HERE/schema.sql" "$HERE/create_client.sql" "$DIR/"
chown postgres: "$DIR"/*.sql
"${PSQL[@]}" -d triadbench -f "$DIR/schema.sql" >/dev/null

echo "## PostgreSQL CreateClient comparison"
echo
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), data on $(df -T "$DIR" | awk 'NR==2{print $2}') ($DIR), fsync=on, shared_buffers=256MB; pgbench -c $CLIENTS -j 2 -T $DURATION -M prepared -f bench/postgres/create_client.sql"
echo
echo "| synchronous_commit | TPS | mean ms | p50 ms | p99 ms | failed |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
declare -A TPS
for sc in on off; do
  "${PSQL[@]}" -d triadbench -c "ALTER SYSTEM SET synchronous_commit = $sc" -c "SELECT pg_reload_conf()" >/dev/null
  rm -f "$DIR"/pgbench_log*
  out="$(cd "$DIR" && as_pg "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres \
    -c "$CLIENTS" -j 2 -T "$DURATION" -M prepared -l --log-prefix="$DIR/pgbench_log" \
    -f "$DIR/create_client.sql" triadbench 2>&1)"
  tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)"
  mean="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")"
  read -r p50 p99 < <(cat "$DIR"/pgbench_log* | awk '{print $3}' | sort -n |
    awk '{v[NR]=$1} END {if (NR==0) {print "- -"} else {i50=int(NR*0.5); if(i50<1)i50=1; i99=int(NR*0.99); if(i99<1)i99=1; printf "%.2f %.2f\n", v[i50]/1000, v[i99]/1000}}')
  [[ -n "$tps" ]] || { echo "pgbench failed:" >&2; echo "$out" >&2; exit 1; }
  TPS[$sc]="$tps"
  echo "| $sc | ${tps%.*} | $mean | $p50 | $p99 | ${failed:-0} |"
done
rows="$("${PSQL[@]}" -d triadbench -At -c "SELECT count(*) FROM clients")"
hist="$("${PSQL[@]}" -d triadbench -At -c "SELECT count(*) FROM client_history")"
echo
echo "rows written: $rows clients, $hist history rows (4 per client expected: $((rows * 4)))"

if [[ -n "$TRIAD_JSON" && -f "$TRIAD_JSON" ]]; then
  echo
  echo "| pairing | Triad CreateClient QPS | PostgreSQL TPS | Triad / PostgreSQL |"
  echo "| --- | ---: | ---: | ---: |"
  python3 - "$TRIAD_JSON" "${TPS[on]}" "${TPS[off]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
pg = {"true": float(sys.argv[2]), "false": float(sys.argv[3])}
for sync, sc in (("true", "on"), ("false", "off")):
    rows = [r for r in res if r.get("name") == "CreateClient" and r.get("sync") == sync]
    if not rows:
        continue
    q = rows[-1]["qps"]
    bad = rows[-1]["total"] - rows[-1]["ok"]
    print("| sync_writes=%s vs synchronous_commit=%s%s | %.0f | %.0f | %.2f |" % (
        sync, sc, " (fair: both flush before answering)" if sync == "true" else "", q, pg[sync],
        q / pg[sync] if pg[sync] else 0) + ("" if not bad else " (%d non-OK)" % bad))
PY
fi
