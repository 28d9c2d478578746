#!/usr/bin/env python3
"""Generates the documents that describe Triad's events from the contracts registry.

The registry (common/contracts, printed as JSON by the contracts_dump tool) is the one place
where topics, ce_types and payload messages are declared. This script renders from it:

  * docs/asyncapi.yaml                          AsyncAPI 3.0: channels, messages, operations;
  * deploy/k8s/base/kafka-topics/topics.yaml    a Strimzi KafkaTopic per topic and per .dlq;
  * deploy/k8s/base/kafka-users/users.yaml      a Strimzi KafkaUser per service with its ACLs
                                                (kafka_users.py);
  * docs/events.md, between the GENERATED markers, the tables of topics and event types.

and checks that no source under services/ or tools/ spells a topic or ce_type the registry does
not declare (a literal copied by hand that drifted, or an event nobody declared).

Usage:
  generate.py --dump BUILD/tools/contracts/contracts_dump            # rewrite the documents
  generate.py --dump BUILD/tools/contracts/contracts_dump --check    # fail on any difference
  generate.py --registry registry.json [--check]                     # registry JSON from a file
--root names the repository (default: two directories above this script).
Exit status: 0 when everything matches (or was written), 1 on a difference or a bad literal.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_users import USERS_PATH, users_yaml  # noqa: E402

# Deployment settings of every topic (the KafkaTopic resources and the AsyncAPI Kafka bindings).
# PARTITIONS must equal TRIAD_TOPIC_PARTITIONS in deploy/k8s/base/kustomization.yaml.
PARTITIONS = 6
REPLICAS = 3
MIN_INSYNC_REPLICAS = 2
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000  # dead letters keep 30 days
RETENTION_MS = {"forever": -1}  # retention class of the registry -> retention.ms
KAFKA_BINDING_VERSION = "0.5.0"

ASYNCAPI_PATH = "docs/asyncapi.yaml"
TOPICS_PATH = "deploy/k8s/base/kafka-topics/topics.yaml"
EVENTS_MD_PATH = "docs/events.md"
BEGIN_MARKER = "<!-- BEGIN GENERATED: contracts tables (tools/contracts/generate.py) -->"
END_MARKER = "<!-- END GENERATED: contracts tables -->"

# Literals that look like ce_types but are deliberately not declared: tests feeding a consumer
# event types it must skip.
UNDECLARED_ON_PURPOSE = {
    "triad.clients.client.deleted.v9",
    "triad.review.request.unknown.v1",
}
# Service segments of test fixtures (triad.test.tick, triad.bench.tick), which are no contract.
FIXTURE_SERVICES = {"bench", "rtest", "test"}
# Where the literal check looks (relative to the root), and which files it reads there; the
# tests of this script spell undeclared names on purpose.
SCANNED_DIRS = ("services", "tools", "bench")
SKIPPED_FILES = ("tools/contracts/generate_test.py",)
SCANNED_SUFFIXES = (".h", ".cc", ".py", ".md", ".sh")
TYPE_LITERAL = re.compile(r"[\"'`](triad\.[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+\.v[0-9]+)[\"'`]")
TOPIC_LITERAL = re.compile(r"[\"'`](triad\.[a-z0-9_]+\.[a-z0-9_]+)[\"'`]")
PROTO_PACKAGE = re.compile(r"^triad\.[a-z0-9_]+\.v[0-9]+$")
# The declarations in the contract headers (checked against the registry, so an event declared
# but left out of its header's Events list is caught).
HEADER_TYPE = re.compile(r'kType\s*=\s*"([^"]+)"')
HEADER_TOPIC = re.compile(r'kName\s*=\s*"([^"]+)"')


# ------------------------------------------------------------------------------- YAML output

PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./\-]*$")
YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value):
    """One YAML scalar: plain when unambiguous, else a JSON (= YAML double-quoted) string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    s = str(value)
    if PLAIN.match(s) and s.lower() not in YAML_WORDS:
        return s
    return json.dumps(s, ensure_ascii=False)


def key(k):
    return scalar(k)


