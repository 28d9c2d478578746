#!/usr/bin/env python3
"""Tests of tests/deploy/check_monitoring.py: each check reports the fault it exists for.

Usage: check_monitoring_test.py PROMTOOL   (run by validate_monitoring.sh)

Works on a copy of deploy/monitoring, tests/deploy/monitoring and the sources of common/ and
services/ in a temporary directory, breaks one thing per test and expects the problem named.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import check_monitoring  # noqa: E402

PROMTOOL = None


class CheckMonitoringTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check-monitoring-test-")
        shutil.copytree(os.path.join(REPO, "deploy", "monitoring"), os.path.join(self.root, "deploy", "monitoring"))
        shutil.copytree(os.path.join(REPO, "tests", "deploy", "monitoring"),
                        os.path.join(self.root, "tests", "deploy", "monitoring"))
        for top in ("common", "services"):
            shutil.copytree(os.path.join(REPO, top), os.path.join(self.root, top),
                            ignore=lambda d, names: [n for n in names if not os.path.isdir(os.path.join(d, n))
                                                     and not n.endswith((".cc", ".h"))])

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def errors(self):
        return "\n".join(check_monitoring.check(self.root, PROMTOOL).errors)

    def edit(self, rel, old, new):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        self.assertIn(old, text, f"{rel} no longer holds {old!r}: update this test")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text.replace(old, new))

    def edit_dashboard(self, change):
        path = os.path.join(self.root, "deploy", "monitoring", "triad-dashboard.json")
        with open(path, encoding="utf-8") as fh:
            dash = json.load(fh)
        change(dash)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(dash, fh)

    def test_the_copy_passes(self):
        self.assertEqual(self.errors(), "")

    def test_a_metric_renamed_in_the_code_fails(self):
        self.edit("common/events/outbox_relay.h", '"triad_outbox_quarantined"', '"triad_outbox_quarantined_rows"')
        errors = self.errors()
        self.assertIn("metric triad_outbox_quarantined is neither exported by the code", errors)
        self.assertIn("rule TriadOutboxQuarantined", errors)

    def test_a_histogram_is_known_by_its_bucket_series_only(self):
        self.edit_dashboard(lambda d: d["panels"][1]["targets"][0].update(expr="grpc_server_handling_seconds"))
        self.assertIn("metric grpc_server_handling_seconds is neither exported", self.errors())

    def test_an_unparsable_dashboard_expression_is_named(self):
        self.edit_dashboard(lambda d: d["panels"][1]["targets"][0].update(expr="sum(rate(up[5m])"))
        errors = self.errors()
        self.assertIn("does not parse: sum(rate(up[5m])", errors)
        self.assertIn("is stale", errors)  # the JSON no longer matches dashboard.py

    def test_an_unparsable_rule_fails_promtool(self):
        self.edit("deploy/monitoring/prometheusrule.yaml", "triad_outbox_quarantined{job=~\"triad-.+\"}) > 0",
                  "triad_outbox_quarantined{job=~\"triad-.+\"}) >")
        self.assertIn("rules: promtool check rules failed", self.errors())

    def test_an_alert_that_no_longer_fires_fails_its_unit_test(self):
        self.edit("deploy/monitoring/prometheusrule.yaml", "> 10000\n", "> 100000\n")
        self.assertIn("alertname: TriadConsumerLagHigh", self.errors())

    def test_grafana_basics(self):
        def break_it(d):
            d["panels"][2]["id"] = d["panels"][1]["id"]
            d["panels"][3]["gridPos"]["x"] = 20
            d["panels"][3]["targets"][0]["expr"] = d["panels"][3]["targets"][0]["expr"].replace(
                "$namespace", "$cluster")
            d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "datasource"]
        self.edit_dashboard(break_it)
        errors = self.errors()
        self.assertIn("duplicate panel id", errors)
        self.assertIn("outside Grafana's 24 columns", errors)
        self.assertIn("uses undefined variable $cluster", errors)
        self.assertIn("needs a variable `datasource`", errors)

    def test_external_metrics_stay_honest(self):
        self.edit("deploy/monitoring/external-metrics.yaml", "up: Prometheus",
                  "triad_made_up: not allowed\nnever_used_metric: x\nup: Prometheus")
        errors = self.errors()
        self.assertIn("triad_made_up has a Triad prefix", errors)
        self.assertIn("never_used_metric is used by no panel or rule", errors)

    def test_metric_names(self):
        names = check_monitoring.metric_names(
            'sum by (job, le) (rate(a_total{x="rate(b)", y=~"c|d"}[5m])) / on(job) group_left(pod) '
            'max without (z) (b_gauge offset 5m) and histogram_quantile(0.9, c_bucket) > bool 0')
        self.assertEqual(names, {"a_total", "b_gauge", "c_bucket"})


if __name__ == "__main__":
    PROMTOOL = sys.argv.pop(1)
    unittest.main(verbosity=2)
