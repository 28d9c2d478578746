#!/usr/bin/env python3
"""Tests of generate.py --check: it passes on the committed documents and fails on each kind of
drift (an edited document, an undeclared literal in a service, a declaration missing from the
registry), on a copy of the repository's relevant files in a temporary directory.

Usage: generate_test.py CONTRACTS_DUMP_BINARY [unittest options]
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GENERATE = os.path.join(HERE, "generate.py")
COPIED = ["docs/asyncapi.yaml", "docs/events.md", "deploy/k8s/base/kafka-topics/topics.yaml",
          "deploy/k8s/base/kafka-users/users.yaml"]
DUMP = None  # set by main


class GenerateCheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="contracts-test-")
        cls.registry = os.path.join(cls.tmp, "registry.json")
        with open(cls.registry, "w", encoding="utf-8") as f:
            f.write(subprocess.run([DUMP], check=True, capture_output=True, text=True).stdout)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.root = tempfile.mkdtemp(dir=self.tmp)
        for rel in COPIED:
            os.makedirs(os.path.dirname(os.path.join(self.root, rel)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, rel), os.path.join(self.root, rel))
        shutil.copytree(os.path.join(ROOT, "common/contracts"),
                        os.path.join(self.root, "common/contracts"))
        os.makedirs(os.path.join(self.root, "services/svc"))

    def check(self):
        p = subprocess.run([sys.executable, GENERATE, "--check", "--registry", self.registry,
                            "--root", self.root], capture_output=True, text=True)
        return p.returncode, p.stderr

    def edit(self, rel, old, new):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def write(self, rel, text):
        with open(os.path.join(self.root, rel), "w", encoding="utf-8") as f:
            f.write(text)

    def test_committed_documents_pass(self):
        code, err = self.check()
        self.assertEqual(code, 0, err)

    def test_edited_asyncapi_fails(self):
        self.edit("docs/asyncapi.yaml", "triad.pipeline.opportunity.won.v1",
                  "triad.pipeline.opportunity.wonn.v1")
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("docs/asyncapi.yaml differs", err)

    def test_topic_missing_from_topics_yaml_fails(self):
        self.edit("deploy/k8s/base/kafka-topics/topics.yaml", "name: triad.review.request\n",
                  "name: triad.review.requests\n")
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("topics.yaml differs", err)

    def test_events_md_table_is_checked_but_prose_is_free(self):
        self.edit("docs/events.md", "# Events", "# Events (hand-written prose may change)")
        code, err = self.check()
        self.assertEqual(code, 0, err)
        self.edit("docs/events.md", "| `triad.clients.client.merged.v1` |",
                  "| `triad.clients.client.merged.v2` |")
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("docs/events.md differs", err)

    def test_missing_markers_fail(self):
        self.edit("docs/events.md", "<!-- END GENERATED: contracts tables -->", "")
        code, err = self.check()
        self.assertNotEqual(code, 0)
        self.assertIn("markers", err)

    def test_undeclared_type_literal_in_a_service_fails(self):
        self.write("services/svc/a.cc",
                   'constexpr char kWon[] = "triad.pipeline.opportunity.won.v1";\n')
        code, err = self.check()
        self.assertEqual(code, 0, err)
        self.write("services/svc/b.cc",
                   'constexpr char kWon[] = "triad.pipeline.opportunity.closed_won.v1";\n')
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("services/svc/b.cc:1: ce_type triad.pipeline.opportunity.closed_won.v1", err)

    def test_undeclared_topic_literal_in_a_service_fails(self):
        self.write("services/svc/a.h", 'inline constexpr char kT[] = "triad.review.requests";\n')
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("topic triad.review.requests is not declared", err)

    def test_declaration_left_out_of_the_registry_fails(self):
        with open(os.path.join(self.root, "common/contracts/review.h"), "a",
                  encoding="utf-8") as f:
            f.write('struct X { static constexpr std::string_view kType = '
                    '"triad.review.request.withdrawn.v1"; };\n')
        code, err = self.check()
        self.assertEqual(code, 1)
        self.assertIn("triad.review.request.withdrawn.v1 is declared but not in the registry", err)


if __name__ == "__main__":
    DUMP = sys.argv.pop(1)
    unittest.main()
