"""triad_py: small Python helpers for talking to Triad from outside, shared by the end-to-end
tests (tests/e2e/harness.py), the demo loader (tools/demo/demo.py) and the commands
tools/triad-dlq and tools/triadctl.

Modules:
  stubs   generates the Python protobuf/gRPC classes from proto/ at run time (nothing generated
          is committed) and imports them;
  rpc     channels, gRPC health waiting, polling with a deadline, value helpers;
  events  CloudEvents (Kafka binary mode) headers, a publisher and a topic reader;
  call    a tiny command line gRPC caller with JSON in/out (for when grpcurl is not installed);
  dlq     reading dead-letter topics and re-driving their messages (tools/triad-dlq);
  auth    dev tokens (JWT), TLS channels with bearer credentials, the dev PKI of
          scripts/dev-pki.sh, tokens per acting person for tests and the demo;
  procs   service binaries as processes for tests (free ports, TLS + JWT against a per-run dev
          PKI, health wait, SIGTERM);
  ctl     the code of tools/triadctl, the command line client (see ctl/__init__.py).

Only Debian's packages are used: python3-grpcio, python3-protobuf, python3-confluent-kafka,
python3-grpc-tools, python3-jwt and python3-cryptography. Call ensure_python() before importing
the other modules: when the running interpreter lacks them (e.g. a pyenv python3 ahead of
/usr/bin/python3 on PATH) it re-executes the script with Debian's /usr/bin/python3.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO_ROOT, "proto")

_REQUIRED = ("grpc", "google.protobuf", "confluent_kafka", "grpc_tools", "jwt", "cryptography")
_FALLBACK_PYTHON = "/usr/bin/python3"


def missing_modules(required=_REQUIRED):
    """Names of the required modules (all of Triad's by default) this interpreter cannot
    import."""
    import importlib.util

    missing = []
    for name in required:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def ensure_python(required=_REQUIRED):
    """Re-executes the running script with /usr/bin/python3 when this interpreter lacks the
    Debian Python packages Triad's tools need (`required`, module names: all of them by
    default); exits with a clear message when none has them."""
    missing = missing_modules(required)
    if not missing:
        return
    here = os.path.realpath(sys.executable or "")
    if (os.path.realpath(_FALLBACK_PYTHON) != here and os.access(_FALLBACK_PYTHON, os.X_OK)
            and not os.environ.get("TRIAD_PY_REEXEC")):
        os.environ["TRIAD_PY_REEXEC"] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(_FALLBACK_PYTHON, [_FALLBACK_PYTHON] + sys.argv)
    sys.stderr.write(
        "triad_py: python modules missing: %s (install python3-grpcio python3-protobuf "
        "python3-confluent-kafka python3-grpc-tools python3-jwt python3-cryptography, e.g. "
        "scripts/setup.sh)\n" % ", ".join(missing))
    sys.exit(2)
