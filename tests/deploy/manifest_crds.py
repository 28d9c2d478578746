"""Checks of the custom resources in rendered Triad manifests, which the Kubernetes schemas of
kubernetes-validate do not cover: Strimzi KafkaTopics (required fields and types, one per topic
the code writes or reads, each with its .dlq, partitions as configured) and Prometheus Operator
objects (ServiceMonitor selecting every service's client Service and no headless one,
PrometheusRule groups). Used by check_manifests.py.
"""

import re

from manifest_common import MONITORING_GROUP, STRIMZI_GROUP, code_topics, group_of, selects, where

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
KAFKA_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
TRIAD_TOPIC = re.compile(r"^triad\.[a-z0-9_]+\.[a-z0-9_]+$")


def check_kafka_topic(p, obj):
    at = where(obj)
    if obj.get("apiVersion") != f"{STRIMZI_GROUP}/v1beta2":
        p.error(at, f"apiVersion must be {STRIMZI_GROUP}/v1beta2, got {obj.get('apiVersion')}")
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not isinstance(name, str) or not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        p.error(at, "metadata.name must be a lowercase DNS subdomain")
    cluster = (meta.get("labels") or {}).get("strimzi.io/cluster")
    if not isinstance(cluster, str) or not cluster:
        p.error(at, "label strimzi.io/cluster (the Kafka cluster) is required")
    extra_top = set(obj) - {"apiVersion", "kind", "metadata", "spec"}
    if extra_top:
        p.error(at, f"unknown top-level fields {sorted(extra_top)}")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        p.error(at, "spec is required")
        return
    extra = set(spec) - {"topicName", "partitions", "replicas", "config"}
    if extra:
        p.error(at, f"unknown spec fields {sorted(extra)}")
    topic = spec.get("topicName", name)
    if not isinstance(topic, str) or not KAFKA_TOPIC_NAME.match(topic):
        p.error(at, f"spec.topicName {topic!r} is not a valid Kafka topic name")
    for field, hi in (("partitions", 1 << 31), ("replicas", 32767)):
        v = spec.get(field)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
            p.error(at, f"spec.{field} must be an integer in [1, {hi}], got {v!r}")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        p.error(at, "spec.config must be a map")
        config = {}
    for k, v in config.items():
        if not isinstance(v, (str, int, float, bool)):
            p.error(at, f"spec.config.{k} must be a scalar")
    isr = config.get("min.insync.replicas")
    if isinstance(isr, int) and isinstance(spec.get("replicas"), int) and isr > spec["replicas"]:
        p.error(at, f"min.insync.replicas {isr} > replicas {spec['replicas']}: producers with acks=all would fail")


def check_topics(p, objects, configmaps, statefulsets, repo, strict):
    topics = [o for o in objects if o.get("kind") == "KafkaTopic"]
    by_name = {}
    for t in topics:
        check_kafka_topic(p, t)
        spec = t.get("spec") or {}
        name = spec.get("topicName", t["metadata"].get("name"))
        if name in by_name:
            p.error(where(t), f"topic {name} declared twice")
        by_name[name] = t
    if not topics:
        if statefulsets:
            p.error("topics", "no KafkaTopic resources")
        return

    clusters = {(t["metadata"].get("labels") or {}).get("strimzi.io/cluster") for t in topics}
    if len(clusters) != 1:
        p.error("topics", f"KafkaTopics name several clusters: {sorted(map(str, clusters))}")
    cluster = next(iter(clusters))
    partitions = None
    for data in configmaps.values():
        bootstrap = data.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap and cluster and not all(h.startswith(f"{cluster}-kafka-bootstrap")
                                             for h in bootstrap.split(",")):
            p.warn("topics", f"KAFKA_BOOTSTRAP_SERVERS {bootstrap} is not Strimzi cluster {cluster}'s bootstrap")
        if "TRIAD_TOPIC_PARTITIONS" in data:
            partitions = int(data["TRIAD_TOPIC_PARTITIONS"])
        # Topics a service creates itself must be replicated like the declared ones.
        if not any(k.startswith("TRIAD_") for k in data):
            continue  # not a settings ConfigMap (e.g. the Grafana dashboard)
        for flag, field in (("TRIAD_TOPIC_REPLICATION", "replicas"),
                            ("TRIAD_TOPIC_MIN_INSYNC_REPLICAS", "min.insync.replicas")):
            if flag not in data:
                p.error("topics", f"{flag} is not set in the ConfigMap (the binary's default assumes 3 brokers)")
                continue
            for t in topics:
                spec = t.get("spec") or {}
                got = spec.get("replicas") if field == "replicas" else (spec.get("config") or {}).get(field)
                if str(got) != str(data[flag]):
                    p.error(where(t), f"{field} {got} != {flag} {data[flag]}")
    max_replicas = max([(s.get("spec") or {}).get("replicas", 1) for s in statefulsets] or [1])
    for name, t in by_name.items():
        spec = t.get("spec") or {}
        tp = spec.get("partitions")
        if not name.endswith(".dlq") and partitions is not None and tp != partitions:
            p.error(where(t), f"partitions {tp} != TRIAD_TOPIC_PARTITIONS {partitions}")
        if not name.endswith(".dlq") and isinstance(tp, int) and tp < max_replicas:
            p.error(where(t), f"partitions {tp} < {max_replicas} replicas: some consumers would idle")
        if name.endswith(".dlq"):
            if name[:-4] not in by_name:
                p.error(where(t), f"dead-letter topic of {name[:-4]}, which is not declared")
        else:
            if not TRIAD_TOPIC.match(name):
                p.error(where(t), f"topic {name} is not triad.<service>.<aggregate>")
            if f"{name}.dlq" not in by_name:
                p.error(where(t), f"no dead-letter topic {name}.dlq")
            retention = (spec.get("config") or {}).get("retention.ms")
            if retention not in (-1, "-1"):
                p.warn(where(t), f"retention.ms {retention}: read models can only be rebuilt from what is kept")

    deployed = {s["metadata"]["name"][len("triad-"):] for s in statefulsets
                if s["metadata"]["name"].startswith("triad-")}
    for svc, needed in sorted(code_topics(repo).items()):
        for topic in sorted(needed):
            for name in (topic, f"{topic}.dlq"):
                if name in by_name:
                    continue
                msg = (f"services/{svc} writes or reads {topic} but there is no KafkaTopic for {name} "
                       f"(add it to deploy/k8s/base/kafka-topics/topics.yaml)")
                if svc in deployed or strict:
                    p.error("topics", msg)
                else:
                    p.warn("topics", msg)


