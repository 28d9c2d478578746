"""Shared harness of Triad's end-to-end tests (tests/e2e/*_test.py): the four real service
binaries, each in its own process, against a real Kafka broker, driven through gRPC as a user or
another system would.

Import it from a test file beside it (`import harness`); importing makes sure the Python packages
are there (triad_py.ensure_python()). API:

  BOOTSTRAP                the broker (KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:19092)
  RUN                      8 hex digits unique to this process: suffix of ids shared on the broker
  SYNC_TIMEOUT_S           deadline of one cross-service propagation (seconds)
  S                        the generated classes (triad_py.stubs.load()) plus `review`,
                           `production` (service + resources + events of each), `ReviewStub`,
                           `ProductionStub`; set by stubs()
  stubs()                  loads S (idempotent) and returns it
  poll(fn, what, timeout)  polls fn() until it returns a truthy value (triad_py.rpc.poll_until)
  rpc_error(fn)            the grpc.RpcError fn() raises (AssertionError when it succeeds)
  free_port()              a free loopback TCP port
  binary(name)             the built binary of a service (TRIAD_<NAME>_BIN, else under
                           TRIAD_BUILD_DIR); binary(env_name, rel): variable and path given
  Service(name, binary, workdir, extra_flags=(), bootstrap=BOOTSTRAP)
                           one service process on free loopback ports, with TLS and JWT
                           authentication (the run's dev PKI): start() (waits for SERVING),
                           restart() (same ports and data), kill() (SIGKILL),
                           terminate(timeout) (SIGTERM; the exit code), alive(), address,
                           data_dir, log_tail(), consumer_count(result) and metric(name, ...)
                           (Prometheus), channel() (calls as their actor, see ActorTokens)
  pki()                    the run's dev PKI (triad_py.auth.DevPki; scripts/dev-pki.sh into a
                           temporary directory): pki().token(sub, roles, teams), .channel(...)
  OPERATOR                 the subject of calls that name no actor (role operator)
  actor_channel(address)   a TLS channel whose calls carry a token of the request's actor.id
                           (else OPERATOR), role operator: tests not about access act as the
                           people their requests name
  DRAIN_TIMEOUT_S          --drain_timeout given to every service
  Cluster                  the four services on fresh data directories and consumer groups:
                           Cluster(workdir, bootstrap).start(); .clients/.pipeline/.review/
                           .production are stubs (re-made after a restart); .svc[name] the
                           Service; .product_line, .domain, .skills: the run's own product line
                           (see Cluster.isolate); stop() (SIGTERM, returns exit codes), close()
  PrivateBroker(port, dir) a broker of the test's own (scripts/kafka-local.sh): start(), stop(),
                           kill() (SIGKILL), bootstrap
  ClusterCase              unittest.TestCase base: a Cluster per class (started, isolated,
                           staffed with `experts` experts and a resource per skill) as
                           `cls.cluster`, the helpers as `cls.t`, the logs printed when a test
                           failed; assertRpcError(code, fn, *texts)
  Triad(cluster)           the flow helpers every test shares: clients, experts, resources,
                           opportunities driven through the playbook, reviews decided by the
                           assigned expert, wins, project progress (see its methods)
  main(*test_cases)        runs unittest cases, prints "N passed, M failed[, K skipped]",
                           returns the status (skips are not failures)

A test of another group of flows (e.g. offboarding_test.py) is a file beside this one:

    import harness                       # first: it makes sure the Python packages are there
    class MyTest(harness.ClusterCase):
        def test_x(self):
            c = self.t.client("k", "Name", owner="u:someone")
            self.cluster.clients.OffboardPerson(...)
    if __name__ == "__main__":
        sys.exit(harness.main(MyTest))

registered in tests/e2e/CMakeLists.txt (the foreach list).

Isolation on a shared broker: every service consumes its topics from the beginning with a fresh
consumer group, so other runs' events reach this run's services too. Cluster.isolate() gives the
run a product line of its own (a copy of the shipped `architectural-design` playbook and phase
template whose review domain, sign-off domain and skills carry RUN): other runs' review requests
and projects never take this run's experts' or resources' capacity.

Authentication: every service runs with TLS (mTLS requested) and JWT authentication against a
dev PKI made for the run (pki()); the servers take a change's actor from the caller's token, so
the channels of Cluster and Service.channel() send each call with a token whose subject is the
request's actor.id (role operator). A binary built without the authentication flags (no
--auth_jwt_keys_dir in its --helpfull) runs plaintext instead, with a warning.

Environment: KAFKA_BOOTSTRAP_SERVERS; TRIAD_BUILD_DIR (build tree, default <repo>/build);
TRIAD_SOURCE_DIR; TRIAD_<SVC>_BIN (explicit binary); TRIAD_E2E_KEEP=1 keeps the temporary
directory (data, logs).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import uuid

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ENV_SOURCE = os.environ.get("TRIAD_SOURCE_DIR", "")
if _ENV_SOURCE and os.path.isdir(os.path.join(_ENV_SOURCE, "tools", "triad_py")):
    SOURCE_DIR = _ENV_SOURCE
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python()

import grpc  # noqa: E402

from triad_py import procs, rpc  # noqa: E402
from triad_py import stubs as _stubs  # noqa: E402

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:19092"
BUILD_DIR = os.environ.get("TRIAD_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DRAIN_TIMEOUT_S = 10
# How long a starting service may take to answer health (four start side by side, TLS
# handshakes included, on a shared machine).
START_TIMEOUT_S = 120
SYNC_TIMEOUT_S = 90
RUN = uuid.uuid4().hex[:8]
SERVICES = ("clients", "pipeline", "review", "production")
API = {"clients": "triad.clients.v1.ClientsService",
       "pipeline": "triad.pipeline.v1.PipelineService",
       "review": "triad.review.v1.ReviewService",
       "production": "triad.production.v1.ProductionService"}
# Flags that switch off periodic scans, so only the test moves things.
_QUIET = {"clients": ["--scan_interval=0"], "pipeline": ["--stale_scan_interval=0"],
          "review": ["--leave_scan_interval=0"], "production": []}
SHIPPED_LINE = "architectural-design"
OPERATOR = procs.OPERATOR

S = None
pki = procs.pki
supports_auth = procs.supports_auth
actor_channel = procs.actor_channel


def stubs():
    """Loads the generated classes once; adds the review and production namespaces."""
    global S
    if S is None:
        s = _stubs.load()
        imp = s.module
        merge = _stubs._merge
        s.review = merge(imp("triad.review.v1.events_pb2"), imp("triad.review.v1.resources_pb2"),
                         imp("triad.review.v1.review_service_pb2"))
        s.production = merge(imp("triad.production.v1.events_pb2"),
                             imp("triad.production.v1.resources_pb2"),
                             imp("triad.production.v1.production_service_pb2"))
        s.ReviewStub = imp("triad.review.v1.review_service_pb2_grpc").ReviewServiceStub
        s.ProductionStub = imp(
            "triad.production.v1.production_service_pb2_grpc").ProductionServiceStub
        S = s
    return S


def poll(fn, what, timeout=SYNC_TIMEOUT_S, interval=0.1):
    """Polls fn() until it returns a truthy value (returned); TimeoutError after timeout."""
    return rpc.poll_until(fn, timeout, what, interval)


def rpc_error(fn):
    """The grpc.RpcError fn() raises; AssertionError when it succeeds."""
    try:
        fn()
    except grpc.RpcError as e:
        return e
    raise AssertionError("the call succeeded; an error was expected")


free_port = procs.free_port  # never the same port twice in one test process


def binary(name, rel=None):
    """The built binary of service `name` (TRIAD_<NAME>_BIN, else <build>/services/<name>/
    triad-<name>); binary(env_name, rel) names the variable and the path under the build tree
    explicitly."""
    env = "TRIAD_%s_BIN" % name.upper() if rel is None else name
    rel = rel or os.path.join("services", name, "triad-" + name)
    path = os.environ.get(env) or os.path.join(BUILD_DIR, rel)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found or not executable (build it, or set TRIAD_BUILD_DIR / %s)"
                           % (path, env))
    return path


class Service:
    """One Triad service process on free loopback ports, logging to <workdir>/<name>.log. Its
    data directory survives restart() (that is the point of a restart)."""

    def __init__(self, name, binary_path, workdir, extra_flags=(), bootstrap=BOOTSTRAP):
        self.name = name
        self.binary = binary_path
        self.workdir = workdir
        self.bootstrap = bootstrap
        self.extra_flags = list(extra_flags)
        self.proc = None
        self.log_path = os.path.join(workdir, name + ".log")
        self.data_dir = os.path.join(workdir, name + "-data")
        self.grpc_port = None
        self.admin_port = None
        self.address = None
        self.secure = supports_auth(binary_path)
        # Health needs no token; TLS with the run's CA, or plaintext.
        self.health_security = pki() if self.secure else None

    def security_flags(self):
        """TLS (mTLS requested) and JWT authentication against the run's dev PKI."""
        return pki().server_flags() if self.secure else []

    def channel(self):
        """A channel to the service: TLS with a token of each request's actor (actor_channel),
        or plaintext for a binary without authentication."""
        return actor_channel(self.address) if self.secure else rpc.channel(self.address)

    def launch(self):
        """Starts the process on its ports (new free ones when none are set); returns at once."""
        if self.grpc_port is None:
            self.grpc_port, self.admin_port = free_port(), free_port()
        os.makedirs(self.data_dir, exist_ok=True)
        cmd = [self.binary, "--data_dir=" + self.data_dir, "--listen_host=127.0.0.1",
               "--grpc_port=%d" % self.grpc_port, "--admin_port=%d" % self.admin_port,
               "--kafka_bootstrap_servers=" + self.bootstrap,
               "--topic_replication=1", "--topic_min_insync_replicas=1",
               "--drain_timeout=%ds" % DRAIN_TIMEOUT_S] + self.security_flags() + \
            self.extra_flags
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.address = "127.0.0.1:%d" % self.grpc_port

    def wait_serving(self):
        """Waits for grpc.health.v1 SERVING; on failure kills the process, forgets its ports
        and raises."""
        try:
            rpc.wait_serving(self.address, timeout=START_TIMEOUT_S, alive=self.alive,
                             security=self.health_security)
        except (RuntimeError, TimeoutError):
            self.kill()
            self.grpc_port = None
            raise

    def start(self, attempts=3):
        """Starts the process and waits for grpc.health.v1 SERVING (ports are picked again when
        a start fails, e.g. a port taken in between)."""
        last = None
        for _ in range(attempts):
            self.launch()
            try:
                self.wait_serving()
                return
            except (RuntimeError, TimeoutError) as e:
                last = e
        raise RuntimeError("%s did not become SERVING: %s\n%s" % (self.name, last,
                                                                   self.log_tail()))

    def restart(self):
        """Starts the process again on the same ports and data (after kill() or terminate())."""
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL, as a crash would; waits for the process to be gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def terminate(self, timeout=DRAIN_TIMEOUT_S + 20):
        """SIGTERM and wait; returns the exit code (None when it did not exit in time)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def consumer_count(self, result):
        """The service's triad_consumer_messages_total for `result` (applied, duplicate, ...),
        read from its Prometheus endpoint."""
        return self.metric("triad_consumer_messages_total", {"result": result})

    def metric(self, name, labels=None, contains=""):
        """The sum of the samples of metric `name` on the service's /metrics whose labels
        include every label of `labels` (a dict) and whose line contains `contains`."""
        return procs.metric_sum(self.admin_port, name, labels, contains)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
            return "--- last %d lines of %s ---\n%s" % (lines, self.log_path,
                                                        "\n".join(data[-lines:]))
        except OSError:
            return "(no log at %s)" % self.log_path


class Cluster:
    """The four services of one run, on fresh data directories and consumer groups."""

    def __init__(self, workdir=None, bootstrap=BOOTSTRAP, tag="e2e"):
        stubs()
        self.workdir = workdir or tempfile.mkdtemp(prefix="triad-%s-" % tag)
        self.bootstrap = bootstrap
        self.svc = {name: Service(name, binary(name), self.workdir,
                                  ["--consumer_group=triad-%s-%s-%s" % (name, tag, RUN)]
                                  + _QUIET[name], bootstrap) for name in SERVICES}
        self.channels = {}
        self.product_line = SHIPPED_LINE
        self.domain = "architecture"
        self.skills = ("architectural-design", "drafting")

    def start(self):
        """Starts the four processes side by side; returns once every one is SERVING. The
        processes are launched first and then waited for one after the other, from this
        thread (no process is forked while a TLS channel is being set up); one that does not
        come up is started again (start(): new ports)."""
        for name in SERVICES:
            self.svc[name].launch()
        try:
            for name in SERVICES:
                try:
                    self.svc[name].wait_serving()
                except (RuntimeError, TimeoutError):
                    self.svc[name].start()
        except Exception:
            self.close(failed=True)
            raise
        for name in SERVICES:
            self._connect(name)
        return self

    def _connect(self, name):
        old = self.channels.pop(name, None)
        if old is not None:
            old.close()
        ch = self.svc[name].channel()
        self.channels[name] = ch
        stub = {"clients": S.ClientsStub, "pipeline": S.PipelineStub, "review": S.ReviewStub,
                "production": S.ProductionStub}[name](ch)
        setattr(self, name, stub)

    def kill(self, name):
        self.svc[name].kill()

    def restart(self, name):
        self.svc[name].restart()
        self._connect(name)

    def isolate(self):
        """Gives the run a product line of its own: "architectural-design-<RUN>", a copy of the
        shipped playbook whose review gate asks domain "architecture-<RUN>", and of the shipped
        phase template with skills "design-<RUN>", "drafting-<RUN>" and sign-offs in the same
        domain. Returns self."""
        line = "%s-%s" % (SHIPPED_LINE, RUN)
        domain = "architecture-%s" % RUN
        skills = {"architectural-design": "design-" + RUN, "drafting": "drafting-" + RUN}
        pb = self.pipeline.GetPlaybook(S.pipeline.GetPlaybookRequest(product_line=SHIPPED_LINE),
                                       timeout=rpc.DEFAULT_RPC_TIMEOUT)
        pb.product_line = line
        pb.version = 0
        for st in pb.stages:
            for cp in st.checkpoints:
                if cp.review_domain:
                    cp.review_domain = domain
        self.pipeline.CreatePlaybookVersion(S.pipeline.CreatePlaybookVersionRequest(
            playbook=pb, request_id="e2e-playbook-" + RUN), timeout=rpc.DEFAULT_RPC_TIMEOUT)
        t = self.production.GetPhaseTemplate(S.production.GetPhaseTemplateRequest(
            product_line=SHIPPED_LINE), timeout=rpc.DEFAULT_RPC_TIMEOUT)
        t.product_line = line
        t.version = 0
        for ph in t.phases:
            ph.required_skill = skills[ph.required_skill]
            if ph.key_milestone:
                ph.sign_off_domain = domain
        self.production.CreatePhaseTemplateVersion(S.production.CreatePhaseTemplateVersionRequest(
            template=t, request_id="e2e-template-" + RUN, actor=rpc.actor("u:e2e.setup")),
            timeout=rpc.DEFAULT_RPC_TIMEOUT)
        self.product_line, self.domain = line, domain
        self.skills = (skills["architectural-design"], skills["drafting"])
        return self

    def stop(self):
        """SIGTERM to every service; returns {name: exit code or None}."""
        codes = {}
        for name in reversed(SERVICES):
            s = self.svc[name]
            if s.alive():
                codes[name] = s.terminate()
                if codes[name] is None:
                    s.kill()
        return codes

    def close(self, failed=False):
        """Stops everything, prints the logs' tails when failed, removes the work directory
        (unless TRIAD_E2E_KEEP)."""
        for ch in self.channels.values():
            ch.close()
        self.channels = {}
        if failed:
            for s in self.svc.values():
                print(s.log_tail(60), file=sys.stdout)
        self.stop()
        if os.environ.get("TRIAD_E2E_KEEP"):
            print("kept %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


class PrivateBroker:
    """A broker of the test's own, run by scripts/kafka-local.sh (so it can be stopped and
    SIGKILLed); its state lives in `directory` and survives kill() and stop()."""

    def __init__(self, port, directory):
        self.port = port
        self.dir = directory
        self.bootstrap = "127.0.0.1:%d" % port

    def _run(self, verb):
        env = dict(os.environ, TRIAD_KAFKA_PORT=str(self.port), TRIAD_KAFKA_DIR=self.dir)
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        r = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "kafka-local.sh"), verb], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("kafka-local.sh %s failed:\n%s" % (verb, r.stdout.decode()))

    def start(self):
        self._run("start")

    def stop(self):
        self._run("stop")

    def kill(self):
        self._run("kill")


def free_port_pair():
    """A port p with p+1 also free (the broker's client and controller listeners)."""
    for _ in range(50):
        p = free_port()
        if p < 65535:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


from triad_flows import Triad  # noqa: E402,F401  (the flow helpers, in their own file)


class ClusterCase(unittest.TestCase):
    """Base of the end-to-end test cases: one Cluster per class, started, isolated and staffed
    (two experts, one resource per skill) in setUpClass; its logs are printed when a test of
    the class failed. `cluster` and `t` (a Triad on it) are class attributes."""

    cluster = None
    t = None
    tag = "e2e"
    experts = 2
    failed = False
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        stubs()
        cls.cluster = Cluster(tag=cls.tag).start()
        try:
            cls.cluster.isolate()
            cls.t = Triad(cls.cluster)
            cls.staff = cls.t.staff(experts=cls.experts)
        except Exception:
            cls.cluster.close(failed=True)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.close(failed=cls.failed)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return out

    def assertRpcError(self, code, fn, *contains):
        """fn() fails with `code` and a message containing every text of `contains`; returns
        the message."""
        err = rpc_error(fn)
        self.assertEqual(err.code(), code, "want %s, got %s: %s"
                         % (code.name, err.code().name, err.details()))
        for text in contains:
            self.assertIn(text, err.details())
        return err.details()


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main(*cases):
    """Runs the test cases in order; prints "N passed, M failed" (and the skipped); returns
    the exit status."""
    suite = unittest.TestSuite()
    for c in cases:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(c))
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=CountingResult)
    result = runner.run(suite)
    skipped = len(result.skipped)
    failed = max(suite.countTestCases() - result.passed - skipped,
                 len(result.failures) + len(result.errors))
    sys.stdout.flush()
    print("%d passed, %d failed%s" % (result.passed, failed,
                                      ", %d skipped" % skipped if skipped else ""), flush=True)
    return 0 if failed == 0 and result.wasSuccessful() else 1
