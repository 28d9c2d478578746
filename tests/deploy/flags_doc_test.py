#!/usr/bin/env python3
"""Tests of tests/deploy/flags_doc.py: the flag table check catches a missing, a stale and a
changed row. Usage: flags_doc_test.py BUILD_DIR (run by ctest operations_doc_test).

The source part runs on a copy of common/ and services/ with a flag added; the --helpfull part
only when the service binaries are built in BUILD_DIR.
"""

import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flags_doc  # noqa: E402

BUILD_DIR = None


class FlagsDocTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(flags_doc.DOC, encoding="utf-8") as fh:
            cls.doc = fh.read()

    def test_the_doc_is_current(self):
        errors, _ = flags_doc.check(self.doc, flags_doc.ROOT, BUILD_DIR)
        self.assertEqual(errors, [])

    def test_a_missing_row_fails(self):
        row = next(line for line in self.doc.splitlines() if line.startswith("| `--sync_writes` |"))
        errors, _ = flags_doc.check(self.doc.replace(row + "\n", ""), flags_doc.ROOT, "/nonexistent")
        self.assertIn("--sync_writes (defined in common) is not in the flag table of docs/operations.md", errors)

    def test_a_row_of_a_removed_flag_fails(self):
        doc = self.doc.replace("<!-- END GENERATED FLAGS -->",
                               "| `--gone_flag` | `TRIAD_GONE_FLAG` | `0` | all | x |\n<!-- END GENERATED FLAGS -->")
        errors, _ = flags_doc.check(doc, flags_doc.ROOT, "/nonexistent")
        self.assertIn("--gone_flag is in docs/operations.md but no service defines it", errors)

    def test_a_flag_added_to_a_service_fails(self):
        root = tempfile.mkdtemp(prefix="flags-doc-test-")
        try:
            for top in ("common", "services"):
                shutil.copytree(os.path.join(flags_doc.ROOT, top), os.path.join(root, top),
                                ignore=shutil.ignore_patterns("*.md", "*.txt", "*.proto"))
            with open(os.path.join(root, "services", "review", "main.cc"), "a", encoding="utf-8") as fh:
                fh.write('\nABSL_FLAG(int32_t, new_review_knob, 3, "A new knob.");\n')
            errors, _ = flags_doc.check(self.doc, root, "/nonexistent")
            self.assertIn("--new_review_knob (defined in review) is not in the flag table of docs/operations.md",
                          errors)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def test_a_changed_default_fails_when_built(self):
        if flags_doc.render(flags_doc.ROOT, BUILD_DIR) is None:
            self.skipTest(f"service binaries not built in {BUILD_DIR}")
        doc = self.doc.replace("| `--topic_partitions` | `TRIAD_TOPIC_PARTITIONS` | `6` |",
                               "| `--topic_partitions` | `TRIAD_TOPIC_PARTITIONS` | `12` |")
        self.assertNotEqual(doc, self.doc)
        errors, _ = flags_doc.check(doc, flags_doc.ROOT, BUILD_DIR)
        self.assertIn("the flag table of docs/operations.md differs from the binaries' --helpfull", errors)


if __name__ == "__main__":
    BUILD_DIR = sys.argv.pop(1)
    unittest.main(verbosity=2)