def check_monitoring(p, objects, statefulsets):
    """Prometheus Operator objects by their required fields; ServiceMonitors cover every service."""
    services = [o for o in objects if o.get("kind") == "Service"]
    monitors = [o for o in objects if group_of(o.get("apiVersion", "")) == MONITORING_GROUP]
    for m in monitors:
        at, spec = where(m), m.get("spec")
        if m.get("apiVersion") != f"{MONITORING_GROUP}/v1":
            p.error(at, f"apiVersion must be {MONITORING_GROUP}/v1")
        if not isinstance(spec, dict):
            p.error(at, "spec is required")
            continue
        if m.get("kind") == "ServiceMonitor":
            extra = set(spec) - {"jobLabel", "selector", "endpoints", "namespaceSelector", "targetLabels",
                                 "podTargetLabels", "sampleLimit"}
            if extra:
                p.error(at, f"unknown spec fields {sorted(extra)}")
            eps = spec.get("endpoints")
            if not isinstance(eps, list) or not eps:
                p.error(at, "spec.endpoints must be a non-empty list")
                eps = []
            selected = [s for s in services if selects(spec.get("selector"), (s["metadata"].get("labels") or {}))]
            if not selected:
                p.error(at, "spec.selector selects no Service")
            for s in selected:
                if (s.get("spec") or {}).get("clusterIP") == "None":
                    p.error(at, f"selects the headless {where(s)}: its pods would be scraped twice")
                names = {pt.get("name") for pt in (s.get("spec") or {}).get("ports") or []}
                for ep in eps:
                    if ep.get("port") not in names:
                        p.error(at, f"endpoint port {ep.get('port')!r} is not a port of {where(s)}")
            for sts in statefulsets:
                pod_labels = ((sts["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
                if not any(selects((s.get("spec") or {}).get("selector"), pod_labels) for s in selected):
                    p.error(at, f"scrapes no Service of {where(sts)}")
        elif m.get("kind") == "PrometheusRule":
            groups = spec.get("groups")
            if not isinstance(groups, list) or not groups:
                p.error(at, "spec.groups must be a non-empty list")
                continue
            for g in groups:
                if not isinstance(g, dict) or not g.get("name") or not isinstance(g.get("rules"), list):
                    p.error(at, f"group {g!r:.60}: needs a name and a list of rules")
                    continue
                for r in g["rules"]:
                    if not isinstance(r, dict) or not isinstance(r.get("expr"), str) \
                            or bool(r.get("alert")) == bool(r.get("record")):
                        p.error(at, f"group {g['name']}: a rule needs expr and exactly one of alert/record")
        else:
            p.error(at, f"unexpected {MONITORING_GROUP} kind {m.get('kind')}")
