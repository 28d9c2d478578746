#!/usr/bin/env python3
"""The scale benchmark's driver (run by scripts/bench-scale.sh): for each service and size N,
seed N records (cached per seeder commit), start the real service binary on a copy of them,
and measure start-up until gRPC health SERVING, then (once the service is idle: the compactions
RocksDB runs after opening the bulk-seeded store done) the p50/p99 of the service's main reads
with ghz, peak RSS (VmHWM) and the RocksDB size on disk; print one markdown table per service.

    bench/scale/run_scale.py --build build --ghz .cache/ghz/ghz --bootstrap 127.0.0.1:19306 \
        --sizes 10000,100000,1000000 --services clients,pipeline,review,production

It prints numbers; it asserts nothing (the goals are marked met / not met in the tables).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python()

from triad_py import procs, rpc  # noqa: E402

SERVICES = {
    "clients": "triad.clients.v1.ClientsService",
    "pipeline": "triad.pipeline.v1.PipelineService",
    "review": "triad.review.v1.ReviewService",
    "production": "triad.production.v1.ProductionService",
}

# The owner the list reads ask for (bench/scale/seed.h: record i belongs to u:owner-<i % 200>).
OWNER = "u:owner-7"


def reads(service, now):
    """The main reads of a service: (label, method, data) where data is a JSON object, or the
    string "ids" for a Get that takes the seeded ids round-robin."""
    year_ago = (now - datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if service == "clients":
        return [("GetClient", "GetClient", ("client_id", "ids")),
                ("ListClients owner", "ListClients", {"owner_id": OWNER, "page_size": 50})]
    if service == "pipeline":
        return [("GetOpportunity", "GetOpportunity", ("opportunity_id", "ids")),
                ("ListOpportunities owner", "ListOpportunities",
                 {"owner_id": OWNER, "page_size": 50}),
                ("GetFunnelReport 365d", "GetFunnelReport",
                 {"start_time": year_ago, "end_time": until})]
    if service == "review":
        return [("GetReviewRequest", "GetReviewRequest", ("review_id", "ids")),
                ("GetLoadView", "GetLoadView", {"weeks": 4})]
    return [("GetProject", "GetProject", ("project_id", "ids")),
            ("GetUtilisation", "GetUtilisation", {"weeks": 12, "page_size": 50})]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def du_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def seed_keys(spec, services):
    """The seed cache key of each service from --seed-key: "key" (every service) or
    "svc=key,svc=key" (a service without a pair is an error)."""
    if "=" not in spec:
        return {s: spec for s in services}
    keys = dict(pair.split("=", 1) for pair in spec.split(",") if pair)
    missing = [s for s in services if s not in keys]
    if missing:
        raise SystemExit("--seed-key has no key for %s" % ", ".join(missing))
    return keys


def seed(args, service, n, key):
    """The cached seed directory of (service, n) for seeder `key`, seeding it when missing.
    Returns (dir, seed report)."""
    cache = os.path.join(ROOT, ".cache", "bench-scale")
    os.makedirs(cache, exist_ok=True)
    name = "%s-%d" % (service, n)
    final = os.path.join(cache, "%s-%s" % (name, key))
    report = os.path.join(final, "seed.json")
    if os.path.exists(report):
        with open(report) as f:
            return final, json.load(f)
    for old in os.listdir(cache):  # seeds of other seeder versions
        if old.startswith(name + "-"):
            shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    seeder = os.path.join(args.build, "bench", "triad-scale-seed")
    out = subprocess.run([seeder, "--service=" + service, "--n=%d" % n, "--out=" + tmp],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RuntimeError("seeding %s failed:\n%s" % (name, out.stderr[-2000:]))
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    rep["seed_disk_bytes"] = du_bytes(os.path.join(tmp, "data"))
    with open(os.path.join(tmp, "seed.json"), "w") as f:
        json.dump(rep, f)
    os.rename(tmp, final)
    return final, rep


def start(args, service, data_dir, log_path):
    """Starts the service on data_dir; returns (process, address, seconds until SERVING)."""
    binary = os.path.join(args.build, "services", service, "triad-" + service)
    port, admin = free_port(), free_port()
    cmd = [binary, "--data_dir=" + data_dir, "--listen_host=127.0.0.1",
           "--grpc_port=%d" % port, "--admin_port=%d" % admin,
           "--kafka_bootstrap_servers=" + args.bootstrap,
           "--topic_replication=1", "--topic_min_insync_replicas=1",
           "--consumer_group=triad-%s-scale-%d" % (service, os.getpid()),
           "--auth_mode=disabled", "--log_level=warn"]
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    address = "127.0.0.1:%d" % port
    try:
        rpc.wait_serving(address, timeout=args.start_timeout,
                         alive=lambda: proc.poll() is None)
    except (RuntimeError, TimeoutError):
        stop(proc)
        raise
    return proc, address, time.monotonic() - t0


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ghz(args, address, service, method, data, ids_path, workdir):
    """Runs ghz for one read; returns its JSON report (rps, latency distribution, errors)."""
    call = "%s/%s" % (SERVICES[service], method)
    cmd = [args.ghz, "--insecure", "--call", call, "-c", str(args.concurrency),
           "-z", args.duration, "--duration-stop", "wait", "--connections", "2", "-O", "json"]
    if isinstance(data, tuple):
        field = data[0]
        with open(ids_path) as f:
            ids = [line.strip() for line in f if line.strip()]
        path = os.path.join(workdir, "ghz-%s.json" % method)
        with open(path, "w") as f:
            json.dump([{field: i} for i in ids], f)
        cmd += ["-D", path]
    else:
        cmd += ["-d", json.dumps(data)]
    cmd.append(address)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0 and not out.stdout:
        raise RuntimeError("ghz %s failed: %s" % (call, out.stderr[-1000:]))
    return json.loads(out.stdout)


def latency_ms(report, pct):
    for d in report.get("latencyDistribution") or []:
        if d.get("percentage") == pct:
            return d.get("latency", 0) / 1e6
    return float("nan")


def errors(report):
    dist = report.get("statusCodeDistribution") or {}
    return sum(v for k, v in dist.items() if k != "OK")


def measure(args, service, n, key, now):
    seed_dir, rep = seed(args, service, n, key)
    work = os.path.join(ROOT, ".triad", "bench-scale", "%s-%d" % (service, n))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = os.path.join(work, "data")
    shutil.copytree(os.path.join(seed_dir, "data"), data)
    proc, address, startup = start(args, service, data, os.path.join(work, "service.log"))
    # The reads measure the store as it runs day to day: RocksDB first compacts what the bulk
    # seeding left (about 10 s of a core for the clients at 1,000,000), which would share the
    # cores with whichever read ran first.
    settle_s = procs.wait_idle(proc.pid, cores=0.1, window=1.0, timeout=args.settle_timeout)
    row = {"n": n, "seed_s": rep["seconds"], "startup_s": startup, "settle_s": settle_s,
           "reads": {},
           "seed_note": rep.get("note", ""), "open": rep.get("open", 0),
           "extra": rep.get("extra", 0)}
    try:
        for label, method, req in reads(service, now):
            r = ghz(args, address, service, method, req, os.path.join(seed_dir, "ids.txt"), work)
            row["reads"][label] = {"rps": r.get("rps", 0), "p50": latency_ms(r, 50),
                                   "p99": latency_ms(r, 99), "errors": errors(r),
                                   "count": r.get("count", 0)}
        row["rss_mb"] = vm_hwm_kb(proc.pid) / 1024.0
    finally:
        stop(proc)
    row["disk_mb"] = du_bytes(data) / 1e6
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return row


def table(service, rows, args):
    labels = list(rows[0]["reads"].keys()) if rows else []
    head = ["N", "seed s", "start-up s"]
    for lb in labels:
        head += ["%s p50/p99 ms (QPS)" % lb]
    head += ["peak RSS MB", "disk MB"]
    lines = ["### %s" % service, "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = ["{:,}".format(r["n"]), "%.1f" % r["seed_s"], "%.2f" % r["startup_s"]]
        for lb in labels:
            x = r["reads"][lb]
            err = " **%d errors**" % x["errors"] if x["errors"] else ""
            cells.append("%.2f / %.2f (%.0f)%s" % (x["p50"], x["p99"], x["rps"], err))
        cells += ["%.0f" % r.get("rss_mb", 0), "%.0f" % r["disk_mb"]]
        lines.append("| " + " | ".join(cells) + " |")
    by_n = {r["n"]: r for r in rows}
    lo, hi = min(by_n), max(by_n)
    lines.append("")
    if lo != hi:
        for lb in labels:
            a, b = by_n[lo]["reads"][lb]["p99"], by_n[hi]["reads"][lb]["p99"]
            g = b / a if a > 0 else float("inf")
            lines.append("- %s p99 growth %s -> %s: %.2fx (goal <= 2x: %s)"
                         % (lb, "{:,}".format(lo), "{:,}".format(hi), g,
                            "met" if g <= 2 else "NOT met"))
    rss = by_n[hi].get("rss_mb", 0)
    lines.append("- reads measured once the service was idle (under a tenth of a core over 1 s): "
                 + ", ".join("%.1f s after SERVING at %s" % (r["settle_s"], "{:,}".format(r["n"]))
                             for r in rows))
    lines.append("- peak RSS at %s: %.0f MB (goal <= 300 MB at 1,000,000: %s)"
                 % ("{:,}".format(hi), rss,
                    ("met" if rss <= 300 else "NOT met") if hi >= 1_000_000 else "n/a below 1M"))
    r0 = rows[-1]
    lines.append("- records: %s; open/active set at %s: %s; besides: %s; seeding: %s"
                 % ("{:,}".format(hi), "{:,}".format(hi), "{:,}".format(r0["open"]),
                    "{:,}".format(r0["extra"]), r0["seed_note"]))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--ghz", required=True)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--services", default="clients,pipeline,review,production")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", default="5s")
    p.add_argument("--settle-timeout", type=float, default=120.0,
                   help="most seconds to wait for the service to go idle before the reads")
    p.add_argument("--seed-key", required=True,
                   help="the seeders' versions (cache keys): one for every service, or "
                        "service=key pairs, comma-separated")
    p.add_argument("--start-timeout", type=float, default=300)
    p.add_argument("--keep", action="store_true", help="keep .triad/bench-scale/ run dirs")
    p.add_argument("--seed-jobs", type=int, default=2,
                   help="seeders run at once before the measurements (default 2)")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    services = [s for s in args.services.split(",") if s]
    keys = seed_keys(args.seed_key, services)
    now = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    # Seed everything first, --seed-jobs at a time, largest first: seeding is most of a cold run
    # and a seeder keeps about one core busy. The measurements below run alone afterwards (a
    # seed that failed here is tried again, and reported, by its measurement).
    combos = sorted(((s, n) for s in services for n in sizes), key=lambda c: -c[1])
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.seed_jobs)) as ex:
        jobs = {ex.submit(seed, args, s, n, keys[s]): (s, n) for s, n in combos}
        for job in concurrent.futures.as_completed(jobs):
            s, n = jobs[job]
            try:
                _, rep = job.result()
                print("%s N=%d seeded (%.0f s)" % (s, n, rep["seconds"]), file=sys.stderr,
                      flush=True)
            except Exception as e:  # noqa: BLE001 -- measure() seeds again and reports
                print("%s N=%d seeding failed: %s" % (s, n, e), file=sys.stderr, flush=True)
    print("scale: seeds ready after %.0f s (%d at a time)"
          % (time.monotonic() - t0, max(1, args.seed_jobs)), file=sys.stderr, flush=True)
    out = []
    for service in services:
        rows = []
        for n in sizes:
            ts = time.monotonic()
            try:
                rows.append(measure(args, service, n, keys[service], now))
            except Exception as e:  # noqa: BLE001 -- reported in the table, the run goes on
                print("%s N=%d failed: %s" % (service, n, e), file=sys.stderr, flush=True)
                continue
            print("%s N=%d done in %.0f s" % (service, n, time.monotonic() - ts),
                  file=sys.stderr, flush=True)
        if rows:
            out.append(table(service, rows, args))
        else:
            out.append("### %s\n\nno size completed (see the errors above)" % service)
        print(out[-1] + "\n", flush=True)
    print("scale benchmark wall time: %.0f s (ghz -c %d -z %s per read)"
          % (time.monotonic() - t0, args.concurrency, args.duration), flush=True)


if __name__ == "__main__":
    main()
