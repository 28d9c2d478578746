"""Dead letters of Triad's idempotent consumer, read and re-driven with confluent_kafka.

A dead letter is a message the consumer could not apply, copied to <topic>.dlq with its key,
payload and headers (the CloudEvents ce_* headers among them) plus the consumer's triad_dlq_*
headers: the reason, the original topic, partition and offset, and the consumer group.

read_dead_letters() reads a DLQ topic as it is when called (every partition up to its end).
redrive() re-publishes chosen dead letters to their original topic with their original key,
payload and headers, without the triad_dlq_* headers and with triad_redriven_from set to
"<dlq topic>/<partition>/<offset>", through an idempotent producer (acks=all).

The record of what was re-driven is the re-driven messages themselves: before publishing,
redrive() reads the original topics from the time of the oldest chosen dead letter on and
collects their triad_redriven_from headers; a dead letter named there is not re-driven again.
So the record lives on the broker next to the data (no state file, no extra topic), holds for any
selection of offsets, and is exactly as old as the original topic's retention. Two operators
re-driving the same dead letter at the same moment could both publish it; the consumer would
still apply it once, since the copy keeps its ce_id and the consumer dedupes by ce_id.
"""
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from triad_py.kafka_security import security_config

DLQ_PREFIX = "triad_dlq_"
H_REASON = "triad_dlq_reason"
H_TOPIC = "triad_dlq_topic"
H_PARTITION = "triad_dlq_partition"
H_OFFSET = "triad_dlq_offset"
H_GROUP = "triad_dlq_group"
H_REDRIVEN_FROM = "triad_redriven_from"
_CLOCK_MARGIN_MS = 10 * 60 * 1000


class DlqError(Exception):
    """A problem the operator must hear about (exit status non-zero)."""


def text(v):
    """A header value or key as str (UTF-8, undecodable bytes replaced; None is "")."""
    if v is None:
        return ""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", errors="replace")
    return str(v)


class DeadLetter:
    """One message of a DLQ topic."""

    def __init__(self, msg):
        self.topic = msg.topic()
        self.partition = msg.partition()
        self.offset = msg.offset()
        self.timestamp_ms = msg.timestamp()[1]
        self.key = msg.key()
        self.value = msg.value()
        self.raw_headers = list(msg.headers() or [])
        self.headers = {k: text(v) for k, v in self.raw_headers}

    @property
    def ref(self):
        """What triad_redriven_from says of this dead letter: <dlq topic>/<partition>/<offset>."""
        return "%s/%d/%d" % (self.topic, self.partition, self.offset)

    @property
    def original_topic(self):
        return self.headers.get(H_TOPIC, "")

    def as_dict(self):
        return {
            "partition": self.partition,
            "offset": self.offset,
            "reason": self.headers.get(H_REASON, ""),
            "original_topic": self.original_topic,
            "original_partition": _int_or_none(self.headers.get(H_PARTITION)),
            "original_offset": _int_or_none(self.headers.get(H_OFFSET)),
            "group": self.headers.get(H_GROUP, ""),
            "ce_id": self.headers.get("ce_id", ""),
            "ce_type": self.headers.get("ce_type", ""),
            "key": text(self.key),
        }

    def redrive_headers(self):
        """The original headers (triad_dlq_* dropped) plus triad_redriven_from."""
        out = [(k, v) for k, v in self.raw_headers if not k.startswith(DLQ_PREFIX)
               and k != H_REDRIVEN_FROM]
        out.append((H_REDRIVEN_FROM, self.ref.encode("utf-8")))
        return out


