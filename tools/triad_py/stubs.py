"""Generates the Python classes of every proto under proto/triad/ with grpc_tools.protoc into a
temporary directory (removed at exit) and imports them. Nothing generated is committed.

    from triad_py import stubs
    s = stubs.load()
    s.clients.CreateClientRequest(...)          # triad.clients.v1 (service + resources)
    s.ClientsStub(channel)                       # triad.clients.v1.ClientsService

Beside the classes, generate() writes DESCRIPTOR_SET (every file with its imports and source
comments) into the output directory; all_modules() imports every generated module, so a tool can
discover the services from the descriptors (tools/triad_py/ctl). A command run often (triadctl)
passes cache_dir to load(): the classes are then generated once per content of proto/ and kept.
"""
import atexit
import glob
import hashlib
import importlib
import os
import re
import shutil
import sys
import tempfile
import types

from triad_py import PROTO_ROOT

_loaded = None

# File written by generate() beside the classes: a FileDescriptorSet of every .proto with its
# imports and source info (the comments of services, methods, messages and fields).
DESCRIPTOR_SET = "triad-descriptors.pb"


def generate(out_dir, proto_root=PROTO_ROOT):
    """Runs protoc (python + grpc_python) over proto_root/triad/**/*.proto into out_dir."""
    import grpc_tools
    from grpc_tools import protoc

    files = sorted(glob.glob(os.path.join(proto_root, "triad", "**", "*.proto"), recursive=True))
    if not files:
        raise RuntimeError("no .proto files under %s" % proto_root)
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["grpc_tools.protoc", "-I" + proto_root]
    if os.path.isdir(well_known):
        args.append("-I" + well_known)
    elif os.path.isdir("/usr/include/google/protobuf"):
        args.append("-I/usr/include")
    args += ["--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
             "--descriptor_set_out=" + os.path.join(out_dir, DESCRIPTOR_SET),
             "--include_imports", "--include_source_info"] + files
    rc = protoc.main(args)
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed (exit %d) on %s" % (rc, proto_root))
    return out_dir


def _merge(*modules):
    ns = types.SimpleNamespace()
    for m in modules:
        for k, v in vars(m).items():
            if not k.startswith("_"):
                setattr(ns, k, v)
    return ns


