#!/usr/bin/env python3
"""Offline checks of rendered Triad Kubernetes manifests (kustomize output).

Usage: check_manifests.py --name NAME --repo ROOT [--replicas N] [--k8s-version V ...] RENDERED.yaml

1. Schema: every object whose kind Kubernetes itself defines is validated, strictly (unknown
   fields are errors), against the Kubernetes JSON schemas shipped in the PyPI package
   kubernetes-validate, for each --k8s-version. Strimzi kinds (kafka.strimzi.io) have no
   schema there; their required fields and types are checked here instead.
2. Policy: every container runs as non-root with a read-only root filesystem, no privilege
   escalation, ALL capabilities dropped, seccomp RuntimeDefault, CPU/memory requests and limits,
   and gRPC startup/readiness/liveness probes on its gRPC port; every StatefulSet has a
   PersistentVolumeClaim template mounted at its data dir (and another one at its backup dir),
   runs /usr/local/bin/triad-<svc> from the one Triad image, has a headless Service, a client
   Service with named grpc/metrics ports, a PodDisruptionBudget, Prometheus scrape annotations
   for its admin port and a termination grace period longer than the drain timeout. Prometheus
   Operator objects (monitoring.coreos.com: ServiceMonitor, PrometheusRule), which have no
   schema here either, are checked by their required fields, and a ServiceMonitor must select
   every service's client Service (and no headless one: each pod scraped once).
3. Consistency with the code: every TRIAD_* variable names a flag the binary defines (shared
   flags in common/, the service's own in services/<svc>/main.cc); every topic a deployed
   service writes or reads (the kXxxTopic constants) has a KafkaTopic and a .dlq KafkaTopic.
4. Security (manifest_security.py): Kafka users with exactly the ACLs the contracts need
   (--contracts-dump), NetworkPolicies, secrets as read-only files, TLS everywhere, and with
   --hardened no server reflection.

Prints one line per problem and exits 1 if there is any.
"""

import argparse
import json
import os
import re
import subprocess
import sys

import yaml

from manifest_common import CRD_GROUPS, Problems, group_of, selects, where
from manifest_crds import check_monitoring, check_topics
from manifest_security import check_security

try:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError
except ImportError:  # pragma: no cover - reported as a problem below
    kubernetes_validate = None

DURATION = re.compile(r"^(0|inf|-inf|(\d+(\.\d+)?(ns|us|ms|s|m|h))+)$")
# Server flags of the security design (authentication, TLS, reflection) that the deployment
# sets before every branch defining them is merged: a TRIAD_* variable naming one of these but
# no flag of the code is a warning, not an error. Any other unknown TRIAD_* stays an error.
SECURITY_DESIGN_FLAGS = {
    "tls_cert_file", "tls_key_file", "tls_client_ca_file", "tls_require_client_cert",
    "auth_mode", "auth_jwt_keys_dir", "auth_issuer", "auth_audience", "grpc_reflection",
    "grpc_max_message_bytes", "allow_plaintext",
}
# Seconds that the stop steps after the drain may take: stop consumers and commit offsets,
# flush the outbox relay (up to 5 s), close RocksDB.
STOP_STEPS_SECONDS = 10


# ---------------------------------------------------------------------------- quantities


def cpu_millis(q):
    s = str(q)
    if s.endswith("m"):
        return float(s[:-1])
    return float(s) * 1000


MEM_SUFFIX = {
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
    "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "": 1,
}


def mem_bytes(q):
    m = re.match(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T|)$", str(q))
    if not m:
        raise ValueError(f"bad memory quantity {q!r}")
    return float(m.group(1)) * MEM_SUFFIX[m.group(3)]


def duration_seconds(d):
    if d in ("0", ""):
        return 0.0
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", d):
        total += float(num) * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# ------------------------------------------------------------------------------ the code


