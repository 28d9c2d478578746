"""Security checks of rendered Triad manifests (used by check_manifests.py):

* Kafka users: every service has a Strimzi KafkaUser triad-<svc> (literal ACLs only, no
  wildcard, no cluster operation) whose ACLs are exactly what the contracts registry says the
  service needs (tools/contracts/kafka_users.py: acl_plan): in particular it may write only the
  topics it produces and the dead-letter topics of the topics it consumes, and read only the
  topics it consumes. The pods mount the user's Secret and point the Kafka client certificate
  flags into it.
* Network: every service's pods are selected by a NetworkPolicy for Ingress and Egress; ingress
  only to the gRPC and metrics ports, each from named sources (metrics only from a namespace
  selector); egress only to DNS (53) and the Kafka bootstrap port.
* Secrets as files: every TRIAD_*_FILE / *_DIR setting (but the data and backup dirs) points
  into a read-only Secret volume; no variable that looks like a secret carries a literal value.
* Transport: Kafka over ssl/sasl_ssl, gRPC with TLS, authentication on; with --hardened (prod)
  also no server reflection.
"""

import os
import sys

from manifest_common import STRIMZI_GROUP, selects, where

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "contracts"))
from kafka_users import acl_plan  # noqa: E402

ACL_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction",
                  "AlterConfigs", "DescribeConfigs", "IdempotentWrite", "All"}
ACL_TYPES = {"topic", "group", "cluster", "transactionalId"}
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY")


def env_of(container, configmaps):
    env = {}
    for src in container.get("envFrom", []) or []:
        ref = (src.get("configMapRef") or {}).get("name")
        if ref is not None:
            env.update({k: str(v) for k, v in (configmaps.get(ref) or {}).items()})
    for e in container.get("env", []) or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
    return env


def user_acls(p, user):
    """{(type, name): set(ops)} of a KafkaUser, reporting malformed or broad rules."""
    at = where(user)
    acls = {}
    spec = user.get("spec") or {}
    authz = spec.get("authorization") or {}
    if authz.get("type") != "simple":
        p.error(at, "spec.authorization.type must be simple (ACLs)")
    for rule in authz.get("acls") or []:
        res = rule.get("resource") or {}
        kind, name = res.get("type"), res.get("name")
        ops = rule.get("operations") or ([rule["operation"]] if rule.get("operation") else [])
        if kind not in ACL_TYPES:
            p.error(at, f"ACL resource type {kind!r} is not one of {sorted(ACL_TYPES)}")
            continue
        if kind == "cluster":
            p.error(at, f"ACL on the cluster ({ops}): a service needs no cluster operation")
            continue
        if res.get("patternType", "literal") != "literal" or name in (None, "", "*"):
            p.error(at, f"ACL on {kind} {name!r} ({res.get('patternType')}): only literal names, "
                        "no wildcard or prefix")
            continue
        if not ops or set(ops) - ACL_OPERATIONS:
            p.error(at, f"ACL on {kind} {name}: operations {ops} are not valid Kafka operations")
        if "All" in ops:
            p.error(at, f"ACL on {kind} {name}: operation All is too broad")
        acls.setdefault((kind, name), set()).update(ops)
    return acls


