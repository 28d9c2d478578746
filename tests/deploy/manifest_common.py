"""Helpers shared by the manifest checks (check_manifests.py, manifest_crds.py)."""

import os
import re

STRIMZI_GROUP = "kafka.strimzi.io"
MONITORING_GROUP = "monitoring.coreos.com"
CRD_GROUPS = (STRIMZI_GROUP, MONITORING_GROUP)


class Problems:
    def __init__(self, name):
        self.name = name
        self.errors = []
        self.warnings = []

    def error(self, where, message):
        self.errors.append(f"{self.name}: {where}: {message}")

    def warn(self, where, message):
        self.warnings.append(f"{self.name}: {where}: {message}")


def where(obj):
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def group_of(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def selects(selector, labels):
    """True if a selector (a LabelSelector's matchLabels, or a Service's plain map) selects labels."""
    if not selector or "matchExpressions" in selector:  # expressions are not used by Triad
        return False
    match = selector["matchLabels"] if "matchLabels" in selector else selector
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def code_topics(repo):
    """{svc: set(topic)} of the kXxxTopic constants in services/<svc>/ (written or read)."""
    const_re = re.compile(r'k\w*Topic\[\]\s*=\s*"([^"]+)"')
    topics = {}
    services_dir = os.path.join(repo, "services")
    for svc in sorted(os.listdir(services_dir)) if os.path.isdir(services_dir) else []:
        found = set()
        for dirpath, _, files in os.walk(os.path.join(services_dir, svc)):
            if "/tests" in dirpath or "/bench" in dirpath:
                continue
            for f in files:
                if f.endswith((".cc", ".h")):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        found.update(const_re.findall(fh.read()))
        if found:
            topics[svc] = found
    return topics
