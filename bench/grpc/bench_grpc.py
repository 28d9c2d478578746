#!/usr/bin/env python3
"""The gRPC-limit benchmark (scripts/bench-grpc.sh runs it): Triad's calls against a bare gRPC
hello-world server (bench/grpc/hello_server.cc), one load tool for both (grpc_load,
bench/grpc/grpc_load.cc; or ghz), same concurrency, interleaved in one run. Each call is compared
with the hello server on the gRPC API that call is served with (the sync API), run right before
and right after it: the mean of those two baseline runs; the callback API's hello server is
measured beside it (the thread-model rounds).

It starts the hello server (sync and callback API) and the four service binaries on free
loopback ports with fresh data directories and real authentication (--auth_mode=jwt, plaintext
with --allow_plaintext so the baseline is comparable; one dev token for every call), seeds them
through their gRPC APIs (bench/grpc/seed.py), and runs with that tool, for --sync_writes=false and then
=true (the services restarted on the same data): reads (Health/Check, GetClient, ListClients by
owner, GetFunnelReport, GetLoadView, GetUtilisation) and writes (CreateClient, AdvanceStage,
RecordVerdict, ReportPhaseProgress), each after a warm-up run. Then, for --sync_writes=false,
"p99 at half of our own peak": each call rate-limited to half its QPS beside the baseline at the
same rate; then the cost of JWT verification (GetClient with --auth_mode=jwt and =disabled); then
optionally a perf profile of the call with the worst ratio. Every run's non-OK responses are
counted and printed: a benchmark of errors measures nothing.

Prints markdown tables; --json writes every number. Asserts nothing (it is not a test).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)

import triad_py  # noqa: E402

triad_py.ensure_python()

from triad_py import auth, rpc  # noqa: E402
from triad_py.procs import cpu_seconds, metric_sum, wait_idle  # noqa: E402 (cpu_split.py reads cpu_seconds here)

import seed as seeding  # noqa: E402
from report import READ_GOAL, WRITE_GOAL, report  # noqa: E402

SERVICES = ("clients", "pipeline", "review", "production")
ROLES = ("operator", "expert", "sales", "production_manager")
HEALTH_PROTO = "triad/testing/v1/health_service.proto"



def log(msg):
    sys.stderr.write("[bench-grpc %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def wait_all_idle(limits, window=0.5, timeout=15.0):
    """Polls until every process of `limits` ({pid: cores}) uses under its cores of CPU over
    the same `window`-second span; returns (seconds waited, whether they all went quiet)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = {pid: cpu_seconds(pid) for pid in limits}
        time.sleep(window)
        if all(cpu_seconds(pid) - before[pid] < cores * window for pid, cores in limits.items()):
            return time.monotonic() - start, True
    return time.monotonic() - start, False


