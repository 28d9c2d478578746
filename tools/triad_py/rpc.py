"""gRPC helpers: channels (plaintext or through triad_py.auth), waiting for grpc.health.v1 SERVING, polling with a deadline, and small
value constructors (Money, Timestamp, Actor)."""
import datetime
import socket
import time

import grpc

from triad_py import stubs as _stubs

DEFAULT_RPC_TIMEOUT = 15.0


# Reconnect quickly while a server starts: gRPC's default backoff grows to 120 s between
# connection attempts, longer than a wait for health should ever be.
WAIT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 2000)]


def channel(address, security=None, options=None):
    """A channel to address (host:port). security: what connects (anything with a
    channel(address, options) method: auth.ClientConfig, auth.DevPki, auth.ActorTokens); None
    is plaintext without credentials, for servers run with --auth_mode=disabled."""
    if security is not None:
        return security.channel(address, options=options)
    return grpc.insecure_channel(address, options=options)


def wait_serving(address, timeout=60.0, service="", alive=None, security=None):
    """Polls grpc.health.v1.Health/Check on address (over `security`, see channel()) until it
    answers SERVING. Health needs no token.

    alive: optional callable; when it returns False (e.g. the process exited) waiting stops.
    Returns the seconds waited; raises TimeoutError with the last answer/error."""
    s = _stubs.load()
    start = time.monotonic()
    deadline = start + timeout
    last = "no answer"
    # Wait for the port to accept first: a channel whose first attempts were refused keeps
    # backing off (about 10 s with this grpcio, whatever WAIT_OPTIONS say), which would count
    # as start-up time.
    host, _, port = address.rpartition(":")
    while True:
        if alive is not None and not alive():
            raise RuntimeError("process serving %s exited while waiting for health" % address)
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=0.5).close()
            break
        except OSError as e:
            last = "port not accepting: %s" % e
        if time.monotonic() >= deadline:
            raise TimeoutError("%s (service %r) not SERVING after %.0fs; last: %s"
                               % (address, service, timeout, last))
        time.sleep(0.05)
    with channel(address, security, WAIT_OPTIONS) as ch:
        stub = s.HealthStub(ch)
        while True:
            if alive is not None and not alive():
                raise RuntimeError("process serving %s exited while waiting for health" % address)
            try:
                resp = stub.Check(s.health.HealthCheckRequest(service=service), timeout=2.0)
                if resp.status == s.health.HealthCheckResponse.SERVING:
                    return time.monotonic() - start
                last = s.health.HealthCheckResponse.ServingStatus.Name(resp.status)
            except grpc.RpcError as e:
                last = "%s: %s" % (e.code().name, e.details())
            if time.monotonic() >= deadline:
                raise TimeoutError("%s (service %r) not SERVING after %.0fs; last: %s"
                                   % (address, service, timeout, last))
            time.sleep(0.1)


def health_status(address, service="", security=None):
    """One health check; returns the ServingStatus name or the gRPC error code name."""
    s = _stubs.load()
    with channel(address, security) as ch:
        try:
            resp = s.HealthStub(ch).Check(s.health.HealthCheckRequest(service=service),
                                          timeout=2.0)
            return s.health.HealthCheckResponse.ServingStatus.Name(resp.status)
        except grpc.RpcError as e:
            return e.code().name


def poll_until(fn, timeout, what, interval=0.1):
    """Calls fn() until it returns a truthy value (returned) or timeout seconds pass.

    fn may raise grpc.RpcError / AssertionError / LookupError while the condition is not met
    yet; the last exception or value is reported in the TimeoutError. This is how the tests wait
    for eventual consistency across services: a deadline, never a bare sleep."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = "returned %r" % (v,)
        except (grpc.RpcError, AssertionError, LookupError) as e:
            last = describe_error(e)
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.0fs waiting for %s; last: %s"
                               % (timeout, what, last))
        time.sleep(interval)


def describe_error(e):
    if isinstance(e, grpc.RpcError):
        return "%s: %s" % (e.code().name, e.details())
    return "%s: %s" % (type(e).__name__, e)


def money(major, currency="CNY"):
    """Money from an amount in major units (e.g. 1_200_000 yuan -> 120000000 fen)."""
    s = _stubs.load()
    return s.common.Money(amount_minor=int(round(major * 100)), currency=currency)


def money_text(m):
    return "%s %s" % ("{:,.2f}".format(m.amount_minor / 100.0), m.currency)


def actor(actor_id, reason=""):
    return _stubs.load().common.Actor(id=actor_id, reason=reason)


def timestamp(dt):
    """google.protobuf.Timestamp from an aware datetime (or days from now when given an int)."""
    from google.protobuf import timestamp_pb2

    if isinstance(dt, (int, float)):
        dt = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=dt)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(dt.astimezone(datetime.timezone.utc).replace(tzinfo=None))
    return ts


def field_mask(*paths):
    from google.protobuf import field_mask_pb2

    return field_mask_pb2.FieldMask(paths=list(paths))


def checkpoint(opp, checkpoint_id):
    """The CheckpointState of checkpoint_id in an Opportunity (LookupError when absent)."""
    for c in opp.checkpoints:
        if c.checkpoint_id == checkpoint_id:
            return c
    raise LookupError("opportunity %s has no state for checkpoint %s" % (opp.id, checkpoint_id))