def code_flags(repo):
    """Flags defined by the code: {'shared': {name: type}, '<svc>': {name: type}}."""
    flag_re = re.compile(r"ABSL_FLAG\(\s*([\w:<>]+)\s*,\s*(\w+)\s*,", re.S)
    flags = {"shared": {}}
    for dirpath, _, files in os.walk(os.path.join(repo, "common")):
        for f in files:
            if f.endswith((".cc", ".h")):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    for t, n in flag_re.findall(fh.read()):
                        flags["shared"][n] = t
    services_dir = os.path.join(repo, "services")
    for svc in sorted(os.listdir(services_dir)) if os.path.isdir(services_dir) else []:
        main = os.path.join(services_dir, svc, "main.cc")
        if not os.path.isfile(main):
            continue
        own = {}
        for dirpath, _, files in os.walk(os.path.join(services_dir, svc)):
            if "/tests" in dirpath or "/bench" in dirpath:
                continue
            for f in files:
                if f.endswith((".cc", ".h")):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        for t, n in flag_re.findall(fh.read()):
                            own[n] = t
        flags[svc] = own
    return flags


def check_flag_value(p, at, env, value, flag_type):
    if flag_type == "bool":
        if value.lower() not in ("true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"):
            p.error(at, f"{env}={value!r} is not a bool")
    elif flag_type in ("int32_t", "int64_t", "int", "uint32_t", "uint64_t"):
        if not re.match(r"^-?\d+$", value):
            p.error(at, f"{env}={value!r} is not an integer")
    elif env == "TRIAD_LOG_LEVEL":
        if value not in ("debug", "info", "warn", "error"):
            p.error(at, f"{env}={value!r}: use debug, info, warn or error")
    elif flag_type == "absl::Duration":
        if not DURATION.match(value):
            p.error(at, f"{env}={value!r} is not a duration (e.g. 20s, 1h)")


# ------------------------------------------------------------------------------- schemas


def check_schemas(p, objects, versions):
    if kubernetes_validate is None:
        p.error("schemas", "python package kubernetes-validate is missing (run tests/deploy/install_tools.sh)")
        return
    for obj in objects:
        if group_of(obj.get("apiVersion", "")) in CRD_GROUPS:
            continue
        for v in versions:
            try:
                kubernetes_validate.validate(obj, v, strict=True)
            except ValidationError as e:
                path = "/".join(str(x) for x in e.path)
                p.error(where(obj), f"schema (Kubernetes {v}): {path}: {e.message}")
            except SchemaNotFoundError as e:
                p.error(where(obj), f"schema (Kubernetes {v}): {e.message}")


# -------------------------------------------------------------------------------- policy


def container_env(container, configmaps):
    env = {}
    for src in container.get("envFrom", []) or []:
        ref = (src.get("configMapRef") or {}).get("name")
        if ref is not None:
            env.update({k: (str(v), f"ConfigMap/{ref}") for k, v in (configmaps.get(ref) or {}).items()})
    for e in container.get("env", []) or []:
        if "value" in e:
            env[e["name"]] = (str(e["value"]), "env")
    return env


