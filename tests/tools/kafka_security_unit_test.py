#!/usr/bin/env python3
"""Tests of tools/triad_py/kafka_security.py: the TRIAD_KAFKA_* settings become the same
confluent_kafka properties the services use, and every misfit is refused naming the variable,
never showing a secret."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from triad_py.kafka_security import KafkaSecurityError, security_config  # noqa: E402


class KafkaSecurityTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.pw = os.path.join(self.dir, "pw")
        with open(self.pw, "w", encoding="utf-8") as f:
            f.write("hunter2\n")
        self.ca = os.path.join(self.dir, "ca.pem")
        with open(self.ca, "w", encoding="utf-8") as f:
            f.write("-----BEGIN CERTIFICATE-----\n")

    def refused(self, env, needle):
        with self.assertRaises(KafkaSecurityError) as cm:
            security_config(env)
        self.assertIn(needle, str(cm.exception))
        self.assertNotIn("hunter2", str(cm.exception))

    def test_plaintext_by_default(self):
        self.assertEqual(security_config({}), {})

    def test_sasl_ssl_with_the_password_from_a_file_or_the_environment(self):
        env = {"TRIAD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "TRIAD_KAFKA_SASL_MECHANISM": "plain",
               "TRIAD_KAFKA_SASL_USERNAME": "triad", "TRIAD_KAFKA_SASL_PASSWORD_FILE": self.pw,
               "TRIAD_KAFKA_SSL_CA_FILE": self.ca}
        conf = security_config(env)
        self.assertEqual(conf["security.protocol"], "sasl_ssl")
        self.assertEqual(conf["sasl.mechanism"], "PLAIN")
        self.assertEqual(conf["sasl.password"], "hunter2")
        self.assertEqual(conf["ssl.ca.location"], self.ca)
        self.assertEqual(conf["ssl.endpoint.identification.algorithm"], "https")
        del env["TRIAD_KAFKA_SASL_PASSWORD_FILE"]
        env["TRIAD_KAFKA_SASL_PASSWORD"] = "from-env"
        self.assertEqual(security_config(env)["sasl.password"], "from-env")

    def test_misfits_are_refused_naming_the_variable(self):
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "tls"}, "TRIAD_KAFKA_SECURITY_PROTOCOL")
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "TRIAD_KAFKA_SASL_MECHANISM": "GSSAPI"},
                     "TRIAD_KAFKA_SASL_MECHANISM")
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "TRIAD_KAFKA_SASL_MECHANISM": "PLAIN",
                      "TRIAD_KAFKA_SASL_PASSWORD_FILE": self.pw}, "TRIAD_KAFKA_SASL_USERNAME")
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "TRIAD_KAFKA_SASL_MECHANISM": "PLAIN",
                      "TRIAD_KAFKA_SASL_USERNAME": "u"}, "TRIAD_KAFKA_SASL_PASSWORD_FILE")
        self.refused({"TRIAD_KAFKA_SASL_USERNAME": "u"}, "need TRIAD_KAFKA_SECURITY_PROTOCOL")
        self.refused({"TRIAD_KAFKA_SSL_CA_FILE": self.ca}, "TRIAD_KAFKA_SSL_CA_FILE needs")
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "ssl", "TRIAD_KAFKA_SSL_CERT_FILE": self.ca},
                     "go together")
        self.refused({"TRIAD_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "TRIAD_KAFKA_SASL_MECHANISM": "PLAIN",
                      "TRIAD_KAFKA_SASL_USERNAME": "u",
                      "TRIAD_KAFKA_SASL_PASSWORD_FILE": os.path.join(self.dir, "missing")},
                     "cannot read")


if __name__ == "__main__":
    unittest.main()
