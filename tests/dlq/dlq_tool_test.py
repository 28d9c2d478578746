#!/usr/bin/env python3
"""Integration test of tools/triad-dlq against the real broker named by KAFKA_BOOTSTRAP_SERVERS.

Dead letters are written to a fresh <topic>.dlq as Triad's consumer writes them (original key,
payload and CloudEvents headers plus the triad_dlq_* headers). The test lists them (JSON and
table), re-drives one by offset (after a dry run that must publish nothing), checks the copy on
the original topic (key, payload, ce_* headers intact, triad_dlq_* gone, triad_redriven_from
set), refuses to re-drive it again, re-drives by ce_type and then --all (which skips what was
re-driven already), and ends with every dead letter on the original topic exactly once.

Run: python3 tests/dlq/dlq_tool_test.py   (exit status 0 only when every step passed)
"""
import json
import os
import subprocess
import sys
import time
import unittest
import uuid

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))

import triad_py  # noqa: E402

triad_py.ensure_python(("confluent_kafka",))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from triad_py import events  # noqa: E402

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:19092"
TOOL = os.path.join(SOURCE_DIR, "tools", "triad-dlq")
TYPE_A = "triad.test.tick.ticked.v1"
TYPE_B = "triad.test.tick.tocked.v1"


def run_tool(*args, check=True):
    """Runs triad-dlq; returns the CompletedProcess (stdout/stderr as text)."""
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP)
    r = subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True,
                       env=env, timeout=180)
    if check and r.returncode != 0:
        raise AssertionError("triad-dlq %s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def create_topics(names, partitions):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1)
                                   for n in names], operation_timeout=30)
    for f in futures.values():
        f.result(timeout=60)
    # Wait until the metadata shows every partition with a leader (a poll with a deadline).
    deadline = time.monotonic() + 60
    while True:
        md = admin.list_topics(timeout=10)
        if all(n in md.topics and len(md.topics[n].partitions) == partitions
               and all(p.leader >= 0 for p in md.topics[n].partitions.values()) for n in names):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError("topics %s not ready" % names)
        time.sleep(0.2)


class DlqToolTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        run = uuid.uuid4().hex[:10]
        cls.topic = "triad.test.dlqtool-" + run
        cls.dlq = cls.topic + ".dlq"
        create_topics([cls.topic, cls.dlq], 3)
        # Five dead letters, all in DLQ partition 1 (so their offsets are 0..4 there), as the
        # consumer writes them: the original message plus the triad_dlq_* headers.
        cls.letters = []
        p = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True})
        for i in range(5):
            ce_type = TYPE_A if i % 2 == 0 else TYPE_B
            headers = events.ce_headers(ce_type, "triad/dlq-test", subject="s-%d" % i)
            ce_id = dict(headers)["ce_id"].decode()
            headers += [
                ("triad_dlq_reason", b"INVALID_ARGUMENT: payload does not decode as Ticked"),
                ("triad_dlq_topic", cls.topic.encode()),
                ("triad_dlq_partition", str(i % 3).encode()),
                ("triad_dlq_offset", str(100 + i).encode()),
                ("triad_dlq_group", b"dlq-test-group"),
            ]
            letter = {"key": "key-%d" % i, "value": bytes([0xff, 0x00, i]), "ce_id": ce_id,
                      "ce_type": ce_type, "headers": headers}
            p.produce(cls.dlq, key=letter["key"].encode(), value=letter["value"], partition=1,
                      headers=headers)
            cls.letters.append(letter)
        if p.flush(30) != 0:
            raise RuntimeError("dead letters not delivered")

    def read_original(self, want, timeout=30):
        """The messages of the original topic (all partitions), waiting for at least `want`."""
        reader = events.TopicReader(BOOTSTRAP, [self.topic], start="beginning")
        try:
            deadline = time.monotonic() + timeout
            while len(reader.messages) < want and time.monotonic() < deadline:
                reader.poll(0.5)
            reader.poll(1.0)  # and anything more that is there (a duplicate would show)
            return list(reader.messages)
        finally:
            reader.close()

    def check_copy(self, msg, letter, dlq_offset):
        headers = events.headers_dict(msg)
        self.assertEqual(events.key_of(msg), letter["key"])
        self.assertEqual(msg.value(), letter["value"])
        self.assertEqual(headers.get("ce_id"), letter["ce_id"])
        self.assertEqual(headers.get("ce_type"), letter["ce_type"])
        self.assertEqual(headers.get("ce_source"), "triad/dlq-test")
        self.assertEqual(headers.get("ce_subject"), "s-%d" % dlq_offset)
        self.assertEqual(headers.get("content-type"), events.CONTENT_TYPE)
        self.assertEqual(events.check_ce_headers(headers), [])
        self.assertEqual([k for k in headers if k.startswith("triad_dlq_")], [])
        self.assertEqual(headers.get("triad_redriven_from"), "%s/1/%d" % (self.dlq, dlq_offset))

    def test_list_redrive_and_never_twice(self):
        # list, as JSON: every field of every dead letter.
        listed = json.loads(run_tool("list", "--topic", self.dlq, "--output", "json").stdout)
        self.assertEqual(len(listed), 5)
        for i, (row, letter) in enumerate(zip(listed, self.letters)):
            self.assertEqual(row["partition"], 1)
            self.assertEqual(row["offset"], i)
            self.assertIn("does not decode", row["reason"])
            self.assertEqual(row["original_topic"], self.topic)
            self.assertEqual(row["original_partition"], i % 3)
            self.assertEqual(row["original_offset"], 100 + i)
            self.assertEqual(row["group"], "dlq-test-group")
            self.assertEqual(row["ce_id"], letter["ce_id"])
            self.assertEqual(row["ce_type"], letter["ce_type"])
            self.assertEqual(row["key"], letter["key"])
        limited = json.loads(run_tool("list", "--topic", self.dlq, "--limit", "2", "--output",
                                      "json").stdout)
        self.assertEqual([r["offset"] for r in limited], [0, 1])
        table = run_tool("list", "--topic", self.dlq, "--bootstrap", BOOTSTRAP).stdout
        self.assertIn("CE_TYPE", table)
        self.assertIn(self.letters[3]["ce_id"], table)
        self.assertIn("5 dead letter(s)", table)

        # A dry run publishes nothing.
        out = run_tool("redrive", "--topic", self.dlq, "--offset", "1:2", "--dry-run").stdout
        self.assertIn("would redrive", out)
        self.assertEqual(self.read_original(0, timeout=2), [])

        # Re-drive one by offset; the copy carries the original key, payload and headers.
        out = run_tool("redrive", "--topic", self.dlq, "--offset", "1:2").stdout
        self.assertIn("1 redriven", out)
        copies = self.read_original(1)
        self.assertEqual(len(copies), 1)
        self.check_copy(copies[0], self.letters[2], 2)

        # Naming it again is refused, and nothing is published.
        again = run_tool("redrive", "--topic", self.dlq, "--offset", "2", check=False)
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("already re-driven", again.stderr)
        self.assertEqual(len(self.read_original(1)), 1)

        # By ce_type: the other TYPE_A letters (0 and 4); 2 is skipped as already re-driven.
        out = run_tool("redrive", "--topic", self.dlq, "--type", TYPE_A).stdout
        self.assertIn("2 redriven, 1 skipped", out)
        # --all: the TYPE_B ones (1 and 3) only.
        out = run_tool("redrive", "--topic", self.dlq, "--all").stdout
        self.assertIn("2 redriven, 3 skipped", out)
        out = run_tool("redrive", "--topic", self.dlq, "--all").stdout
        self.assertIn("0 redriven, 5 skipped", out)

        copies = self.read_original(5)
        by_from = {}
        for m in copies:
            by_from.setdefault(events.headers_dict(m)["triad_redriven_from"], []).append(m)
        self.assertEqual(sorted(by_from), ["%s/1/%d" % (self.dlq, i) for i in range(5)])
        for i, letter in enumerate(self.letters):
            self.assertEqual(len(by_from["%s/1/%d" % (self.dlq, i)]), 1, "dead letter %d" % i)
            self.check_copy(by_from["%s/1/%d" % (self.dlq, i)][0], letter, i)

    def test_errors_are_clear_and_non_zero(self):
        r = run_tool("--timeout", "10", "list", "--topic",
                     "triad.test.no-such-" + uuid.uuid4().hex[:8] + ".dlq", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)
        r = run_tool("redrive", "--topic", self.dlq, "--offset", "1:999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no dead letter at 1:999", r.stderr)
        r = run_tool("redrive", "--topic", self.dlq, "--offset", "x", check=False)
        self.assertEqual(r.returncode, 1)
        r = run_tool("list", "--topic", self.topic, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("dead-letter topic", r.stderr)
        r = run_tool("redrive", "--topic", self.dlq, check=False)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