def check_statefulset(p, sts, objects, configmaps, flags, replicas_expected):
    at = where(sts)
    name = sts["metadata"]["name"]
    spec = sts.get("spec") or {}
    tmpl = spec.get("template") or {}
    pod_labels = (tmpl.get("metadata") or {}).get("labels") or {}
    pod = tmpl.get("spec") or {}
    annotations = (tmpl.get("metadata") or {}).get("annotations") or {}
    svc = name[len("triad-"):] if name.startswith("triad-") else name

    if replicas_expected is not None and spec.get("replicas") != replicas_expected:
        p.error(at, f"replicas is {spec.get('replicas')}, this overlay expects {replicas_expected}")
    replicas = spec.get("replicas", 1)

    # Storage: a PVC template, mounted where the data dir is.
    claims = spec.get("volumeClaimTemplates") or []
    if not claims:
        p.error(at, "no volumeClaimTemplates: RocksDB must live on a PersistentVolumeClaim")
    claim_names = set()
    for c in claims:
        cname = (c.get("metadata") or {}).get("name")
        claim_names.add(cname)
        cspec = c.get("spec") or {}
        if not cspec.get("accessModes"):
            p.error(at, f"volumeClaimTemplate {cname}: accessModes missing")
        storage = ((cspec.get("resources") or {}).get("requests") or {}).get("storage")
        if storage is None:
            p.error(at, f"volumeClaimTemplate {cname}: resources.requests.storage missing")

    # Services: headless one named by serviceName, and a client Service with named ports.
    services = [o for o in objects if o.get("kind") == "Service"]
    headless = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
    if not headless:
        p.error(at, f"serviceName {spec.get('serviceName')!r} names no Service")
    else:
        h = headless[0]
        if (h.get("spec") or {}).get("clusterIP") != "None":
            p.error(where(h), "the StatefulSet's governing Service must be headless (clusterIP: None)")
        if not selects((h.get("spec") or {}).get("selector"), pod_labels):
            p.error(where(h), f"does not select the pods of {at}")
    clients = [s for s in services
               if (s.get("spec") or {}).get("clusterIP") != "None"
               and selects((s.get("spec") or {}).get("selector"), pod_labels)]
    if not clients:
        p.error(at, "no client Service (non-headless) selects its pods")
    for s in clients:
        port_names = {pt.get("name") for pt in (s.get("spec") or {}).get("ports") or []}
        for needed in ("grpc", "metrics"):
            if needed not in port_names:
                p.error(where(s), f"no port named {needed}")

    # Disruption budget.
    pdbs = [o for o in objects if o.get("kind") == "PodDisruptionBudget"
            and selects((o.get("spec") or {}).get("selector"), pod_labels)]
    if not pdbs:
        p.error(at, "no PodDisruptionBudget selects its pods")
    for pdb in pdbs:
        ps = pdb.get("spec") or {}
        if "maxUnavailable" in ps:
            mu = ps["maxUnavailable"]
            if not isinstance(mu, int) or mu < 1:
                p.error(where(pdb), f"maxUnavailable {mu!r}: use an integer >= 1 (0 blocks every drain)")
            elif replicas > 1 and mu > 1:
                p.error(where(pdb), f"maxUnavailable {mu} with {replicas} replicas: allow at most 1")
        elif "minAvailable" in ps:
            ma = ps["minAvailable"]
            if not isinstance(ma, int):
                p.error(where(pdb), "minAvailable must be an integer")
            elif ma >= replicas:
                p.error(where(pdb), f"minAvailable {ma} >= replicas {replicas}: node drains would block forever")
            elif replicas > 1 and ma < replicas - 1:
                p.error(where(pdb), f"minAvailable {ma} with {replicas} replicas: keep at least {replicas - 1}")
        else:
            p.error(where(pdb), "neither maxUnavailable nor minAvailable")

    # Pod-level settings.
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        p.error(at, "pod securityContext.runAsNonRoot must be true")
    if psc.get("runAsUser") in (None, 0):
        p.error(at, "pod securityContext.runAsUser must be a non-zero uid (the image's is 10001)")
    if psc.get("fsGroup") in (None, 0):
        p.error(at, "pod securityContext.fsGroup must be set so the non-root user can write the volume")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod.get("enableServiceLinks") is not False:
        p.error(at, "enableServiceLinks must be false (injected TRIAD_*_PORT variables could collide with flags)")
    if annotations.get("prometheus.io/scrape") != "true":
        p.error(at, "pod annotation prometheus.io/scrape: \"true\" missing")
    if annotations.get("prometheus.io/path", "/metrics") != "/metrics":
        p.error(at, "prometheus.io/path must be /metrics")

    containers = pod.get("containers") or []
    if not containers:
        p.error(at, "no containers")
    pod_volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    allowed_flags = dict(flags.get("shared", {}))
    if svc in flags:
        allowed_flags.update(flags[svc])
    else:
        p.warn(at, f"no services/{svc}/main.cc: service-specific TRIAD_* variables are not checked")

    for c in list(pod.get("initContainers") or []) + containers:
        cat = f"{at} container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            p.error(cat, "must run as non-root (runAsNonRoot: true)")
        if sc.get("runAsUser", psc.get("runAsUser")) in (None, 0):
            p.error(cat, "runAsUser must be non-zero")
        if sc.get("readOnlyRootFilesystem") is not True:
            p.error(cat, "readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            p.error(cat, "allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            p.error(cat, "must not be privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            p.error(cat, "capabilities.drop must contain ALL")
        if caps.get("add"):
            p.error(cat, f"adds capabilities {caps['add']}")
        if (sc.get("seccompProfile") or {}).get("type", pod_seccomp) != "RuntimeDefault":
            p.error(cat, "seccompProfile must be RuntimeDefault")
        image = c.get("image", "")
        last = image.rsplit("/", 1)[-1]
        if ":" not in last and "@" not in image:
            p.error(cat, f"image {image!r} has no tag")
        elif last.endswith(":latest"):
            p.error(cat, f"image {image!r} uses :latest")

        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        for kind in ("cpu", "memory"):
            if kind not in req:
                p.error(cat, f"resources.requests.{kind} missing")
            if kind not in lim:
                p.error(cat, f"resources.limits.{kind} missing")
        try:
            if "cpu" in req and "cpu" in lim and cpu_millis(req["cpu"]) > cpu_millis(lim["cpu"]):
                p.error(cat, "cpu request exceeds the limit")
            if "memory" in req and "memory" in lim and mem_bytes(req["memory"]) > mem_bytes(lim["memory"]):
                p.error(cat, "memory request exceeds the limit")
        except ValueError as e:
            p.error(cat, str(e))

        env = container_env(c, configmaps)
        for src in c.get("envFrom", []) or []:
            ref = (src.get("configMapRef") or {}).get("name")
            if ref is not None and ref not in configmaps:
                p.error(cat, f"envFrom names ConfigMap {ref!r}, which is not in the rendered set")
        for k, (v, origin) in sorted(env.items()):
            if not k.startswith("TRIAD_"):
                continue
            flag = k[len("TRIAD_"):].lower()
            if allowed_flags and flag not in allowed_flags and flag in SECURITY_DESIGN_FLAGS:
                p.warn(cat, f"{k} (from {origin}): flag --{flag} of the security design is not "
                            f"defined by this tree yet (it is checked once the code has it)")
            elif allowed_flags and flag not in allowed_flags:
                p.error(cat, f"{k} (from {origin}) names no flag of triad-{svc}: it would be ignored")
            elif flag in allowed_flags:
                check_flag_value(p, cat, k, v, allowed_flags[flag])
        if c in containers and "KAFKA_BOOTSTRAP_SERVERS" not in env:
            p.error(cat, "KAFKA_BOOTSTRAP_SERVERS is not set")

        ports = {pt.get("name"): pt.get("containerPort") for pt in c.get("ports") or []}
        if c not in containers:
            continue
        grpc_port = ports.get("grpc")
        admin_port = ports.get("metrics")
        if grpc_port is None:
            p.error(cat, "no container port named grpc")
        if admin_port is None:
            p.error(cat, "no container port named metrics")
        if env.get("TRIAD_GRPC_PORT", ("",))[0] != str(grpc_port):
            p.error(cat, f"TRIAD_GRPC_PORT {env.get('TRIAD_GRPC_PORT', ('unset',))[0]} != grpc containerPort {grpc_port}")
        if env.get("TRIAD_ADMIN_PORT", ("",))[0] != str(admin_port):
            p.error(cat, f"TRIAD_ADMIN_PORT {env.get('TRIAD_ADMIN_PORT', ('unset',))[0]} != metrics containerPort {admin_port}")
        if annotations.get("prometheus.io/port") != str(admin_port):
            p.error(at, f"prometheus.io/port {annotations.get('prometheus.io/port')!r} != metrics port {admin_port}")
        if env.get("TRIAD_LISTEN_HOST", ("0.0.0.0",))[0] not in ("0.0.0.0", "::", "[::]"):
            p.error(cat, "TRIAD_LISTEN_HOST must be 0.0.0.0 (or ::) for probes and Services to reach it")
        tls = bool(env.get("TRIAD_TLS_CERT_FILE", ("",))[0])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            pr = c.get(probe)
            if not pr:
                p.error(cat, f"{probe} missing")
                continue
            g = pr.get("grpc")
            tcp = pr.get("tcpSocket")
            if tls and tcp:
                # The kubelet's gRPC probes cannot speak TLS: a TLS-only port gets TCP probes.
                if tcp.get("port") != grpc_port:
                    p.error(cat, f"{probe} probes port {tcp.get('port')}, the gRPC port is {grpc_port}")
            elif tls:
                p.error(cat, f"{probe} must be a tcpSocket probe of the gRPC port: it speaks TLS "
                             "(TRIAD_TLS_CERT_FILE), which the kubelet's gRPC probes cannot")
            elif not g:
                p.error(cat, f"{probe} must be a grpc probe (the servers implement grpc.health.v1)")
            elif g.get("port") != grpc_port:
                p.error(cat, f"{probe} probes port {g.get('port')}, the gRPC port is {grpc_port}")

        # The data dir must be on a volume from a PVC template; the backup dir, when set, on
        # another one (a full data volume must not take the backups with it).
        def claim_of(path):
            best, name = "", None
            for m in c.get("volumeMounts") or []:
                mp = m.get("mountPath", "").rstrip("/")
                if (path == mp or path.startswith(mp + "/")) and len(mp) > len(best):
                    best, name = mp, m.get("name")
            return name if name in claim_names else None

        data_dir = env.get("TRIAD_DATA_DIR", ("",))[0]
        if not data_dir:
            p.error(cat, "TRIAD_DATA_DIR is not set")
        elif claim_of(data_dir) is None:
            p.error(cat, f"data dir {data_dir} is not on a volumeClaimTemplate volume")
        backup_dir = env.get("TRIAD_BACKUP_DIR", ("",))[0]
        if backup_dir:
            if claim_of(backup_dir) is None:
                p.error(cat, f"backup dir {backup_dir} is not on a volumeClaimTemplate volume")
            elif claim_of(backup_dir) == claim_of(data_dir):
                p.error(cat, f"backup dir {backup_dir} is on the data volume {claim_of(data_dir)}")

        # One image holds every service; the command picks this service's binary.
        command = c.get("command") or []
        if command[:1] != [f"/usr/local/bin/triad-{svc}"]:
            p.error(cat, f"command {command} must start with /usr/local/bin/triad-{svc}")
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in claim_names and m.get("name") not in pod_volumes:
                p.error(cat, f"volumeMount {m.get('name')} names no volume")

        # Memory limit must leave room above the block cache.
        cache = env.get("TRIAD_BLOCK_CACHE_MB", ("64",))[0]
        if re.match(r"^\d+$", cache) and "memory" in lim:
            try:
                if mem_bytes(lim["memory"]) < 2 * int(cache) * 1024**2:
                    p.error(cat, f"memory limit {lim['memory']} is less than twice the block cache ({cache} MiB)")
            except ValueError:
                pass

        # Health must turn NOT_SERVING before the listeners close (endpoints update first), and
        # the grace period must cover that, the drain and the stop steps.
        not_serving = env.get("TRIAD_NOT_SERVING_GRACE", ("0s",))[0]
        if not DURATION.match(not_serving) or duration_seconds(not_serving) <= 0:
            p.error(cat, f"TRIAD_NOT_SERVING_GRACE {not_serving!r}: set a positive duration (e.g. 5s) so "
                         "endpoints drop the pod before its listeners close")
        drain = env.get("TRIAD_DRAIN_TIMEOUT", ("10s",))[0]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if DURATION.match(drain) and DURATION.match(not_serving) and \
                grace <= duration_seconds(drain) + duration_seconds(not_serving) + STOP_STEPS_SECONDS:
            p.error(at, f"terminationGracePeriodSeconds {grace} must exceed TRIAD_NOT_SERVING_GRACE "
                        f"{not_serving} + the drain timeout {drain} + {STOP_STEPS_SECONDS}s of stop steps")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rendered")
    ap.add_argument("--name", required=True, help="label for messages, e.g. overlays/dev")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--replicas", type=int, default=None, help="replicas every StatefulSet must have")
    ap.add_argument("--k8s-version", action="append", default=None)
    ap.add_argument("--require-namespace", action="store_true",
                    help="every namespaced object must carry metadata.namespace")
    ap.add_argument("--contracts-dump", default=None,
                    help="contracts_dump binary: the Kafka users' ACLs are checked against its registry")
    ap.add_argument("--hardened", action="store_true",
                    help="production settings: no gRPC server reflection")
    ap.add_argument("--require-monitoring", action="store_true",
                    help="a ServiceMonitor and a PrometheusRule must be rendered")
    args = ap.parse_args()
    strict = os.environ.get("TRIAD_DEPLOY_STRICT_COVERAGE", "") not in ("", "0", "false")

    p = Problems(args.name)
    with open(args.rendered, encoding="utf-8") as fh:
        objects = [o for o in yaml.safe_load_all(fh) if o]
    if not objects:
        p.error("render", "no objects")
    for o in objects:
        if not isinstance(o, dict) or "kind" not in o or "apiVersion" not in o:
            p.error("render", f"not a Kubernetes object: {str(o)[:80]}")
    objects = [o for o in objects if isinstance(o, dict) and "kind" in o]

    seen = set()
    for o in objects:
        key = (o.get("apiVersion"), o.get("kind"), (o.get("metadata") or {}).get("namespace"),
               (o.get("metadata") or {}).get("name"))
        if key in seen:
            p.error(where(o), "declared twice")
        seen.add(key)
        labels = (o.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/part-of") != "triad":
            p.error(where(o), "label app.kubernetes.io/part-of: triad missing")
        if args.require_namespace and o.get("kind") != "Namespace" and not (o.get("metadata") or {}).get("namespace"):
            p.error(where(o), "metadata.namespace missing")

    check_schemas(p, objects, args.k8s_version or ["1.29", "1.33"])

    configmaps = {o["metadata"]["name"]: (o.get("data") or {}) for o in objects if o.get("kind") == "ConfigMap"}
    flags = code_flags(args.repo)
    statefulsets = [o for o in objects if o.get("kind") == "StatefulSet"]
    for kind in ("Deployment", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"):
        for o in objects:
            if o.get("kind") == kind:
                p.error(where(o), "Triad services run as StatefulSets only")
    for sts in statefulsets:
        check_statefulset(p, sts, objects, configmaps, flags, args.replicas)
    deployed = {s["metadata"]["name"] for s in statefulsets}
    for svc in sorted(k for k in flags if k != "shared"):
        if f"triad-{svc}" not in deployed:
            msg = f"services/{svc} has a main.cc but no StatefulSet triad-{svc} (add deploy/k8s/base/{svc})"
            (p.error if strict else p.warn)("coverage", msg)
    check_topics(p, objects, configmaps, statefulsets, args.repo, strict)
    check_monitoring(p, objects, statefulsets)
    registry = None
    if args.contracts_dump and os.access(args.contracts_dump, os.X_OK):
        registry = json.loads(subprocess.run([args.contracts_dump], check=True, capture_output=True,
                                             text=True).stdout)
    else:
        p.warn("kafka-users", "no contracts_dump binary (build it): ACLs not compared with the contracts")
    check_security(p, objects, statefulsets, configmaps, registry, args.hardened)
    if args.require_monitoring and not any(o.get("kind") == "ServiceMonitor" for o in objects):
        p.error("monitoring", "no ServiceMonitor (include the deploy/monitoring component)")
    if args.require_monitoring and not any(o.get("kind") == "PrometheusRule" for o in objects):
        p.error("monitoring", "no PrometheusRule (include the deploy/monitoring component)")

    for w in p.warnings:
        print(f"WARNING {w}")
    for e in p.errors:
        print(f"ERROR {e}")
    kinds = {}
    for o in objects:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    status = "FAIL" if p.errors else "ok"
    print(f"{status} {args.name}: {len(objects)} objects ({summary}); {len(p.errors)} error(s), "
          f"{len(p.warnings)} warning(s)")
    return 1 if p.errors else 0


if __name__ == "__main__":
    sys.exit(main())