def scrape_group_commit(admin_port, store):
    """The group-commit series of `store` on a service's admin port: {"syncs", "waits",
    "sync_seconds"} (the log syncs, the durable waits and the syncs' summed duration)."""
    names = {"syncs": "triad_store_log_syncs_total", "waits": "triad_store_durable_waits_total",
             "sync_seconds": "triad_store_log_sync_seconds_sum"}
    return {k: metric_sum(admin_port, n, {"store": store}, timeout=10) for k, n in names.items()}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process logging to a file, stopped with SIGTERM (SIGKILL after 20 s)."""

    def __init__(self, name, argv, logfile, env=None):
        self.name, self.argv, self.logfile = name, argv, logfile
        self.out = open(logfile, "ab")
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()

    def tail(self, n=30):
        try:
            with open(self.logfile, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


# Every call is compared with the hello server on the API the services answer it with: the
# sync API (reads answered inline on the callback API were measured and not kept:
# docs/performance-grpc.md, "Thread model").
BASELINE_API = "sync"


def default_grpc_load(build_dir):
    """Path of the grpc_load binary in a build tree."""
    return os.path.join(build_dir, "bench", "grpc", "bench_grpc_load")


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.work_dir
        self.pki = auth.DevPki.ensure(os.path.join(self.work, "pki"))
        self.token = self.pki.token(seeding.EXPERT, roles=ROLES, ttl_s=6 * 3600)
        self.md = json.dumps({"authorization": "Bearer " + self.token})
        self.procs = {}
        self.addrs = {}
        self.admin_ports = {}
        self.results = []
        self.runs = 0
        self.run_seconds = 0.0
        self.quiet_seconds = 0.0
        self.quiet_misses = 0
        self.run_id = os.getpid()

    # ------------------------------------------------------------------ processes

    def start_hello(self):
        for mode in ("sync", "callback"):
            port = free_port()
            p = Proc("hello-" + mode, [os.path.join(self.a.build_dir, "bench", "grpc",
                                                     "bench_hello_server"),
                                        "--mode=" + mode, "--port=%d" % port],
                     os.path.join(self.work, "hello-%s.log" % mode))
            self.procs["hello-" + mode] = p
            self.addrs["hello-" + mode] = "127.0.0.1:%d" % port
            rpc.wait_serving(self.addrs["hello-" + mode], timeout=30, alive=p.alive)

    def start_services(self, sync, auth_mode="jwt", only=SERVICES):
        for svc in only:
            port = free_port()
            self.admin_ports[svc] = free_port()
            data = os.path.join(self.work, "data", svc)
            os.makedirs(data, exist_ok=True)
            flags = ["--data_dir=" + data, "--grpc_port=%d" % port,
                     "--admin_port=%d" % self.admin_ports[svc],
                     "--topic_replication=1", "--topic_min_insync_replicas=1",
                     "--sync_writes=" + sync, "--allow_plaintext", "--log_level=warn",
                     "--auth_mode=" + auth_mode,
                     "--consumer_group=bench-grpc-%s-%d" % (svc, self.run_id)]
            if auth_mode == "jwt":
                flags += ["--auth_jwt_keys_dir=" + self.pki.jwt_keys_dir,
                          "--auth_issuer=" + self.pki.issuer, "--auth_audience=triad"]
            binary = os.path.join(self.a.build_dir, "services", svc, "triad-" + svc)
            env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=self.a.bootstrap)
            p = Proc(svc, [binary] + flags, os.path.join(self.work, svc + ".log"), env=env)
            self.procs[svc] = p
            self.addrs[svc] = "127.0.0.1:%d" % port
        for svc in only:
            try:
                rpc.wait_serving(self.addrs[svc], timeout=120, alive=self.procs[svc].alive)
            except Exception:
                log("%s did not start:\n%s" % (svc, self.procs[svc].tail()))
                raise

    def stop(self, names):
        for n in names:
            p = self.procs.pop(n, None)
            if p is not None:
                p.stop()

    def stop_all(self):
        self.stop(list(self.procs))

    # ------------------------------------------------------------------ load tool

    def load(self, target, call, data=None, duration=None, count=None, rps=None,
             metadata=True, proto=None, label=""):
        """One run of the load tool (grpc_load, or ghz with --tool=ghz); returns its summary
        (qps, p50/p99 ms, ok/total, error codes). Both print the same JSON report."""
        data_file = None
        if data is not None:
            # Through a file: a data array of thousands of requests exceeds an argument's limit.
            data_file = os.path.join(self.work, "load-data.json")
            with open(data_file, "w") as f:
                json.dump(data, f)
        if self.a.tool == "ghz":
            # --duration-stop=wait: calls in flight when the duration ends finish and count
            # (ghz's default cancels them and reports them as errors).
            argv = [self.a.ghz, "--insecure", "--call", call, "-c", str(self.a.concurrency),
                    "--connections", "1", "--timeout", "30s", "--duration-stop", "wait",
                    "-O", "json"]
            if proto:
                argv += ["--proto", os.path.join(REPO, "proto", proto),
                         "--import-paths", os.path.join(REPO, "proto")]
            argv += ["-n", str(count)] if count else ["-z", "%gs" % duration]
            if rps:
                argv += ["--rps", str(int(rps))]
            if data_file:
                argv += ["-D", data_file]
            if metadata:
                argv += ["-m", self.md]
            argv.append(target)
        else:
            # grpc_load waits for the calls in flight when the duration ends, as ghz above.
            argv = [self.a.grpc_load, "--call=" + call, "--target=" + target,
                    "--concurrency=%d" % self.a.concurrency, "--timeout=30s"]
            argv += ["--count=%d" % count] if count else ["--duration=%gs" % duration]
            if rps:
                argv.append("--rps=%d" % int(rps))
            if data_file:
                argv.append("--data_file=" + data_file)
            if metadata:
                argv.append("--metadata=" + self.md)
        start = time.monotonic()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        took = time.monotonic() - start
        self.runs += 1
        self.run_seconds += took
        if r.returncode != 0 and not r.stdout.strip():
            raise RuntimeError("%s %s failed: %s" % (self.a.tool, call, r.stderr.decode(errors="replace")))
        rep = json.loads(r.stdout)
        lat = {int(d["percentage"]): d["latency"] / 1e6 for d in rep.get("latencyDistribution")
               or []}
        codes = rep.get("statusCodeDistribution") or {}
        total = int(rep.get("count", 0))
        ok = int(codes.get("OK", 0))
        out = {"call": call, "label": label, "qps": rep.get("rps", 0.0), "p50": lat.get(50),
               "p99": lat.get(99), "total": total, "ok": ok,
               "codes": {k: v for k, v in codes.items() if k != "OK"},
               "errors": dict(list((rep.get("errorDistribution") or {}).items())[:3]),
               "seconds": round(took, 1)}
        if out["codes"]:
            log("%s %s: %d of %d not OK: %s %s" % (label, call, total - ok, total, out["codes"],
                                                   out["errors"]))
        return out

    # ------------------------------------------------------------------ the calls

    def calls(self, ids, phase):
        """The benchmark's calls: (name, kind, target, method, data, count-mode n or None,
        warm-up data). phase is a small integer making CreateClient's names unique per run."""
        a = self.addrs
        client_ids = ids["client_ids"]
        opps = ids["opportunity_ids"]
        back = [{"opportunity_id": o, "target_stage": seeding.STAGES[1]} for o in opps] + \
               [{"opportunity_id": o, "target_stage": seeding.STAGES[0],
                 "reason": "benchmark moves the deal back"} for o in opps]
        phases = ids["phases"]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        year_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 365 * 86400))
        tomorrow = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        verdicts = ids["review_ids"][phase]

        def create_client(tag):
            return {"request_id": "{{newUUID}}",
                    "client": {"name": "Bench Client %s {{newUUID}}" % tag,
                               "owner_id": "u:owner.500", "industry": "design",
                               "phone": "09%d1000-{{.RequestNumber}}" % tag,
                               "tier": "CLIENT_TIER_STANDARD"},
                    "actor": {"id": seeding.EXPERT}}

        def verdict(rid):
            return {"review_id": rid, "verdict": "VERDICT_APPROVED", "judgement": "feasible",
                    "request_id": "{{newUUID}}", "actor": {"id": seeding.EXPERT}}

        progress = [{"project_id": p["project_id"], "phase_id": p["phase_id"],
                     "progress_percent": 10, "request_id": "{{newUUID}}",
                     "actor": {"id": seeding.EXPERT}} for p in phases]
        return [
            ("Health/Check", "read", a["clients"], "grpc.health.v1.Health/Check", {}, None),
            ("GetClient", "read", a["clients"], "triad.clients.v1.ClientsService/GetClient",
             [{"client_id": c} for c in client_ids], None),
            ("ListClients by owner", "read", a["clients"],
             "triad.clients.v1.ClientsService/ListClients",
             {"owner_id": ids["owner"], "page_size": 50}, None),
            ("GetFunnelReport", "read", a["pipeline"],
             "triad.pipeline.v1.PipelineService/GetFunnelReport",
             {"start_time": year_ago, "end_time": tomorrow}, None),
            ("GetLoadView", "read", a["review"], "triad.review.v1.ReviewService/GetLoadView",
             {"weeks": 4}, None),
            ("GetUtilisation (schedule)", "read", a["production"],
             "triad.production.v1.ProductionService/GetUtilisation",
             {"from_date": today, "weeks": 8, "page_size": 50}, None),
            ("CreateClient", "write", a["clients"], "triad.clients.v1.ClientsService/CreateClient",
             (create_client(2 * phase + 1), create_client(2 * phase + 2)), None),
            ("AdvanceStage", "write", a["pipeline"],
             "triad.pipeline.v1.PipelineService/AdvanceStage", back, "cycles"),
            ("RecordVerdict", "write", a["review"], "triad.review.v1.ReviewService/RecordVerdict",
             ([verdict(r) for r in verdicts[:self.a.warmup_verdicts]],
              [verdict(r) for r in verdicts[self.a.warmup_verdicts:]]), "all"),
            ("ReportPhaseProgress", "write", a["production"],
             "triad.production.v1.ProductionService/ReportPhaseProgress", progress, None),
        ]

    def measure(self, name, kind, target, method, data, mode, sync, label):
        """Warm-up then the measured run of one call, on a quiet box; returns the measured
        summary."""
        self.quiet()
        proto = HEALTH_PROTO if method.startswith("grpc.health") else None
        md = not method.startswith("grpc.health")
        warm_data, run_data = (data if isinstance(data, tuple) else (data, data))
        # A write's service: its group commit over the measured run (the log syncs, and with
        # --sync_writes=true the writes each sync covered).
        svc = next((n for n, addr in self.addrs.items() if addr == target), None)
        gc_before = None

        def note_group_commit():  # right before the measured run (after its warm-up)
            nonlocal gc_before
            if kind == "write" and svc in self.admin_ports:
                gc_before = scrape_group_commit(self.admin_ports[svc], svc)

        if mode == "cycles":
            # AdvanceStage moves every deal forward then back: whole cycles leave them where
            # they started. The warm-up cycle gives the rate that sizes the measured run.
            w = self.load(target, method, run_data, count=len(run_data), label=label + " warm-up")
            cycles = max(1, int(round(w["qps"] * self.a.duration / len(run_data))))
            note_group_commit()
            r = self.load(target, method, run_data, count=cycles * len(run_data), label=label)
        elif mode == "all":
            self.load(target, method, warm_data, count=len(warm_data), label=label + " warm-up")
            note_group_commit()
            r = self.load(target, method, run_data, count=len(run_data), label=label)
        else:
            self.load(target, method, warm_data, duration=self.a.warmup, metadata=md, proto=proto,
                     label=label + " warm-up")
            note_group_commit()
            r = self.load(target, method, run_data, duration=self.a.duration, metadata=md,
                         proto=proto, label=label)
        r.update(name=name, kind=kind, sync=sync)
        if gc_before is not None:
            gc_after = scrape_group_commit(self.admin_ports[svc], svc)
            r["group_commit"] = {k: gc_after[k] - gc_before[k] for k in gc_after}
        return r

    def baseline(self, api, sync, rps=None, duration=None):
        self.quiet()
        r = self.load(self.addrs["hello-" + api], "triad.bench.hello.v1.Greeter/SayHello",
                     {"name": "triad"}, duration=duration or self.a.duration, rps=rps,
                     metadata=False, label="baseline")
        r.update(name="baseline hello (%s API)" % api, kind="baseline", sync=sync)
        return r

    def seed_small(self, clients, rounds, reviews=200):
        """Seeds the started services for the side-by-side tools (cpu_split.py,
        calls_on_build.py): `clients` clients, 600 deals, `reviews` review requests (the same
        ones offered to RecordVerdict in each of `rounds` rounds) and 20 projects; returns the
        ids."""
        seeder = seeding.Seeder({k: self.addrs[k] for k in SERVICES}, self.token, log)
        ids = seeder.run(clients=clients, opportunities=600, reviews=reviews, projects=20)
        seeder.close()
        ids["review_ids"] = [ids["review_ids"]] * (rounds + 1)
        return ids

    # ------------------------------------------------------------------ the run

    def run(self):
        t0 = time.monotonic()
        self.start_hello()
        self.thread_rows = self.thread_model()
        ids = None
        rate_rows, auth_rows = [], []
        for phase, sync in enumerate(self.a.sync_modes):
            self.start_services(sync)
            if ids is None:
                s = seeding.Seeder({k: self.addrs[k] for k in SERVICES}, self.token, log)
                ts = time.monotonic()
                raw = s.run(clients=self.a.clients, opportunities=self.a.opportunities,
                            reviews=len(self.a.sync_modes) * self.a.verdicts_per_mode,
                            projects=self.a.projects)
                s.close()
                n = self.a.verdicts_per_mode
                raw["review_ids"] = [raw["review_ids"][i * n:(i + 1) * n]
                                     for i in range(len(self.a.sync_modes))]
                ids = raw
                self.seed_seconds = time.monotonic() - ts
                log("seeding took %.1fs" % self.seed_seconds)
            self.settle()
            # Interleaved: a baseline run before every call and one after the last, so load
            # from outside hits both; a call is compared with the mean of the baseline runs
            # right before and right after it (one 4 s baseline run alone swings by a tenth).
            measured = []
            for call in self.calls(ids, phase):
                name = call[0]
                b = self.baseline(BASELINE_API, sync)
                self.results.append(b)
                r = self.measure(*call[:5], call[5], sync, "%s sync=%s" % (name, sync))
                r["baseline_p99"] = b["p99"]
                r["baseline_api"] = BASELINE_API
                self.results.append(r)
                measured.append((r, b))
                log("%-28s sync=%-5s %8.0f qps  (baseline before it %.0f qps)"
                    % (name, sync, r["qps"], b["qps"]))
            last = self.baseline(BASELINE_API, sync)
            self.results.append(last)
            for i, (r, before) in enumerate(measured):
                after = measured[i + 1][1] if i + 1 < len(measured) else last
                r["baseline_qps_before"] = before["qps"]
                r["baseline_qps_after"] = after["qps"]
                r["baseline_qps"] = (before["qps"] + after["qps"]) / 2
                log("%-28s sync=%-5s %8.0f qps  p50 %.2f ms  p99 %.2f ms  (baseline %.0f qps: "
                    "%.0f before, %.0f after)"
                    % (r["name"], sync, r["qps"], r["p50"] or 0, r["p99"] or 0, r["baseline_qps"],
                       before["qps"], after["qps"]))
            if sync == "false":
                rate_rows = self.half_peak(ids, phase)
                auth_rows = self.auth_cost(ids, sync)
            self.stop(SERVICES)
        self.total_seconds = time.monotonic() - t0
        perf = self.profile(ids) if self.a.perf else None
        return rate_rows, auth_rows, perf

    def idle_limits(self):
        """{name: (pid, cores)}: the services and the broker, each with the CPU (in cores)
        under which it counts as idle (the broker polled by four consumers: a quarter)."""
        limits = {n: (p.pid, 0.1) for n, p in self.procs.items() if n in SERVICES}
        if self.a.broker_pid_file and os.path.exists(self.a.broker_pid_file):
            with open(self.a.broker_pid_file) as f:
                limits["broker"] = (int(f.read().strip()), 0.25)
        return limits

    def settle(self):
        """Waits until the broker (its JIT compiling the hot paths during the first minutes)
        and the services (start-up, seeding's events) are quiet, so the measured runs do not
        share the cores with them."""
        limits = self.idle_limits()
        start = time.monotonic()
        for pid, cores in limits.values():
            wait_idle(pid, cores=cores, window=1.0, timeout=60)
        log("settled in %.1fs (%s quiet)" % (time.monotonic() - start, ", ".join(limits)))

    def quiet(self):
        """Waits (up to 15 s) until the services and the broker are idle again before a measured
        run: the previous run's events being relayed, consumed and flushed would otherwise
        share the cores with this one (a write's own events, consumed during its run, still
        count). Counts the waits that timed out; report.py prints both."""
        waited, ok = wait_all_idle(dict(self.idle_limits().values()))
        self.quiet_seconds += waited
        if not ok:
            self.quiet_misses += 1
            log("not quiet after %.0fs; measuring anyway" % waited)

    def thread_model(self):
        """The hello server's sync API against its callback API, alternating, --thread-rounds
        rounds of --duration each."""
        rows = []
        for i in range(self.a.thread_rounds):
            for api in ("sync", "callback"):
                r = self.load(self.addrs["hello-" + api], "triad.bench.hello.v1.Greeter/SayHello",
                             {"name": "triad"}, duration=self.a.duration, metadata=False,
                             label="thread model %s" % api)
                rows.append(dict(r, api=api, round=i + 1))
        return rows

    def half_peak(self, ids, phase):
        """p99 at half of our own peak: every duration-mode call rate-limited to half its
        measured QPS, beside the baseline at the same rate."""
        rows = []
        peak = {r["name"]: r for r in self.results if r.get("sync") == "false"
                and r["kind"] != "baseline"}
        for call in self.calls(ids, phase):
            name, kind, target, method, data, mode = call
            if mode == "all" or name not in peak:
                continue  # RecordVerdict's targets are spent
            rps = max(1, peak[name]["qps"] / 2)
            proto = HEALTH_PROTO if method.startswith("grpc.health") else None
            md = not method.startswith("grpc.health")
            if name == "CreateClient":
                data = (data[0] if isinstance(data, tuple) else data).copy()
                data["client"] = dict(data["client"], phone="0800000-{{.RequestNumber}}")
            self.quiet()
            if mode == "cycles":  # whole cycles: every deal ends where it started
                cycles = max(1, int(round(rps * self.a.rate_duration / len(data))))
                r = self.load(target, method, data, count=cycles * len(data), rps=rps,
                             label="%s at %d rps" % (name, rps))
            else:
                r = self.load(target, method, data, duration=self.a.rate_duration, rps=rps,
                             metadata=md, proto=proto, label="%s at %d rps" % (name, rps))
            b = self.baseline(BASELINE_API, "false", rps=rps, duration=self.a.rate_duration)
            rows.append({"name": name, "rps": int(rps), "p99": r["p99"], "baseline_p99": b["p99"],
                         "baseline_api": BASELINE_API,
                         "ok": r["ok"], "total": r["total"], "codes": r["codes"]})
        return rows

    def auth_cost(self, ids, sync):
        """GetClient with --auth_mode=jwt (what ran above) and then =disabled."""
        rows = []
        method = "triad.clients.v1.ClientsService/GetClient"
        data = [{"client_id": c} for c in ids["client_ids"]]
        for mode in ("jwt", "disabled"):
            if mode == "disabled":
                self.stop(["clients"])
                self.start_services(sync, auth_mode="disabled", only=("clients",))
            self.load(self.addrs["clients"], method, data, duration=self.a.warmup,
                     label="GetClient auth=%s warm-up" % mode)
            r = self.load(self.addrs["clients"], method, data, duration=self.a.duration,
                         label="GetClient auth=%s" % mode)
            rows.append(dict(r, auth=mode))
        return rows

    def profile(self, ids):
        """perf record -g of the service behind the call with the worst ratio to the
        baseline, during a load-tool run of that call (--sync_writes=false)."""
        if not shutil.which("perf"):
            return {"error": "perf not installed"}
        # RecordVerdict's targets are spent by then: it is not profiled.
        rows = [r for r in self.results if r["kind"] != "baseline" and r.get("sync") == "false"
                and r["name"] != "RecordVerdict"]
        goal = lambda r: READ_GOAL if r["kind"] == "read" else WRITE_GOAL["false"]  # noqa: E731
        worst = min(rows, key=lambda r: (r["qps"] / max(r["baseline_qps"], 1)) / goal(r))
        if self.a.perf_call:
            worst = [r for r in rows if r["name"] == self.a.perf_call][0]
        self.start_services("false")
        call = [c for c in self.calls(ids, 0) if c[0] == worst["name"]][0]
        svc = [s for s in SERVICES if self.addrs[s] == call[2]][0]
        # The profile is of the call, not of the restart: its start-up work finishes first.
        waited = wait_idle(self.procs[svc].pid)
        log("perf: %s idle %.1fs after its restart" % (svc, waited))
        out = os.path.join(self.work, "perf.data")
        # perf stops by itself after the run's duration (-- sleep), so its file is complete.
        perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", out, "-p",
                                 str(self.procs[svc].pid), "--", "sleep",
                                 str(self.a.rate_duration + 1)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        name, kind, target, method, data, mode = call
        if isinstance(data, tuple):
            data = data[0]
        if name == "CreateClient":
            data = dict(data, client=dict(data["client"], phone="0700000-{{.RequestNumber}}"))
        try:
            if mode is None:
                self.load(target, method, data, duration=self.a.rate_duration,
                         metadata=not method.startswith("grpc.health"),
                         proto=HEALTH_PROTO if method.startswith("grpc.health") else None,
                         label="perf " + name)
            elif mode == "cycles":
                self.load(target, method, data, count=2 * len(data), label="perf " + name)
            perf.wait(120)
        finally:
            if perf.poll() is None:
                perf.send_signal(signal.SIGINT)
                perf.wait(60)
            self.stop(SERVICES)

        def report(*extra, sort="dso,symbol"):
            rep = subprocess.run(["perf", "report", "-i", out, "--stdio", "-g", "none",
                                  "--percent-limit", "1", "--sort", sort] + list(extra),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            lines = [" ".join(l.split()) for l in rep.stdout.decode(errors="replace").splitlines()
                     if l.strip() and not l.startswith("#")]
            return [l[:-4] if l.endswith(" - -") else l for l in lines]

        # Self time (where the cycles are spent) and, with children, the inclusive share of
        # Triad's, the JWT library's and gRPC's own functions (what the time is spent for).
        top = report("--no-children")[:20]
        by_library = report("--no-children", sort="dso")[:12]
        inclusive = [l for l in report("--children")
                     if any(k in l for k in ("triad::", "jwt_", "libjwt", "PEM_", "DECODER",
                                             "rocksdb::DB", "grpc::Server"))][:20]
        return {"call": name, "service": svc, "perf_data": out, "top": top,
                "inclusive": inclusive, "by_library": by_library}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--tool", choices=["grpc_load", "ghz"], default="grpc_load",
                   help="the load tool for both sides: grpc_load (bench/grpc/grpc_load.cc, "
                        "answers kept undecoded) or ghz (decodes every answer)")
    p.add_argument("--grpc-load", default="", help="the grpc_load binary (default: in the build)")
    p.add_argument("--ghz", default="", help="the ghz binary (with --tool=ghz)")
    p.add_argument("--broker-pid-file", default="",
                   help="the broker's pid file: measuring waits until the broker is quiet")
    p.add_argument("--work-dir", default=None, help="data, logs (default: a temporary dir)")
    p.add_argument("--duration", type=float, default=4.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per call")
    p.add_argument("--rate-duration", type=float, default=4.0,
                   help="seconds per rate-limited run (p99 at half the peak)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--opportunities", type=int, default=600,
                   help="deals AdvanceStage moves forward and back (many more than --concurrency, "
                        "so a deal's two moves are never in flight together)")
    p.add_argument("--projects", type=int, default=20)
    p.add_argument("--verdicts-per-mode", type=int, default=2000,
                   help="review requests seeded per sync mode (RecordVerdict's fixed count)")
    p.add_argument("--warmup-verdicts", type=int, default=100)
    p.add_argument("--sync-modes", default="false,true")
    p.add_argument("--thread-rounds", type=int, default=3,
                   help="rounds of the sync-vs-callback comparison of the hello server")
    p.add_argument("--perf", action="store_true", help="profile the worst-ratio call")
    p.add_argument("--perf-call", default="", help="profile this call instead (e.g. GetClient)")
    p.add_argument("--json", help="write every number here")
    args = p.parse_args()
    args.sync_modes = args.sync_modes.split(",")
    args.grpc_load = args.grpc_load or default_grpc_load(args.build_dir)
    if args.tool == "ghz" and not args.ghz:
        p.error("--tool=ghz needs --ghz")
    tmp = None
    if args.work_dir is None:
        tmp = tempfile.mkdtemp(prefix="triad-bench-grpc-")
        args.work_dir = tmp
    os.makedirs(args.work_dir, exist_ok=True)
    bench = Bench(args)
    try:
        rate_rows, auth_rows, perf = bench.run()
    finally:
        bench.stop_all()
    report(bench, rate_rows, auth_rows, perf, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": bench.results, "half_peak": rate_rows, "auth": auth_rows,
                       "thread_model": getattr(bench, "thread_rows", []),
                       "perf": perf, "total_seconds": bench.total_seconds}, f, indent=1)
    if tmp and not os.environ.get("TRIAD_BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
