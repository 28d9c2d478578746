#!/usr/bin/env python3
"""Where the machine's CPU goes per call: each service, the Kafka broker, and the rest of the
box (mostly the load generator).

Starts the hello baseline and the four services as bench_grpc.py does (real binaries, JWT,
fresh data, seeded through their APIs), then for each chosen call runs the load tool (--tool: grpc_load or
ghz; 16 callers, one connection) for --duration seconds after a 1 s warm-up, --rounds times, and reads the CPU time
of each service's process and the broker's process (/proc/<pid>/stat) and of the whole machine
(/proc/stat) around the measured run. Prints, per call and round: QPS, and microseconds of CPU
per call of each service (the one answering and the ones consuming its events), of the broker,
of the hello server (sync API), of everything else (mostly the load tool), how busy the cores were, and
the non-OK answers (every round creates clients under new names, so none is a duplicate).

The services take their flags from the environment (TRIAD_<FLAG>, e.g.
TRIAD_CONSUMER_FETCH_MIN_BYTES=65536), so one setting can be compared with another by running this twice.

Usage (a broker of its own, the JIT a production broker runs):
  TRIAD_KAFKA_JIT=full TRIAD_KAFKA_PORT=19592 TRIAD_KAFKA_DIR=.triad/kafka-split \\
      scripts/kafka-local.sh start
  python3 bench/grpc/cpu_split.py --bootstrap 127.0.0.1:19592 \\
      --broker-pid-file .triad/kafka-split/broker.pid --calls CreateClient,GetClient --rounds 2
  TRIAD_KAFKA_PORT=19592 TRIAD_KAFKA_DIR=.triad/kafka-split scripts/kafka-local.sh stop

With --perf-dir DIR it also records a perf profile of the answering process during each
measured run (DIR/<call>_<round>.data; read with `perf report -i`); that run's figures then
include perf's own overhead.

Asserts nothing (it is not a test).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_grpc as bg  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """Seconds of non-idle CPU of the whole machine (all cores) so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def start_perf(perf_dir, bench, target, label):
    """Starts perf record on the process listening at `target`; None without --perf-dir."""
    if not perf_dir:
        return None
    owner = [n for n, addr in bench.addrs.items() if addr == target and n in bench.procs]
    if not owner:
        return None
    os.makedirs(perf_dir, exist_ok=True)
    out = os.path.join(perf_dir, "".join(ch if ch.isalnum() else "_" for ch in label) + ".data")
    return subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", "dwarf,16384",
                             "-o", out, "-p", str(bench.procs[owner[0]].pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_perf(perf):
    """Stops a perf record started by start_perf and waits for its file to be complete."""
    if perf is None:
        return
    perf.send_signal(signal.SIGINT)
    perf.wait(120)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default=os.path.join(bg.REPO, "build"))
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--broker-pid-file", required=True, help="the broker's pid file")
    p.add_argument("--tool", choices=["grpc_load", "ghz"], default="grpc_load",
                   help="the load tool (as bench_grpc.py's --tool)")
    p.add_argument("--ghz", default=os.path.join(bg.REPO, ".cache", "ghz", "bin", "ghz"))
    p.add_argument("--calls", default="GetClient,CreateClient",
                   help="comma-separated names of bench_grpc.py's calls, or hello")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--perf-dir", default="",
                   help="also record a perf profile (call graphs from DWARF) of the process "
                        "answering each measured run into this directory")
    a = p.parse_args()
    with open(a.broker_pid_file) as f:
        broker = int(f.read().split()[0])
    work = tempfile.mkdtemp(prefix="triad-cpu-split.")
    args = types.SimpleNamespace(build_dir=a.build_dir, bootstrap=a.bootstrap, ghz=a.ghz,
                                 tool=a.tool,
                                 grpc_load=bg.default_grpc_load(a.build_dir),
                                 work_dir=work, concurrency=a.concurrency,
                                 warmup_verdicts=0)
    b = bg.Bench(args)
    try:
        b.start_hello()
        b.start_services("false")
        ids = b.seed_small(a.clients, a.rounds)
        hello = ("hello", "read", b.addrs["hello-sync"],
                 "triad.bench.hello.v1.Greeter/SayHello", {"name": "triad"}, None)

        def calls_of_round(rnd):
            # Each round its own phase: CreateClient's names are new in every round (a name
            # sent again would be refused as a duplicate, which measures the refusal).
            return {c[0]: c for c in [hello] + b.calls(ids, rnd)}

        by_name = calls_of_round(0)
        wanted = [n.strip() for n in a.calls.split(",") if n.strip()]
        for n in wanted:
            if n not in by_name or by_name[n][5] is not None:
                sys.exit("unknown or fixed-count call %r; choose from %s" % (
                    n, ", ".join(k for k, c in by_name.items() if c[5] is None)))
        procs = [n for n in bg.SERVICES + ("hello-sync",) if n in b.procs]
        print("| call | round | QPS | " + " | ".join("%s µs/call" % n for n in procs) +
              " | broker µs/call | rest µs/call | machine µs/call | cores busy | non-OK |")
        print("| --- | ---: | ---: | " + " | ".join("---:" for _ in procs) +
              " | ---: | ---: | ---: | ---: | ---: |")
        pids = [b.procs[n].pid for n in procs] + [broker]
        for rnd in range(1, a.rounds + 1):
            by_name = calls_of_round(rnd)
            for n in wanted:
                name, _, target, method, data, _ = by_name[n]
                proto = bg.HEALTH_PROTO if method.startswith("grpc.health") else None
                md = not method.startswith("grpc.health") and name != "hello"
                warm, run = data if isinstance(data, tuple) else (data, data)
                b.load(target, method, warm, duration=1, metadata=md, proto=proto)
                perf = start_perf(a.perf_dir, b, target, "%s-%d" % (name, rnd))
                c0, m0, t0 = [bg.cpu_seconds(p) for p in pids], machine_cpu(), time.monotonic()
                r = b.load(target, method, run, duration=a.duration, metadata=md, proto=proto)
                c1, m1, t1 = [bg.cpu_seconds(p) for p in pids], machine_cpu(), time.monotonic()
                stop_perf(perf)
                calls = max(1, r["total"])
                used = [y - x for x, y in zip(c0, c1)]
                box = m1 - m0
                print("| %s | %d | %.0f | %s | %.0f | %.0f | %.0f%% | %d |" % (
                    name, rnd, r["qps"], " | ".join("%.0f" % (u / calls * 1e6) for u in used),
                    (box - sum(used)) / calls * 1e6, box / calls * 1e6,
                    box / (t1 - t0) / os.cpu_count() * 100, r["total"] - r["ok"]), flush=True)
    finally:
        b.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