def _proto_digest(proto_root):
    """A digest of every .proto under proto_root/triad (paths and contents) and of grpc_tools'
    version: the key of a cached generation."""
    import grpc_tools

    h = hashlib.sha256(getattr(grpc_tools, "__version__", "").encode())
    for f in sorted(glob.glob(os.path.join(proto_root, "triad", "**", "*.proto"),
                              recursive=True)):
        h.update(os.path.relpath(f, proto_root).encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(fh.read())
        h.update(b"\0")
    return h.hexdigest()[:24]


def _cached_out_dir(proto_root, cache_dir):
    """The directory of the classes generated from proto_root's current content under
    cache_dir, generating them first when absent (into a temporary directory renamed into
    place, so concurrent runs never see a half-written one)."""
    target = os.path.join(cache_dir, "stubs-" + _proto_digest(proto_root))
    if os.path.isfile(os.path.join(target, DESCRIPTOR_SET)):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="stubs-tmp-", dir=cache_dir)
    try:
        generate(tmp, proto_root)
        os.rename(tmp, target)
    except OSError:
        # Another run renamed its copy first: use that one.
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isfile(os.path.join(target, DESCRIPTOR_SET)):
            raise
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load(proto_root=PROTO_ROOT, out_dir=None, cache_dir=None):
    """Generates (once per process) and imports the stubs; returns a namespace:

    clients, clients_events      triad.clients.v1 messages (service requests + resources; events)
    pipeline, pipeline_events    triad.pipeline.v1
    review_events, production_events   events with the package's resources and enums
    common, health
    ClientsStub, PipelineStub, HealthStub
    module(name)                 any generated module by dotted name
    descriptor_set               path of the FileDescriptorSet with source comments

    cache_dir: keep the generated classes there, keyed by the content of proto_root, and reuse
    them on later runs (out_dir is then ignored).
    """
    global _loaded
    if _loaded is not None:
        return _loaded
    if cache_dir is not None:
        out_dir = _cached_out_dir(proto_root, cache_dir)
    else:
        if out_dir is None:
            out_dir = tempfile.mkdtemp(prefix="triad-py-stubs-")
            atexit.register(shutil.rmtree, out_dir, True)
        os.makedirs(out_dir, exist_ok=True)
        generate(out_dir, proto_root)
    sys.path.insert(0, out_dir)
    imp = importlib.import_module
    s = types.SimpleNamespace()
    s.out_dir = out_dir
    s.descriptor_set = os.path.join(out_dir, DESCRIPTOR_SET)
    s.module = imp
    s.common = imp("triad.common.v1.types_pb2")
    s.clients_events = _merge(imp("triad.clients.v1.events_pb2"),
                              imp("triad.clients.v1.resources_pb2"))
    s.clients = _merge(imp("triad.clients.v1.events_pb2"), imp("triad.clients.v1.resources_pb2"),
                       imp("triad.clients.v1.clients_service_pb2"),
                       imp("triad.clients.v1.clients_admin_service_pb2"))
    s.pipeline_events = _merge(imp("triad.pipeline.v1.events_pb2"),
                               imp("triad.pipeline.v1.resources_pb2"))
    s.pipeline = _merge(imp("triad.pipeline.v1.events_pb2"),
                        imp("triad.pipeline.v1.resources_pb2"),
                        imp("triad.pipeline.v1.pipeline_service_pb2"),
                        imp("triad.pipeline.v1.pipeline_admin_service_pb2"))
    s.review_events = _merge(imp("triad.review.v1.events_pb2"),
                             imp("triad.review.v1.resources_pb2"))
    s.production_events = _merge(imp("triad.production.v1.events_pb2"),
                                 imp("triad.production.v1.resources_pb2"))
    s.health = imp("triad.testing.v1.health_service_pb2")
    s.ClientsStub = imp("triad.clients.v1.clients_service_pb2_grpc").ClientsServiceStub
    s.PipelineStub = imp("triad.pipeline.v1.pipeline_service_pb2_grpc").PipelineServiceStub
    s.HealthStub = imp("triad.testing.v1.health_service_pb2_grpc").HealthStub
    # Every other generated module too, so that the default descriptor pool knows every
    # service and message (reflection-style callers look them up by name).
    for path in sorted(glob.glob(os.path.join(out_dir, "triad", "**", "*_pb2.py"),
                                 recursive=True)):
        imp(os.path.relpath(path, out_dir)[:-3].replace(os.sep, "."))
    _loaded = s
    return s


def all_modules():
    """Imports every generated *_pb2 module (load() first); returns them by dotted name."""
    s = load()
    out = {}
    for path in sorted(glob.glob(os.path.join(s.out_dir, "**", "*_pb2.py"), recursive=True)):
        name = os.path.relpath(path, s.out_dir)[:-3].replace(os.sep, ".")
        out[name] = importlib.import_module(name)
    return out


# ce_type -> full protobuf message name, read from docs/asyncapi.yaml (generated from the
# contracts registry in common/contracts, so it never drifts from what the services emit).
ASYNCAPI = os.path.join(os.path.dirname(PROTO_ROOT), "docs", "asyncapi.yaml")
_EVENT_TYPE_RE = re.compile(
    r'ce_type:\n\s+const: (\S+)\n\s+ce_source:\n\s+const: \S+\n'
    r'\s+ce_dataschema:\n\s+const: "proto:([\w.]+)"')
_event_types = {}


def event_types(path=ASYNCAPI):
    """Returns {ce_type: full message name} for every event the contracts declare."""
    if path not in _event_types:
        with open(path, encoding="utf-8") as f:
            found = dict(_EVENT_TYPE_RE.findall(f.read()))
        if not found:
            raise RuntimeError("no event types found in %s" % path)
        _event_types[path] = found
    return _event_types[path]


def decode_event(s, ce_type, payload, dataschema=None):
    """Parses an event payload as the message its ce_dataschema header ("proto:<name>") or, when
    that is not given, its ce_type names (KeyError for an unknown type). `s` is the loaded stubs
    namespace: the generated modules must be imported for the lookup to find the message."""
    del s  # the loaded stubs registered every message in the default symbol database
    if dataschema and dataschema.startswith("proto:"):
        name = dataschema[len("proto:"):]
    else:
        name = event_types()[ce_type]
    from google.protobuf import descriptor_pool, message_factory
    desc = descriptor_pool.Default().FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        msg = message_factory.GetMessageClass(desc)()
    else:
        msg = message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)()
    msg.ParseFromString(payload)
    return msg
