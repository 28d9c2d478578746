"""Triad service binaries as processes for tests: free loopback ports, a fresh data directory,
the broker given, waiting for grpc.health.v1 SERVING, SIGTERM at the end.

    svc = procs.ServiceProcess("clients", procs.service_binary(build_dir, "clients"), workdir,
                               bootstrap, ["--consumer_group=triad-clients-test-" + run])
    svc.start()            # svc.address is "127.0.0.1:<free port>"
    ...
    svc.stop()

Services run with TLS (mTLS requested) and JWT authentication against a dev PKI made once per
test process (pki(), scripts/dev-pki.sh into a temporary directory); a binary without the
authentication flags runs plaintext, with a warning (supports_auth()). actor_channel(address)
calls as the people the requests name: each call carries a token whose subject is the request's
actor.id (else OPERATOR), role operator, for tests that are not about access.

cpu_seconds(pid) and wait_idle(pid) read a process's CPU time from /proc, for the benchmarks
that wait until a service is idle before measuring; metric_sum(admin_port, name, labels) reads
a Prometheus metric from a service's admin port (tests and benchmarks).
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

from triad_py import auth, rpc

OPERATOR = "u:test.operator." + uuid.uuid4().hex[:8]

_PKI = None
_AUTH_SUPPORT = {}
_ACTOR_TOKENS = None


def pki():
    """The test process's dev PKI (auth.DevPki; a temporary directory removed at exit unless
    TRIAD_E2E_KEEP or TRIAD_CTL_TEST_KEEP is set)."""
    global _PKI
    if _PKI is None:
        root = tempfile.mkdtemp(prefix="triad-test-pki-")
        if not (os.environ.get("TRIAD_E2E_KEEP") or os.environ.get("TRIAD_CTL_TEST_KEEP")):
            atexit.register(shutil.rmtree, root, True)
        _PKI = auth.DevPki.ensure(os.path.join(root, "pki"))
    return _PKI


def supports_auth(binary_path):
    """True when the binary has the authentication flags (--auth_jwt_keys_dir in its
    --helpfull); prints a warning once when it has not."""
    if binary_path not in _AUTH_SUPPORT:
        try:
            r = subprocess.run([binary_path, "--helpfull"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30)
            _AUTH_SUPPORT[binary_path] = b"auth_jwt_keys_dir" in r.stdout
        except (OSError, subprocess.TimeoutExpired):
            _AUTH_SUPPORT[binary_path] = False
        if not _AUTH_SUPPORT[binary_path]:
            print("WARNING: %s has no authentication flags: it runs plaintext, without TLS or "
                  "tokens" % binary_path, flush=True)
    return _AUTH_SUPPORT[binary_path]


def operator_directory(subject):
    """The roles and teams of every subject in tests not about access: operator, no team."""
    del subject
    return (["operator"], [])


def actor_channel(address):
    """A TLS channel to address (the test PKI's CA) whose calls carry a token of the request's
    actor.id, else OPERATOR, with role operator (auth.ActorTokens)."""
    global _ACTOR_TOKENS
    if _ACTOR_TOKENS is None:
        _ACTOR_TOKENS = auth.ActorTokens(pki(), operator_directory, OPERATOR)
    return _ACTOR_TOKENS.channel(address)


def cpu_seconds(pid):
    """User + system CPU time of process `pid` so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid, cores=0.05, window=0.5, timeout=60.0):
    """Polls until process `pid` uses under `cores` of CPU over a `window`-second span (its
    start-up work done: recovery, compactions, first scans); returns the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < cores * window:
            break
    return time.monotonic() - start


_GIVEN_PORTS = set()


def free_port():
    """A TCP port free on 127.0.0.1 now (the process started next binds it), never one this
    process was given before: the kernel may hand a closed port out again before the service
    given it first has bound it, and the second service would then fail to start."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
    raise RuntimeError("no loopback port left that was not given out before")


def service_binary(build_dir, service):
    """<build_dir>/services/<service>/triad-<service>; RuntimeError when it is not built."""
    path = os.path.join(build_dir, "services", service, "triad-" + service)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s not found or not executable (build it, or set TRIAD_BUILD_DIR)"
                           % path)
    return path


class ServiceProcess:
    """One Triad service process on loopback ports, logging to <workdir>/<name>.log."""

    def __init__(self, name, binary, workdir, bootstrap, extra_flags=(), drain_timeout_s=10):
        self.name = name
        self.binary = binary
        self.workdir = workdir
        self.bootstrap = bootstrap
        self.extra_flags = list(extra_flags)
        self.drain_timeout_s = drain_timeout_s
        self.proc = None
        self.log_path = os.path.join(workdir, name + ".log")
        self.address = None
        self.admin_port = None
        self.secure = supports_auth(binary)

    def security_flags(self):
        """TLS and JWT authentication against pki() (none for a binary without them)."""
        return pki().server_flags() if self.secure else []

    def channel(self):
        """A channel to the service calling as the requests' actors (actor_channel), or
        plaintext for a binary without authentication."""
        return actor_channel(self.address) if self.secure else rpc.channel(self.address)

    def start(self, attempts=3, timeout=120):
        """Starts the process and waits until it is SERVING (a port taken meanwhile by someone
        else is retried with new ports)."""
        last = None
        for _ in range(attempts):
            grpc_port, admin_port = free_port(), free_port()
            data_dir = os.path.join(self.workdir, self.name + "-data")
            os.makedirs(data_dir, exist_ok=True)
            cmd = [self.binary, "--data_dir=" + data_dir, "--listen_host=127.0.0.1",
                   "--grpc_port=%d" % grpc_port, "--admin_port=%d" % admin_port,
                   "--kafka_bootstrap_servers=" + self.bootstrap,
                   # A test broker is a single node.
                   "--topic_replication=1", "--topic_min_insync_replicas=1",
                   "--drain_timeout=%ds" % self.drain_timeout_s] + self.security_flags() + \
                self.extra_flags
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            self.address = "127.0.0.1:%d" % grpc_port
            self.admin_port = admin_port
            try:
                rpc.wait_serving(self.address, timeout=timeout, alive=self.alive,
                                 security=pki() if self.secure else None)
                return
            except (RuntimeError, TimeoutError) as e:
                last = e
                self.kill()
        raise RuntimeError("%s did not become SERVING: %s\n%s" % (self.name, last,
                                                                  self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait for the drain; SIGKILL when it does not exit. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=self.drain_timeout_s + 20)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
            return "--- last %d lines of %s ---\n%s" % (lines, self.log_path,
                                                        "\n".join(data[-lines:]))
        except OSError:
            return "(no log at %s)" % self.log_path


def metric_sum(admin_port, name, labels=None, contains="", timeout=5):
    """The sum of the samples of metric `name` on http://127.0.0.1:<admin_port>/metrics whose
    labels include every label of `labels` (a dict) and whose line contains `contains`."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port,
                                  timeout=timeout).read().decode()
    total = 0.0
    for line in body.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        if contains in line and all('%s="%s"' % (k, v) in line
                                    for k, v in (labels or {}).items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
