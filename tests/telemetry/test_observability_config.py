"""The observability files agree with each other and with docker-compose.yml (no Docker needed).

Prometheus scrapes every process compose runs, the collector's pipelines use what it defines and
send where Tempo listens, Grafana's datasource uid is the one the dashboards use, every image is
pinned and every mounted file exists.
"""

from __future__ import annotations

import re

import pytest
import yaml
from telemetry_support import ROOT, dashboards

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
OBSERVABILITY = {name: s for name, s in SERVICES.items() if "observability" in (s.get("profiles") or [])}
TANSO = {name: s for name, s in SERVICES.items() if (s.get("build") or {}).get("args", {}).get("SERVICE")}


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def http_port(name: str) -> str:
    env = TANSO[name]["environment"]
    return next(v for k, v in env.items() if k.endswith("_HTTP__PORT"))


def test_the_profile_has_a_collector_tempo_prometheus_and_grafana_with_pinned_images():
    images = {name: s["image"] for name, s in OBSERVABILITY.items()}
    assert {"otel-collector", "tempo", "prometheus", "grafana"} <= set(images)
    for name, image in images.items():
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name}: pin a version, not {image!r}"
    assert not any(s.get("ports") for s in OBSERVABILITY.values()), "ports only via deploy/grafana/compose.ports.yaml"


@pytest.mark.parametrize("name", sorted(OBSERVABILITY))
def test_every_mounted_file_exists(name: str):
    for volume in OBSERVABILITY[name].get("volumes") or []:
        source = str(volume).split(":")[0]
        if source.startswith("."):
            assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


@pytest.mark.parametrize("name", sorted(TANSO))
def test_every_tanso_process_can_export_traces_when_asked(name: str):
    assert TANSO[name]["environment"].get("OTEL_EXPORTER_OTLP_ENDPOINT") == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"


def test_prometheus_scrapes_every_tanso_process_at_its_port_and_loads_the_alerts():
    config = load("deploy/prometheus/prometheus.yml")
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "tanso"]
    targets = {t for static in job["static_configs"] for t in static["targets"]}
    assert targets == {f"{name}:{http_port(name)}" for name in TANSO}
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = OBSERVABILITY["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts


def test_the_collector_pipelines_use_defined_components_and_reach_tempo():
    config = load("deploy/otel/collector.yaml")
    for pipeline, spec in config["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in spec.get(kind, []):
                assert component in config[kind], f"{pipeline}: {kind[:-1]} {component} is not defined"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    tempo = load("deploy/otel/tempo.yaml")
    tempo_grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1]
    assert config["exporters"]["otlp/tempo"]["endpoint"] == f"tempo:{tempo_grpc}"
    collector_target = load("deploy/prometheus/prometheus.yml")["scrape_configs"][1]["static_configs"][0]["targets"]
    assert collector_target == [f"otel-collector:{config['exporters']['prometheus']['endpoint'].rsplit(':', 1)[1]}"]


def test_grafana_provisions_the_datasource_and_the_dashboards_it_is_given():
    datasources = {d["uid"]: d for d in load("deploy/grafana/provisioning/datasources/tanso.yaml")["datasources"]}
    assert datasources["tanso-prometheus"]["url"] == "http://prometheus:9090"
    assert datasources["tanso-tempo"]["url"].startswith("http://tempo:")
    [provider] = load("deploy/grafana/provisioning/dashboards/tanso.yaml")["providers"]
    mounts = OBSERVABILITY["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts

    boards = dashboards()
    assert {"platform-overview.json", "service-red.json", "event-flow.json", "tenant-activity.json"} <= set(boards)
    assert len({b["uid"] for b in boards.values()}) == len(boards)
    for name, board in boards.items():
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in datasources, f"{name}: {panel['title']}"
                assert panel["targets"], f"{name}: {panel['title']} has no query"
