#!/usr/bin/env python3
"""QPS and latency of chosen benchmark calls on one build, for comparing two builds side by side.

Starts the four services of --build-dir as bench_grpc.py does (real binaries, JWT, fresh data,
seeded through their APIs: 10,000 clients, 600 deals, 200 reviews or --reviews, 20 projects),
then runs each chosen call (bench_grpc.py's names) --rounds times with grpc_load (16 calls in flight, one
connection): a call with a fixed set of targets (AdvanceStage: every seeded deal moved forward and
back) runs its whole set six times over; any other runs for 4 s after a 1 s warm-up, at
--rps calls per second when given (0: as fast as answers come back). Prints one line per run:
QPS, p50, p99, calls and non-OK answers.

To compare two builds, copy each build's service binaries (services/<svc>/triad-<svc>) and the
load tool (bench/grpc/bench_grpc_load) into a directory of the same layout and run this with
--build-dir of each, alternating. The services take their flags from the environment
(TRIAD_<FLAG>).

Usage (a broker of its own, the JIT a production broker runs):
  TRIAD_KAFKA_JIT=full TRIAD_KAFKA_PORT=19593 TRIAD_KAFKA_DIR=.triad/kafka-ab \\
      scripts/kafka-local.sh start
  python3 bench/grpc/calls_on_build.py --bootstrap 127.0.0.1:19593 --build-dir /tmp/ab/old \\
      --calls AdvanceStage --rounds 3
  python3 bench/grpc/calls_on_build.py --bootstrap 127.0.0.1:19593 --build-dir /tmp/ab/old \\
      --calls CreateClient --rounds 3 --rps 1500
  TRIAD_KAFKA_PORT=19593 TRIAD_KAFKA_DIR=.triad/kafka-ab scripts/kafka-local.sh stop

Asserts nothing (it is not a test).
"""

import argparse
import os
import shutil
import sys
import tempfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_grpc as bg  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default=os.path.join(bg.REPO, "build"))
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--calls", default="CreateClient",
                   help="comma-separated names of bench_grpc.py's calls")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rps", type=int, default=0,
                   help="calls started per second (0: as fast as answers come back)")
    p.add_argument("--sync-writes", default="false", choices=["false", "true"])
    p.add_argument("--reviews", type=int, default=200,
                   help="review requests seeded, assigned to one expert and accepted "
                        "(make bench seeds 4,000)")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="triad-calls.")
    args = types.SimpleNamespace(build_dir=a.build_dir, bootstrap=a.bootstrap, ghz="",
                                 tool="grpc_load", grpc_load=bg.default_grpc_load(a.build_dir),
                                 work_dir=work, concurrency=16, warmup_verdicts=0)
    b = bg.Bench(args)
    try:
        b.start_services(a.sync_writes)
        ids = b.seed_small(10000, a.rounds, a.reviews)
        wanted = [n.strip() for n in a.calls.split(",") if n.strip()]
        for rnd in range(1, a.rounds + 1):
            # Each round its own phase: CreateClient's names are new in every round.
            by_name = {c[0]: c for c in b.calls(ids, rnd)}
            for n in wanted:
                if n not in by_name or by_name[n][5] == "all":
                    sys.exit("unknown or single-use call %r; choose from %s" % (
                        n, ", ".join(k for k, c in by_name.items() if c[5] != "all")))
                name, _, target, method, data, mode = by_name[n]
                proto = bg.HEALTH_PROTO if method.startswith("grpc.health") else None
                md = not method.startswith("grpc.health")
                warm, run = data if isinstance(data, tuple) else (data, data)
                if mode == "cycles":  # whole cycles: every deal ends where it started
                    r = b.load(target, method, run, count=len(run) * 6, rps=a.rps or None,
                               metadata=md, proto=proto)
                else:
                    b.load(target, method, warm, duration=1, metadata=md, proto=proto)
                    r = b.load(target, method, run, duration=4, rps=a.rps or None,
                               metadata=md, proto=proto)
                print("%s round %d: %.0f QPS, p50 %.2f ms, p99 %.2f ms, %d calls, %d non-OK" % (
                    name, rnd, r["qps"], r["p50"] or 0, r["p99"] or 0, r["total"],
                    r["total"] - r["ok"]), flush=True)
    finally:
        b.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