def emit(value, indent=0):
    """Block-style YAML of nested dicts/lists/scalars, keys in insertion order."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key(k)}:")
                lines.extend(emit(v, indent + 2))
            elif isinstance(v, dict):
                lines.append(f"{pad}{key(k)}: {{}}")
            elif isinstance(v, list):
                lines.append(f"{pad}{key(k)}: []")
            else:
                lines.append(f"{pad}{key(k)}: {scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = emit(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {scalar(item)}")
    else:
        lines.append(pad + scalar(value))
    return lines


# ------------------------------------------------------------------------------ the registry


def load_registry(args):
    if args.registry:
        with open(args.registry, encoding="utf-8") as f:
            return json.load(f)
    out = subprocess.run([args.dump], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def proto_file(message):
    """triad.pipeline.v1.OpportunityWon -> triad/pipeline/v1/events.proto."""
    package = message.rsplit(".", 1)[0]
    return package.replace(".", "/") + "/events.proto"


def readers(names):
    return ", ".join(names) if names else "(no consumer yet)"


# ---------------------------------------------------------------------------------- AsyncAPI


def asyncapi(reg):
    events_of = {t["name"]: [e for e in reg["events"] if e["topic"] == t["name"]]
                 for t in reg["topics"]}

    def msg_key(e):
        return f"{e['event']}.v{e['version']}"

    channels = {}
    for t in reg["topics"]:
        channels[t["name"]] = {
            "address": t["name"],
            "title": t["name"],
            "description": (f"Events of one {t['aggregate']}, key = {t['key']}; written by "
                            f"{t['producer']}, read by {readers(t['consumers'])}. Dead letters "
                            f"go to {t['dlq']}."),
            "messages": {msg_key(e): {"$ref": f"#/components/messages/{e['type']}"}
                         for e in events_of[t["name"]]},
            "bindings": {"kafka": {
                "topic": t["name"],
                "partitions": PARTITIONS,
                "replicas": REPLICAS,
                "topicConfiguration": {
                    "cleanup.policy": ["delete"],
                    "retention.ms": RETENTION_MS[t["retention"]],
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }},
        }

    operations = {}
    for t in reg["topics"]:
        evs = events_of[t["name"]]
        chan = {"$ref": f"#/channels/{t['name']}"}

        def refs(selected, t=t):
            return [{"$ref": f"#/channels/{t['name']}/messages/{msg_key(e)}"} for e in selected]

        operations[f"{t['producer']}.send.{t['name']}"] = {
            "action": "send",
            "channel": chan,
            "title": f"{t['producer']} publishes {t['name']}",
            "summary": f"The {t['producer']} service writes these events through its outbox.",
            "messages": refs(evs),
        }
        for consumer in t["consumers"]:
            handled = [e for e in evs if consumer in e["consumers"]]
            operations[f"{consumer}.receive.{t['name']}"] = {
                "action": "receive",
                "channel": chan,
                "title": f"{consumer} consumes {t['name']}",
                "summary": (f"The {consumer} service handles these events (consumer group "
                            f"triad-{consumer}) and skips the topic's other types."),
                "messages": refs(handled),
                "bindings": {"kafka": {
                    "groupId": {"type": "string", "enum": [f"triad-{consumer}"]},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }},
            }

    headers = {
        "type": "object",
        "description": ("CloudEvents Kafka protocol binding, binary content mode: the event's "
                        "attributes are Kafka headers, the value is the payload."),
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time",
                     "content-type"],
        "properties": {
            "ce_specversion": {"type": "string", "const": reg["spec_version"]},
            "ce_id": {"type": "string", "format": "uuid",
                      "description": "A random UUID (v4), unique per event; consumers dedupe on it."},
            "ce_type": {"type": "string",
                        "description": "triad.<service>.<aggregate>.<event>.v<N>"},
            "ce_source": {"type": "string", "description": "triad/<service>"},
            "ce_time": {"type": "string", "format": "date-time",
                        "description": "RFC 3339 UTC with microseconds: the commit time of the "
                                       "state change."},
            "ce_subject": {"type": "string", "description": "Optional."},
            "ce_dataschema": {"type": "string",
                              "description": (f"{reg['data_schema_prefix']}<full protobuf message "
                                              "name> of the payload.")},
            "content-type": {"type": "string", "const": reg["content_type"]},
        },
    }
    assert set(headers["properties"]) == set(reg["headers"]), reg["headers"]

    schemas = {"CloudEventsKafkaHeaders": headers}
    for e in reg["events"]:
        schemas.setdefault(e["message"], {
            "type": "string",
            "format": "binary",
            "description": (f"The serialized protobuf message {e['message']} "
                            f"(proto/{proto_file(e['message'])})."),
            "x-protobuf-message": e["message"],
        })

    key_of = {t["name"]: t["key"] for t in reg["topics"]}
    messages = {}
    for e in reg["events"]:
        messages[e["type"]] = {
            "name": e["type"],
            "title": e["message"].rsplit(".", 1)[1],
            "summary": e["summary"][0].upper() + e["summary"][1:] + ".",
            "description": (f"Published by {e['producer']} on {e['topic']}; handled by "
                            f"{readers(e['consumers'])}."),
            "contentType": reg["content_type"],
            "headers": {"allOf": [
                {"$ref": "#/components/schemas/CloudEventsKafkaHeaders"},
                {"type": "object", "properties": {
                    "ce_type": {"const": e["type"]},
                    "ce_source": {"const": f"triad/{e['producer']}"},
                    "ce_dataschema": {"const": e["data_schema"]},
                }},
            ]},
            "payload": {"$ref": f"#/components/schemas/{e['message']}"},
            "bindings": {"kafka": {
                "key": {"type": "string", "description": key_of[e["topic"]]},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }},
        }

    doc = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Triad events",
            "version": "1.0.0",
            "description": (
                "Every event the Triad services publish on Kafka. Generated by "
                "tools/contracts/generate.py from the contracts registry (common/contracts); "
                "do not edit by hand. Each message is a CloudEvent in the Kafka binary mode: "
                "the attributes are headers, the key is the aggregate id, the value is the "
                "serialized protobuf message named by ce_dataschema (proto/ holds the schemas)."),
        },
        "defaultContentType": reg["content_type"],
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
    head = ["# Triad events as AsyncAPI 3.0. Generated by tools/contracts/generate.py from the",
            "# contracts registry (common/contracts); edit the registry, then run",
            "# `tools/contracts/generate.py --dump build/tools/contracts/contracts_dump`."]
    return "\n".join(head + emit(doc)) + "\n"


# ---------------------------------------------------------------------------------- topics.yaml

TOPICS_HEAD = """\
# Generated by tools/contracts/generate.py from the contracts registry (common/contracts): one
# KafkaTopic per topic a service writes, each with its .dlq companion. Edit the registry, not
# this file; the contracts_artifacts_test fails when the two differ.
#
# Event topics keep their events forever (retention.ms -1): the topics are the record every
# read model is rebuilt from (docs/architecture.md, "Rebuildable"). Dead-letter topics keep 30
# days. partitions must equal TRIAD_TOPIC_PARTITIONS (base/kustomization.yaml): a service
# creates any topic still missing at start with that many partitions but replication factor 1,
# so apply and wait for these before starting the services in a multi-broker cluster.
"""


def kafka_topic(name, description, retention_ms):
    return f"""---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaTopic
metadata:
  name: {name}
  labels:
    strimzi.io/cluster: triad-kafka
    app.kubernetes.io/component: kafka-topic
  annotations:
    triad.io/description: {json.dumps(description)}
spec:
  topicName: {name}
  partitions: {PARTITIONS}
  replicas: {REPLICAS}
  config:
    cleanup.policy: delete
    retention.ms: {retention_ms}
    min.insync.replicas: {MIN_INSYNC_REPLICAS}
"""


def topics_yaml(reg):
    parts = [TOPICS_HEAD]
    for t in reg["topics"]:
        parts.append(kafka_topic(
            t["name"],
            f"events of one aggregate, key = {t['key']}; written by {t['producer']}, "
            f"read by {readers(t['consumers'])}",
            RETENTION_MS[t["retention"]]))
        parts.append(kafka_topic(
            t["dlq"],
            f"dead letters of {t['name']} (reason in header triad_dlq_reason), written by the "
            f"consumers of {t['name']}",
            DLQ_RETENTION_MS))
    return "".join(parts)


# ------------------------------------------------------------------------------------ events.md


def events_tables(reg):
    lines = [BEGIN_MARKER,
             "<!-- Generated from the contracts registry (common/contracts); edit the registry,",
             "     then run tools/contracts/generate.py. -->",
             "",
             "| topic | key | producer | consumers | retention |",
             "| --- | --- | --- | --- | --- |"]
    for t in reg["topics"]:
        lines.append(f"| `{t['name']}` | {t['key']} | {t['producer']} | "
                     f"{', '.join(t['consumers']) or '—'} | {t['retention']} |")
    lines += ["",
              "| `ce_type` | payload (`ce_dataschema` = `proto:` + name) | consumers | meaning |",
              "| --- | --- | --- | --- |"]
    for e in reg["events"]:
        lines.append(f"| `{e['type']}` | `{e['message']}` | "
                     f"{', '.join(e['consumers']) or '—'} | {e['summary']} |")
    lines.append(END_MARKER)
    return "\n".join(lines)


def events_md(current, reg):
    begin = current.find(BEGIN_MARKER)
    end = current.find(END_MARKER)
    if begin < 0 or end < begin:
        raise SystemExit(f"{EVENTS_MD_PATH}: the markers {BEGIN_MARKER!r} and {END_MARKER!r} "
                         "are missing")
    return current[:begin] + events_tables(reg) + current[end + len(END_MARKER):]


# ------------------------------------------------------------------------------ literal check


def check_literals(root, reg):
    """Problems: topic / ce_type literals under SCANNED_DIRS that the registry does not declare,
    and declarations in common/contracts/*.h missing from the registry."""
    types = {e["type"] for e in reg["events"]}
    topics = {t["name"] for t in reg["topics"]}
    problems = []
    for d in SCANNED_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith(SCANNED_SUFFIXES):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if rel in SKIPPED_FILES:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        for lit in TYPE_LITERAL.findall(line):
                            if lit.split(".")[1] in FIXTURE_SERVICES:
                                continue
                            if lit not in types and lit not in UNDECLARED_ON_PURPOSE:
                                problems.append(f"{rel}:{n}: ce_type {lit} is not declared in "
                                                "common/contracts")
                        for lit in TOPIC_LITERAL.findall(line):
                            if lit.split(".")[1] in FIXTURE_SERVICES:
                                continue
                            if lit not in topics and not PROTO_PACKAGE.match(lit):
                                problems.append(f"{rel}:{n}: topic {lit} is not declared in "
                                                "common/contracts")
    cdir = os.path.join(root, "common", "contracts")
    for f in sorted(os.listdir(cdir)):
        if not f.endswith(".h"):
            continue
        with open(os.path.join(cdir, f), encoding="utf-8") as fh:
            text = fh.read()
        for lit in HEADER_TYPE.findall(text):
            if lit not in types:
                problems.append(f"common/contracts/{f}: {lit} is declared but not in the "
                                "registry (add it to the header's Events list)")
        for lit in HEADER_TOPIC.findall(text):
            if lit not in topics:
                problems.append(f"common/contracts/{f}: {lit} is declared but not in the "
                                "registry (add it to the header's Topics list)")
    return problems


# ------------------------------------------------------------------------------------------ main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--dump", help="path of the contracts_dump binary")
    src.add_argument("--registry", help="registry JSON (contracts_dump output)")
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a document differs")
    args = parser.parse_args()
    reg = load_registry(args)
    root = args.root

    def read(rel):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()

    wanted = {
        ASYNCAPI_PATH: asyncapi(reg),
        TOPICS_PATH: topics_yaml(reg),
        USERS_PATH: users_yaml(reg),
        EVENTS_MD_PATH: events_md(read(EVENTS_MD_PATH), reg),
    }
    failed = False
    for rel, text in wanted.items():
        path = os.path.join(root, rel)
        current = read(rel) if os.path.exists(path) else ""
        if current == text:
            continue
        if args.check:
            failed = True
            print(f"{rel} differs from what the contracts registry produces "
                  "(run tools/contracts/generate.py):", file=sys.stderr)
            sys.stderr.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), f"{rel} (committed)",
                f"{rel} (generated)", n=1))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {rel}", file=sys.stderr)
    problems = check_literals(root, reg)
    for p in problems:
        print(p, file=sys.stderr)
    if failed or problems:
        return 1
    print(f"contracts: {len(reg['topics'])} topics, {len(reg['events'])} event types; "
          "documents match" if args.check else "contracts: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
