"""Triad events from Python with confluent_kafka: CloudEvents binary-mode headers (ce_id, ce_type,
ce_source, ce_time, ce_specversion, content-type: application/x-protobuf), a publisher that waits
for the broker's acknowledgement, and a reader that follows topics from a given point."""
import datetime
import re
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from triad_py.kafka_security import security_config

CONTENT_TYPE = "application/x-protobuf"
SPEC_VERSION = "1.0"
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def event_time(dt=None):
    """RFC 3339 UTC with microseconds, the format Triad writes in ce_time."""
    dt = dt or datetime.datetime.now(datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ce_headers(ce_type, source, ce_id=None, subject=None, when=None):
    """The CloudEvents Kafka-binding headers of one event, as confluent_kafka header tuples."""
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", ce_id or str(uuid.uuid4())),
        ("ce_type", ce_type),
        ("ce_source", source),
        ("ce_time", event_time(when)),
        ("content-type", CONTENT_TYPE),
    ]
    if subject:
        headers.append(("ce_subject", subject))
    return [(k, v.encode("utf-8")) for k, v in headers]


def headers_dict(msg):
    """A consumed message's headers as {name: str} (last value wins)."""
    out = {}
    for k, v in msg.headers() or []:
        out[k] = v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v
    return out


def check_ce_headers(headers, want_source=None):
    """Returns a list of problems with a message's CloudEvents headers (empty when valid)."""
    problems = []
    if headers.get("ce_specversion") != SPEC_VERSION:
        problems.append("ce_specversion=%r" % headers.get("ce_specversion"))
    try:
        uuid.UUID(headers.get("ce_id", ""))
    except ValueError:
        problems.append("ce_id=%r is not a UUID" % headers.get("ce_id"))
    if not re.match(r"^triad\.[a-z0-9_-]+\.[a-z0-9_-]+\.[a-z0-9_]+\.v\d+$",
                    headers.get("ce_type", "")):
        problems.append("ce_type=%r" % headers.get("ce_type"))
    if want_source is not None and headers.get("ce_source") != want_source:
        problems.append("ce_source=%r, want %r" % (headers.get("ce_source"), want_source))
    if not headers.get("ce_source"):
        problems.append("ce_source missing")
    if not _TIME_RE.match(headers.get("ce_time", "")):
        problems.append("ce_time=%r is not RFC 3339" % headers.get("ce_time"))
    if headers.get("content-type") != CONTENT_TYPE:
        problems.append("content-type=%r" % headers.get("content-type"))
    return problems


class Publisher:
    """Publishes protobuf events with CloudEvents headers (idempotent producer, acks=all) and
    waits for each delivery report, so a returned publish() is on the broker."""

    def __init__(self, bootstrap, source):
        self.source = source
        self._p = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "client.id": "triad-py-" + source.replace("/", "-"),
            **security_config(),
        })

    def publish(self, topic, key, ce_type, message, ce_id=None, timeout=30.0):
        """Sends one event; returns its ce_id. Raises on a delivery failure or timeout."""
        ce_id = ce_id or str(uuid.uuid4())
        result = {}

        def on_delivery(err, msg):
            result["err"] = err
            result["msg"] = msg

        self._p.produce(topic, key=key.encode("utf-8"), value=message.SerializeToString(),
                        headers=ce_headers(ce_type, self.source, ce_id=ce_id),
                        on_delivery=on_delivery)
        deadline = time.monotonic() + timeout
        while "err" not in result:
            if time.monotonic() >= deadline:
                raise TimeoutError("no delivery report for %s on %s within %.0fs"
                                   % (ce_type, topic, timeout))
            self._p.poll(0.1)
        if result["err"] is not None:
            raise KafkaException(result["err"])
        return ce_id

    def close(self):
        self._p.flush(10)


class TopicReader:
    """Reads topics from an explicit position (no group rebalancing, no committed offsets):
    start='end' reads only what is written after construction; start='beginning' reads all."""

    def __init__(self, bootstrap, topics, start="end", group_prefix="triad-py-reader"):
        self._c = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": "%s-%s" % (group_prefix, uuid.uuid4().hex[:12]),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            **security_config(),
        })
        assignment = []
        for topic in topics:
            md = self._c.list_topics(topic, timeout=15)
            t = md.topics.get(topic)
            if t is None or t.error is not None or not t.partitions:
                raise RuntimeError("topic %s is not available: %s"
                                   % (topic, None if t is None else t.error))
            for p in sorted(t.partitions):
                lo, hi = self._c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
                assignment.append(TopicPartition(topic, p, hi if start == "end" else lo))
        self._c.assign(assignment)
        self.messages = []

    def poll(self, timeout=0.5):
        """Collects what has arrived; returns the new messages."""
        new = []
        deadline = time.monotonic() + timeout
        while True:
            m = self._c.poll(max(0.0, min(0.2, deadline - time.monotonic())))
            if m is not None:
                if m.error():
                    raise KafkaException(m.error())
                new.append(m)
                self.messages.append(m)
                continue
            if time.monotonic() >= deadline:
                return new

    def wait_for(self, predicate, timeout, what):
        """Polls until some collected message satisfies predicate(msg); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages:
                if predicate(m):
                    return m
            if time.monotonic() >= deadline:
                raise TimeoutError("no message matching %s within %.0fs (%d messages seen)"
                                   % (what, timeout, len(self.messages)))
            self.poll(0.5)

    def close(self):
        self._c.close()


def key_of(msg):
    k = msg.key()
    return k.decode("utf-8") if isinstance(k, (bytes, bytearray)) else (k or "")
