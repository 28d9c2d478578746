#!/usr/bin/env python3
"""Tests of manifest_security.py: the rendered prod overlay passes, and each kind of weakening
is caught (a KafkaUser writing another service's topic or reading one it does not consume, a
wildcard ACL, a missing NetworkPolicy, an open ingress rule, egress beyond Kafka and DNS, a
secret file off a Secret volume, plaintext Kafka, reflection on in prod).

Usage: manifest_security_test.py RENDERED_PROD.yaml REGISTRY.json
"""

import copy
import json
import os
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from manifest_common import Problems  # noqa: E402
from manifest_security import check_security  # noqa: E402

OBJECTS = None
REGISTRY = None


def run(objects, hardened=True):
    p = Problems("test")
    sts = [o for o in objects if o.get("kind") == "StatefulSet"]
    cms = {o["metadata"]["name"]: (o.get("data") or {}) for o in objects if o.get("kind") == "ConfigMap"}
    check_security(p, objects, sts, cms, REGISTRY, hardened)
    return p.errors


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


class ManifestSecurityTest(unittest.TestCase):
    def setUp(self):
        self.objects = copy.deepcopy(OBJECTS)

    def assertCaught(self, needle):
        errors = run(self.objects)
        self.assertTrue(any(needle in e for e in errors), f"{needle!r} not in {errors}")

    def test_the_rendered_overlay_passes(self):
        self.assertEqual(run(self.objects), [])

    def test_writing_another_services_topic_is_caught(self):
        user = find(self.objects, "KafkaUser", "triad-clients")
        user["spec"]["authorization"]["acls"].append({
            "resource": {"type": "topic", "name": "triad.pipeline.opportunity", "patternType": "literal"},
            "operations": ["Write"]})
        self.assertCaught("may write triad.pipeline.opportunity")
        self.assertCaught("it belongs to pipeline")

    def test_reading_a_topic_not_consumed_is_caught(self):
        user = find(self.objects, "KafkaUser", "triad-review")
        user["spec"]["authorization"]["acls"].append({
            "resource": {"type": "topic", "name": "triad.clients.case", "patternType": "literal"},
            "operations": ["Read"]})
        self.assertCaught("may read triad.clients.case")

    def test_a_missing_acl_is_caught(self):
        user = find(self.objects, "KafkaUser", "triad-production")
        user["spec"]["authorization"]["acls"] = [
            a for a in user["spec"]["authorization"]["acls"] if a["resource"]["type"] != "group"]
        self.assertCaught("ACL on group triad-production")

    def test_wildcards_and_cluster_acls_are_caught(self):
        user = find(self.objects, "KafkaUser", "triad-clients")
        user["spec"]["authorization"]["acls"].append({
            "resource": {"type": "topic", "name": "triad.", "patternType": "prefix"}, "operations": ["Read"]})
        self.assertCaught("only literal names")
        user["spec"]["authorization"]["acls"].append({"resource": {"type": "cluster"}, "operations": ["Alter"]})
        self.assertCaught("ACL on the cluster")

    def test_a_service_without_its_user_is_caught(self):
        self.objects = [o for o in self.objects
                        if not (o["kind"] == "KafkaUser" and o["metadata"]["name"] == "triad-review")]
        self.assertCaught("no KafkaUser triad-review")

    def test_missing_or_open_network_policies_are_caught(self):
        pol = find(self.objects, "NetworkPolicy", "triad-pipeline")
        pol["spec"]["ingress"][0].pop("from")
        self.assertCaught("without `from` admits everyone")
        pol["spec"]["ingress"][1]["from"] = [{"podSelector": {}}]
        self.assertCaught("metrics port may be reached only from the monitoring namespace")
        pol["spec"]["egress"].append({"ports": [{"port": 443}], "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
        self.assertCaught("egress to port 443")
        self.objects.remove(pol)
        self.assertCaught("no NetworkPolicy restricts its pods' ingress")

    def test_secret_files_must_be_on_read_only_secret_volumes(self):
        sts = find(self.objects, "StatefulSet", "triad-clients")
        c = sts["spec"]["template"]["spec"]["containers"][0]
        c["env"].append({"name": "TRIAD_KAFKA_SASL_PASSWORD_FILE", "value": "/tmp/pw"})
        self.assertCaught("is on volume tmp, not a Secret")
        c["env"].append({"name": "TRIAD_KAFKA_SASL_PASSWORD", "value": "hunter2"})
        self.assertCaught("TRIAD_KAFKA_SASL_PASSWORD carries a literal value")
        for m in c["volumeMounts"]:
            m.pop("readOnly", None)
        self.assertCaught("must be mounted readOnly")

    def test_plaintext_and_reflection_are_caught(self):
        for o in self.objects:
            if o["kind"] == "ConfigMap" and "TRIAD_KAFKA_SECURITY_PROTOCOL" in (o.get("data") or {}):
                o["data"]["TRIAD_KAFKA_SECURITY_PROTOCOL"] = "plaintext"
                o["data"]["TRIAD_GRPC_REFLECTION"] = "true"
        self.assertCaught("Kafka must be reached over TLS")
        self.assertCaught("TRIAD_GRPC_REFLECTION must be false")


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        OBJECTS = [o for o in yaml.safe_load_all(f) if o]
    with open(sys.argv[2], encoding="utf-8") as f:
        REGISTRY = json.load(f)
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
