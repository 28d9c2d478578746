#!/usr/bin/env python3
"""Generates deploy/monitoring/triad-dashboard.json, the Grafana dashboard of Triad.

Usage: dashboard.py            write triad-dashboard.json next to this file
       dashboard.py --check    exit 1 if triad-dashboard.json differs from what this writes

The dashboard is code: edit the panels here, run this, commit both (tests/deploy checks that
the JSON is current, valid, and uses only metrics the services export or the documented
Kubernetes/Kafka exporters provide, see deploy/monitoring/README.md).

Layout: variables `datasource` (any Prometheus), `namespace` and `job` (the services: the
ServiceMonitor sets job to the Service's app.kubernetes.io/name, e.g. triad-clients; the consumer
group of a service has the same name), an overview row, then one row per service (a Grafana
row repeated over `job`): gRPC rate, errors and latency; outbox depth, relay publish rate and
held partitions; consumer rates, lag, dead letters and paused partitions; quarantined outbox
rows; RocksDB volume use; process CPU and memory.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "triad-dashboard.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
# Server-side faults: what the error ratio counts (client mistakes such as INVALID_ARGUMENT,
# NOT_FOUND or a stale etag's ABORTED are answers, not errors of the service).
SERVER_FAULT_CODES = "UNKNOWN|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|INTERNAL|UNAVAILABLE|DATA_LOSS"
SEL = 'namespace="$namespace", job="$job"'
POD = 'namespace="$namespace", pod=~"$job-[0-9]+"'


class Ids:
    def __init__(self):
        self.next = 1

    def __call__(self):
        self.next += 1
        return self.next - 1


def target(expr, legend, ref):
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


def panel(ids, title, desc, exprs, x, y, unit="short", w=8, h=7, kind="timeseries"):
    refs = "ABCDEFGH"
    options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
               "tooltip": {"mode": "multi", "sort": "none"}}
    defaults = {"unit": unit}
    if kind == "stat":  # a single number, red from 1 on
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "background", "graphMode": "area", "textMode": "value"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                                {"color": "red", "value": 1}]}
    return {
        "id": ids(),
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [target(e, legend, refs[i]) for i, (e, legend) in enumerate(exprs)],
    }


def overview(ids, y):
    return [
        {"id": ids(), "type": "row", "title": "Overview", "collapsed": False,
         "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []},
        panel(ids, "Scrape targets up",
              "1 when Prometheus scrapes the service's /metrics (admin port); 0 or missing: down.",
              [('up{namespace="$namespace", job=~"triad-.+"}', "{{pod}}")], 0, y + 1, w=8),
        panel(ids, "Pods ready",
              "kube-state-metrics readiness of every Triad pod (the gRPC readiness probe).",
              [('kube_pod_status_ready{namespace="$namespace", condition="true", '
                'pod=~"triad-.+-[0-9]+"}', "{{pod}}")], 8, y + 1, w=8),
        panel(ids, "Events published by service",
              "Outbox rows confirmed by Kafka per second, every service.",
              [('sum by (job) (rate(triad_outbox_published_total{namespace="$namespace"}'
                '[$__rate_interval]))', "{{job}}")], 16, y + 1, w=8, unit="ops"),
    ]


def service_row(ids, y):
    rate = "[$__rate_interval]"
    rpc = f'{SEL}, grpc_service!="grpc.health.v1.Health"'
    p = [{"id": ids(), "type": "row", "title": "$job", "repeat": "job", "collapsed": False,
          "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}]
    y += 1
    p.append(panel(ids, "gRPC requests", "Completed RPCs per second by method (health checks excluded).",
                   [(f"sum by (grpc_method) (rate(grpc_server_handled_total{{{rpc}}}{rate}))",
                     "{{grpc_method}}")], 0, y, unit="reqps", w=6))
    p.append(panel(ids, "gRPC answers other than OK", "RPCs per second by status code, OK excluded: "
                   "mostly client errors (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ABORTED).",
                   [(f'sum by (grpc_code) (rate(grpc_server_handled_total{{{rpc}, grpc_code!="OK"}}{rate}))',
                     "{{grpc_code}}")], 6, y, unit="reqps", w=6))
    p.append(panel(ids, "gRPC server fault ratio",
                   f"Share of RPCs ending with a server-side fault ({SERVER_FAULT_CODES}); "
                   "the TriadGrpcServerErrors alert fires above 5%.",
                   [(f'(sum(rate(grpc_server_handled_total{{{rpc}, grpc_code=~"{SERVER_FAULT_CODES}"}}{rate}))'
                     f" or vector(0)) / sum(rate(grpc_server_handled_total{{{rpc}}}{rate}))",
                     "server fault ratio")],
                   12, y, unit="percentunit", w=6))
    p.append(panel(ids, "gRPC latency", "Server-side handling time, p50 and p99 over all methods, p99 per method.",
                   [(f"histogram_quantile(0.5, sum by (le) (rate(grpc_server_handling_seconds_bucket{{{rpc}}}{rate})))",
                     "p50"),
                    (f"histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{{{rpc}}}{rate})))",
                     "p99"),
                    (f"histogram_quantile(0.99, sum by (le, grpc_method) "
                     f"(rate(grpc_server_handling_seconds_bucket{{{rpc}}}{rate})))", "p99 {{grpc_method}}")],
                   18, y, unit="s", w=6))
    y += 7
    p.append(panel(ids, "Outbox depth", "Events committed and not yet confirmed by Kafka. Steady growth: "
                   "the relay is stalled or Kafka is slower than the writes.",
                   [(f"sum(triad_outbox_depth{{{SEL}}})", "depth")], 0, y))
    p.append(panel(ids, "Outbox relay", "Events published per second, failed delivery reports per second "
                   "(resent), partitions held after a failed delivery.",
                   [(f"sum(rate(triad_outbox_published_total{{{SEL}}}{rate}))", "published /s"),
                    (f"sum(rate(triad_outbox_delivery_failures_total{{{SEL}}}{rate}))", "delivery failures /s"),
                    (f"sum(triad_outbox_blocked_partitions{{{SEL}}})", "held partitions")], 8, y))
    p.append(panel(ids, "Quarantined outbox rows", "Events Kafka refused permanently (too large, unknown "
                   "topic, not authorised); they wait in outbox_quarantine for an operator. Should be 0.",
                   [(f"sum(triad_outbox_quarantined{{{SEL}}})", "quarantined")], 16, y, kind="stat"))
    y += 7
    p.append(panel(ids, "Consumed messages", "Consumed messages per second by result (applied, duplicate, "
                   "ignored, dead_lettered, retried).",
                   [(f"sum by (result) (rate(triad_consumer_messages_total{{{SEL}}}{rate}))", "{{result}}")],
                   0, y, unit="ops"))
    p.append(panel(ids, "Consumer lag", "Messages not yet consumed by the service's consumer group, by topic "
                   "(Kafka Exporter; the consumer group is named like the job).",
                   [('sum by (topic) (kafka_consumergroup_lag{namespace="$namespace", consumergroup="$job"})',
                     "{{topic}}")], 8, y))
    p.append(panel(ids, "Dead letters and paused partitions", "Messages sent to a .dlq per second (poison: "
                   "see tools/triad-dlq), and partitions paused after a transient failure (retrying).",
                   [(f'sum(rate(triad_consumer_messages_total{{{SEL}, result="dead_lettered"}}{rate}))',
                     "dead-lettered /s"),
                    (f"sum(triad_consumer_paused_partitions{{{SEL}}})", "paused partitions")], 16, y))
    y += 7
    p.append(panel(ids, "RocksDB and backup volumes", "Used bytes of the data volume (RocksDB) and of the "
                   "backup volume, against their capacity (kubelet volume stats).",
                   [(f'sum by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{namespace="$namespace", '
                     f'persistentvolumeclaim=~"(data|backups)-$job-[0-9]+"}})', "used {{persistentvolumeclaim}}"),
                    (f'sum by (persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{{namespace="$namespace", '
                     f'persistentvolumeclaim=~"(data|backups)-$job-[0-9]+"}})', "capacity {{persistentvolumeclaim}}")],
                   0, y, unit="bytes"))
    p.append(panel(ids, "Process CPU", "CPU cores used by the service's container (cAdvisor).",
                   [(f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{POD}, container!="", '
                     f'container!="POD"}}{rate}))', "{{pod}}")], 8, y))
    p.append(panel(ids, "Process memory", "Working set of the service's container (cAdvisor); the limit is "
                   "set per service in deploy/k8s/base/<svc>/values.yaml.",
                   [(f'sum by (pod) (container_memory_working_set_bytes{{{POD}, container!="", '
                     f'container!="POD"}})', "{{pod}}")], 16, y, unit="bytes"))
    return p


def dashboard():
    ids = Ids()
    panels = overview(ids, 0) + service_row(ids, 8)
    return {
        "uid": "triad-services",
        "title": "Triad services",
        "description": "Triad's four services: gRPC, outbox relay, consumers, storage, process "
                       "(generated by deploy/monitoring/dashboard.py).",
        "tags": ["triad"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "options": []},
            {"name": "namespace", "label": "Namespace", "type": "query", "datasource": DS,
             "query": {"query": 'label_values(up{job=~"triad-.+"}, namespace)', "refId": "namespace"},
             "definition": 'label_values(up{job=~"triad-.+"}, namespace)',
             "refresh": 2, "current": {}, "options": [], "hide": 0, "multi": False,
             "includeAll": False, "sort": 1},
            {"name": "job", "label": "Service", "type": "query", "datasource": DS,
             "query": {"query": 'label_values(up{namespace="$namespace", job=~"triad-.+"}, job)',
                       "refId": "job"},
             "definition": 'label_values(up{namespace="$namespace", job=~"triad-.+"}, job)',
             "refresh": 2, "current": {}, "options": [], "hide": 0, "multi": True,
             "includeAll": True, "sort": 1},
        ]},
        "panels": panels,
    }


def render():
    return json.dumps(dashboard(), indent=2, sort_keys=False) + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as fh:
            if fh.read() != text:
                print(f"{OUT} is stale: run python3 {os.path.relpath(__file__)}", file=sys.stderr)
                return 1
        print("dashboard: current")
        return 0
    with open(OUT, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