def check_kafka_users(p, objects, statefulsets, registry):
    users = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "KafkaUser"}
    for name, user in users.items():
        at = where(user)
        if user.get("apiVersion") != f"{STRIMZI_GROUP}/v1beta2":
            p.error(at, f"apiVersion must be {STRIMZI_GROUP}/v1beta2")
        if not ((user.get("metadata") or {}).get("labels") or {}).get("strimzi.io/cluster"):
            p.error(at, "label strimzi.io/cluster (the Kafka cluster) is required")
        auth = ((user.get("spec") or {}).get("authentication") or {}).get("type")
        if auth not in ("tls", "tls-external", "scram-sha-512"):
            p.error(at, f"spec.authentication.type {auth!r}: use tls (or scram-sha-512)")
    produced, consumed, dlq_of = {}, {}, {}
    if registry is not None:
        for t in registry["topics"]:
            produced.setdefault(t["producer"], set()).add(t["name"])
            dlq_of[t["dlq"]] = t["name"]
            for c in t["consumers"]:
                consumed.setdefault(c, set()).add(t["name"])
    for sts in statefulsets:
        name = sts["metadata"]["name"]
        svc = name[len("triad-"):]
        user = users.get(name)
        if user is None:
            p.error(where(sts), f"no KafkaUser {name}: the service would reach Kafka without its own "
                                "identity and ACLs")
            continue
        acls = user_acls(p, user)
        at = where(user)
        if registry is not None:
            mine, reads = produced.get(svc, set()), consumed.get(svc, set())
            for (kind, res), ops in sorted(acls.items()):
                if kind != "topic":
                    continue
                if "Write" in ops and res not in mine and dlq_of.get(res) not in reads:
                    owner = next((t["producer"] for t in registry["topics"]
                                  if res in (t["name"], t["dlq"])), None)
                    p.error(at, f"may write {res}, which is neither a topic {svc} produces nor the "
                                f"dead-letter topic of one it consumes"
                                + (f" (it belongs to {owner})" if owner else ""))
                if "Read" in ops and res not in reads and res != f"triad.{svc}.lease":
                    p.error(at, f"may read {res}, which {svc} does not consume")
            want = acl_plan(registry, svc)
            for key in sorted(set(want) | set(acls)):
                if want.get(key, set()) != acls.get(key, set()):
                    p.error(at, f"ACL on {key[0]} {key[1]}: {sorted(acls.get(key, set()))}, the "
                                f"contracts need {sorted(want.get(key, set()))} (regenerate with "
                                "tools/contracts/generate.py)")
        # The pods authenticate with the user's certificate, mounted from its Secret.
        auth = ((user.get("spec") or {}).get("authentication") or {}).get("type")
        pod = (sts["spec"].get("template") or {}).get("spec") or {}
        secrets = {v["name"]: (v.get("secret") or {}).get("secretName")
                   for v in pod.get("volumes") or [] if v.get("secret")}
        if auth == "tls" and name not in secrets.values():
            p.error(where(sts), f"does not mount Secret {name} (the client certificate of KafkaUser {name})")


def mount_of(container, pod, path):
    """The (mount, volume) holding `path` in `container`, or (None, None)."""
    best, found = "", (None, None)
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for m in container.get("volumeMounts") or []:
        mp = m.get("mountPath", "").rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and len(mp) > len(best):
            best, found = mp, (m, volumes.get(m.get("name")))
    return found


