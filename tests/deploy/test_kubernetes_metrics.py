"""deploy/kubernetes and deploy/grafana: every service's pods say where Prometheus finds their /metrics, the
NetworkPolicies let Prometheus (and nothing else new) reach it, the gateway's token comes from an optional
Secret, the services log JSON, and the Grafana dashboard is a dashboard (its metric names are checked
against what running services expose in tests/observability)."""

import json

from tests.deploy.kubernetes_render import (
    K8S,
    container_ports,
    containers,
    objects,
    pod_labels,
    pod_template,
    settings_of,
)
from tests.deploy.network_policy_model import Network

DASHBOARD = K8S.parent / "grafana" / "video-analysis.json"
SERVICES = {"gateway", "orchestrator", "media-service", "lite-models"}
PROMETHEUS = ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"})


def scraped(docs) -> dict[str, dict]:
    return {name: d for name, d in objects(docs, "Deployment").items() if name in SERVICES}


def test_every_service_pod_is_annotated_for_scraping_on_its_own_port(docs):
    found = scraped(docs)
    assert set(found) >= {"gateway", "orchestrator", "media-service"}
    for name, deployment in found.items():
        annotations = pod_template(deployment)["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        assert int(annotations["prometheus.io/port"]) == container_ports(deployment)["http"], name
    others = [name for name, d in objects(docs, "Deployment").items() if name not in SERVICES]
    for name in others:
        assert "prometheus.io/scrape" not in pod_template(objects(docs, "Deployment")[name])["metadata"].get(
            "annotations", {}), name


def _ingress(network: Network, target: str, peer: tuple, port: int) -> bool:
    workload = network.pods[target]
    return network._allowed("Ingress", pod_labels(workload), ("foreign-pod", peer), port, "TCP",
                            container_ports(workload))


def test_prometheus_alone_may_scrape_the_internal_services(docs):
    network = Network(docs)
    elsewhere = [({"kubernetes.io/metadata.name": "default"}, {"app.kubernetes.io/name": "prometheus"}),
                 ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "grafana"})]
    for name, deployment in scraped(docs).items():
        port = container_ports(deployment)["http"]
        assert _ingress(network, name, PROMETHEUS, port), name
        if name != "gateway":  # the public API's port is open to everyone anyway
            assert not any(_ingress(network, name, peer, port) for peer in elsewhere), name
    assert not _ingress(network, "postgres", PROMETHEUS, 5432)


def test_the_gateway_reads_its_metrics_token_from_an_optional_secret(docs, monkeypatch):
    container = containers(objects(docs, "Deployment")["gateway"])[0]
    [item] = [item for item in container["env"] if item["name"] == "METRICS_TOKEN"]
    assert item["valueFrom"]["secretKeyRef"] == {"name": "video-analysis-metrics", "key": "token", "optional": True}
    settings, _ = settings_of(container, monkeypatch)
    assert settings.metrics_token is None  # no such Secret here: /metrics is off on the keyed gateway


def test_the_services_log_json(docs, monkeypatch):
    for name, deployment in scraped(docs).items():
        settings, _ = settings_of(containers(deployment)[0], monkeypatch)
        assert settings.log_format == "json", name


def test_the_dashboard_is_grafana_json_on_a_prometheus_source():
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["title"]
    assert {"timeseries"} <= {p["type"] for p in panels}
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("requests", "latency", "tasks by status", "stage", "queue", "model call", "downloads"):
        assert topic in titles, topic
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and all(t["expr"].strip() and t["refId"] for t in panel["targets"]), panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == ("datasource", "datasource", "prometheus")