def _int_or_none(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _consumer(bootstrap):
    return Consumer({
        "bootstrap.servers": bootstrap,
        # Never joins or commits: partitions are assigned explicitly. librdkafka wants a group id.
        "group.id": "triad-dlq-reader",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        **security_config(),
    })


def _partitions(consumer, topic, timeout):
    md = consumer.list_topics(topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None or not t.partitions:
        raise DlqError("topic %s does not exist or is not available (%s)"
                       % (topic, "unknown" if t is None else t.error))
    return sorted(t.partitions)


def _read(consumer, starts, timeout):
    """Reads each (topic, partition, start) up to the partition's end as of now; yields msgs."""
    assignment = []
    ends = {}
    for topic, p, start in starts:
        lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        start = max(lo, start if start is not None and start >= 0 else lo)
        if start < hi:
            assignment.append(TopicPartition(topic, p, start))
            ends[(topic, p)] = hi
    if not assignment:
        return
    consumer.assign(assignment)
    deadline = time.monotonic() + timeout
    while ends:
        if time.monotonic() >= deadline:
            raise DlqError("timed out reading %s (still missing: %s)" % (
                ", ".join(sorted({t for t, _ in ends})),
                ", ".join("%s[%d] up to %d" % (t, p, hi) for (t, p), hi in sorted(ends.items()))))
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise DlqError("reading %s: %s" % (m.topic(), m.error()))
        key = (m.topic(), m.partition())
        if key not in ends:
            continue
        yield m
        if m.offset() + 1 >= ends[key]:
            del ends[key]


def read_dead_letters(bootstrap, dlq_topic, limit=None, timeout=30.0):
    """Every dead letter of `dlq_topic` (in partition, offset order), at most `limit`."""
    c = _consumer(bootstrap)
    try:
        parts = _partitions(c, dlq_topic, timeout)
        out = [DeadLetter(m) for m in _read(c, [(dlq_topic, p, None) for p in parts], timeout)]
    except KafkaException as e:
        raise DlqError("reading %s: %s" % (dlq_topic, e))
    finally:
        c.close()
    out.sort(key=lambda d: (d.partition, d.offset))
    return out[:limit] if limit is not None else out


def already_redriven(bootstrap, letters, timeout=30.0):
    """{dlq ref: "<topic>[<partition>]@<offset>"} of those `letters` whose re-driven copy is on
    their original topic (read from the oldest letter's timestamp on)."""
    by_topic = {}
    for d in letters:
        by_topic.setdefault(d.original_topic, []).append(d)
    wanted = {d.ref for d in letters}
    found = {}
    c = _consumer(bootstrap)
    try:
        for topic, ds in by_topic.items():
            parts = _partitions(c, topic, timeout)
            # The copy is published after the dead letter was written: start at the oldest one's
            # timestamp, less a margin for clocks of different hosts.
            since = min(d.timestamp_ms for d in ds) - _CLOCK_MARGIN_MS
            times = c.offsets_for_times([TopicPartition(topic, p, max(0, since)) for p in parts],
                                        timeout=timeout)
            starts = [(topic, tp.partition, tp.offset if tp.offset >= 0 else None)
                      for tp in times if tp.offset >= 0]
            for m in _read(c, starts, timeout):
                for k, v in m.headers() or []:
                    if k == H_REDRIVEN_FROM and text(v) in wanted:
                        found[text(v)] = "%s[%d]@%d" % (m.topic(), m.partition(), m.offset())
    except KafkaException as e:
        raise DlqError("reading the original topics: %s" % e)
    finally:
        c.close()
    return found


class Redriver:
    """Publishes dead letters back to their original topics (idempotent producer, acks=all)."""

    def __init__(self, bootstrap):
        self._p = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "client.id": "triad-dlq",
            **security_config(),
        })

    def publish(self, letter, timeout=30.0):
        """Re-publishes one dead letter; returns "<topic>[<partition>]@<offset>" once the broker
        has it. Raises DlqError on a delivery failure or timeout."""
        result = {}

        def on_delivery(err, msg):
            result["err"] = err
            result["msg"] = msg

        try:
            self._p.produce(letter.original_topic, key=letter.key, value=letter.value,
                            headers=letter.redrive_headers(), on_delivery=on_delivery)
        except (KafkaException, BufferError) as e:
            raise DlqError("publishing %s to %s: %s" % (letter.ref, letter.original_topic, e))
        deadline = time.monotonic() + timeout
        while "err" not in result:
            if time.monotonic() >= deadline:
                raise DlqError("no delivery report for %s on %s within %.0fs"
                               % (letter.ref, letter.original_topic, timeout))
            self._p.poll(0.1)
        if result["err"] is not None:
            raise DlqError("publishing %s to %s: %s"
                           % (letter.ref, letter.original_topic, result["err"]))
        m = result["msg"]
        return "%s[%d]@%d" % (m.topic(), m.partition(), m.offset())

    def close(self):
        self._p.flush(10)