def check_containers(p, statefulsets, configmaps, hardened):
    for sts in statefulsets:
        name = sts["metadata"]["name"]
        pod = (sts["spec"].get("template") or {}).get("spec") or {}
        for c in pod.get("containers") or []:
            cat = f"{where(sts)} container {c.get('name')}"
            env = env_of(c, configmaps)
            for k, v in sorted(env.items()):
                if any(w in k for w in SECRET_WORDS) and not k.endswith(("_FILE", "_DIR")):
                    p.error(cat, f"{k} carries a literal value: secrets go in files (a Secret volume)")
                if not k.startswith("TRIAD_") or k in ("TRIAD_DATA_DIR", "TRIAD_BACKUP_DIR"):
                    continue
                if k.endswith(("_FILE", "_DIR")) and v:
                    mount, volume = mount_of(c, pod, v)
                    if mount is None:
                        p.error(cat, f"{k}={v} is on no volume")
                    elif not (volume or {}).get("secret") and not (volume or {}).get("projected"):
                        p.error(cat, f"{k}={v} is on volume {mount.get('name')}, not a Secret")
                    elif not mount.get("readOnly"):
                        p.error(cat, f"{k}: the Secret volume {mount.get('name')} must be mounted readOnly")
            protocol = env.get("TRIAD_KAFKA_SECURITY_PROTOCOL", "plaintext").lower()
            if protocol not in ("ssl", "sasl_ssl"):
                p.error(cat, f"TRIAD_KAFKA_SECURITY_PROTOCOL={protocol}: Kafka must be reached over TLS "
                             "(ssl or sasl_ssl)")
            if protocol == "ssl" and not (env.get("TRIAD_KAFKA_SSL_CERT_FILE") and
                                          env.get("TRIAD_KAFKA_SSL_KEY_FILE")):
                p.error(cat, "ssl without TRIAD_KAFKA_SSL_CERT_FILE/KEY_FILE: the service would not "
                             "authenticate to Kafka")
            if not env.get("TRIAD_TLS_CERT_FILE") or not env.get("TRIAD_TLS_KEY_FILE"):
                p.error(cat, "TRIAD_TLS_CERT_FILE and TRIAD_TLS_KEY_FILE must be set: gRPC over TLS")
            if env.get("TRIAD_AUTH_MODE", "jwt") != "jwt":
                p.error(cat, f"TRIAD_AUTH_MODE={env.get('TRIAD_AUTH_MODE')}: only jwt is deployable")
            if env.get("TRIAD_ALLOW_PLAINTEXT", "false").lower() in ("true", "1", "yes"):
                p.error(cat, "TRIAD_ALLOW_PLAINTEXT is for loopback development only")
            if hardened and env.get("TRIAD_GRPC_REFLECTION", "true").lower() not in ("false", "0", "no"):
                p.error(cat, "TRIAD_GRPC_REFLECTION must be false in this overlay")
        del name


def check_network_policies(p, objects, statefulsets, configmaps):
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    for sts in statefulsets:
        at = where(sts)
        tmpl = sts["spec"].get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        pod = tmpl.get("spec") or {}
        containers = pod.get("containers") or []
        ports = {pt.get("name"): pt.get("containerPort") for c in containers for pt in c.get("ports") or []}
        env = env_of(containers[0], configmaps) if containers else {}
        kafka_ports = {int(h.rsplit(":", 1)[1]) for h in env.get("KAFKA_BOOTSTRAP_SERVERS", "").split(",")
                       if ":" in h}
        mine = [n for n in policies
                if selects(((n.get("spec") or {}).get("podSelector") or {}), labels)]
        types = {t for n in mine for t in (n.get("spec") or {}).get("policyTypes") or []}
        for t in ("Ingress", "Egress"):
            if t not in types:
                p.error(at, f"no NetworkPolicy restricts its pods' {t.lower()}")
        for n in mine:
            nat, spec = where(n), n.get("spec") or {}
            for rule in spec.get("ingress") or []:
                rports = [pt.get("port") for pt in rule.get("ports") or []]
                if not rports:
                    p.error(nat, "an ingress rule without ports opens every port")
                if not rule.get("from"):
                    p.error(nat, f"an ingress rule to {rports} without `from` admits everyone")
                for port in rports:
                    if port not in ("grpc", "metrics", ports.get("grpc"), ports.get("metrics")):
                        p.error(nat, f"ingress to port {port!r}: only the grpc and metrics ports")
                    if port in ("metrics", ports.get("metrics")):
                        for src in rule.get("from") or []:
                            if "namespaceSelector" not in src or "ipBlock" in src:
                                p.error(nat, "the metrics port may be reached only from the "
                                             "monitoring namespace (a namespaceSelector)")
            for rule in spec.get("egress") or []:
                rports = [pt.get("port") for pt in rule.get("ports") or []]
                if not rports or not rule.get("to"):
                    p.error(nat, "an egress rule needs ports and destinations (`to`)")
                for port in rports:
                    if port != 53 and port not in kafka_ports:
                        p.error(nat, f"egress to port {port!r}: only DNS (53) and Kafka "
                                     f"({sorted(kafka_ports)})")


def check_security(p, objects, statefulsets, configmaps, registry, hardened):
    check_kafka_users(p, objects, statefulsets, registry)
    check_containers(p, statefulsets, configmaps, hardened)
    check_network_policies(p, objects, statefulsets, configmaps)
