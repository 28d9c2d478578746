"""Kafka client security for Triad's Python tools (triad-dlq, the event helpers): the same
settings as the services' flags, read from the same environment variables (TRIAD_<FLAG>), turned
into confluent_kafka properties.

  TRIAD_KAFKA_SECURITY_PROTOCOL   plaintext | ssl | sasl_plaintext | sasl_ssl
  TRIAD_KAFKA_SSL_CA_FILE, TRIAD_KAFKA_SSL_CERT_FILE, TRIAD_KAFKA_SSL_KEY_FILE,
  TRIAD_KAFKA_SSL_KEY_PASSWORD_FILE
  TRIAD_KAFKA_SASL_MECHANISM      PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
  TRIAD_KAFKA_SASL_USERNAME
  TRIAD_KAFKA_SASL_PASSWORD_FILE  (else TRIAD_KAFKA_SASL_PASSWORD)

`scripts/kafka-local.sh secure-env` prints these for the local SASL_SSL listener. Secrets come
from files or the environment only and never appear in an error.
"""
import os

PROTOCOLS = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSecurityError(ValueError):
    """A security setting that does not fit; the message names the variable."""


def _secret(path, var):
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().rstrip("\r\n")
    except OSError as e:
        raise KafkaSecurityError("%s: cannot read %s (%s)" % (var, path, e.strerror)) from None
    if not value:
        raise KafkaSecurityError("%s: %s is empty" % (var, path))
    return value


def security_config(environ=None):
    """security_config returns the confluent_kafka properties of the TRIAD_KAFKA_* settings in
    `environ` (default os.environ); {} for plaintext. Raises KafkaSecurityError."""
    env = os.environ if environ is None else environ

    def get(name):
        return env.get("TRIAD_KAFKA_" + name, "").strip()

    protocol = get("SECURITY_PROTOCOL").lower()
    if protocol and protocol not in PROTOCOLS:
        raise KafkaSecurityError("TRIAD_KAFKA_SECURITY_PROTOCOL=%s is not one of %s"
                                 % (protocol, ", ".join(PROTOCOLS)))
    conf = {}
    if protocol:
        conf["security.protocol"] = protocol
    sasl = protocol.startswith("sasl_")
    tls = protocol in ("ssl", "sasl_ssl")
    if sasl:
        mechanism = get("SASL_MECHANISM").upper()
        if mechanism not in MECHANISMS:
            raise KafkaSecurityError("TRIAD_KAFKA_SASL_MECHANISM=%s is not one of %s"
                                     % (mechanism, ", ".join(MECHANISMS)))
        user = get("SASL_USERNAME")
        if not user:
            raise KafkaSecurityError("TRIAD_KAFKA_SASL_USERNAME is required with " + protocol)
        if get("SASL_PASSWORD_FILE"):
            password = _secret(get("SASL_PASSWORD_FILE"), "TRIAD_KAFKA_SASL_PASSWORD_FILE")
        elif env.get("TRIAD_KAFKA_SASL_PASSWORD"):
            password = env["TRIAD_KAFKA_SASL_PASSWORD"]
        else:
            raise KafkaSecurityError("TRIAD_KAFKA_SASL_PASSWORD_FILE (or TRIAD_KAFKA_SASL_PASSWORD) "
                                     "is required with " + protocol)
        conf.update({"sasl.mechanism": mechanism, "sasl.username": user,
                     "sasl.password": password})
    elif get("SASL_USERNAME") or get("SASL_MECHANISM") or get("SASL_PASSWORD_FILE"):
        raise KafkaSecurityError("TRIAD_KAFKA_SASL_* settings need TRIAD_KAFKA_SECURITY_PROTOCOL="
                                 "sasl_ssl (or sasl_plaintext)")
    files = {"SSL_CA_FILE": "ssl.ca.location", "SSL_CERT_FILE": "ssl.certificate.location",
             "SSL_KEY_FILE": "ssl.key.location"}
    for name, prop in files.items():
        if not get(name):
            continue
        if not tls:
            raise KafkaSecurityError("TRIAD_KAFKA_%s needs TRIAD_KAFKA_SECURITY_PROTOCOL=ssl or "
                                     "sasl_ssl" % name)
        if not os.access(get(name), os.R_OK):
            raise KafkaSecurityError("TRIAD_KAFKA_%s: cannot read %s" % (name, get(name)))
        conf[prop] = get(name)
    if bool(get("SSL_CERT_FILE")) != bool(get("SSL_KEY_FILE")):
        raise KafkaSecurityError("TRIAD_KAFKA_SSL_CERT_FILE and TRIAD_KAFKA_SSL_KEY_FILE go together")
    if get("SSL_KEY_PASSWORD_FILE"):
        conf["ssl.key.password"] = _secret(get("SSL_KEY_PASSWORD_FILE"),
                                           "TRIAD_KAFKA_SSL_KEY_PASSWORD_FILE")
    if tls:
        conf["ssl.endpoint.identification.algorithm"] = "https"
    return conf
