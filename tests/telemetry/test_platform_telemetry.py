"""The running platform: one trace per user request across services and Kafka; dashboards' metrics exist.

Every process exports its spans over OTLP/HTTP to a receiver the test runs (``OTEL_EXPORTER_OTLP_ENDPOINT``),
exactly as it would to an OpenTelemetry Collector.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

import httpx
import pytest
from telemetry_support import (
    alert_queries,
    ancestry,
    dashboard_queries,
    dashboards,
    describe,
    exposed_names,
    promql_metric_names,
    unknown_names,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("platform")]

#: What the trace of "record an activity" passes through, from the last consumer back to the caller.
EXPECTED_PATH = [
    ("tanso-reporting", "CONSUMER", "tanso.calculation.v1 process"),
    ("tanso-calculation", "PRODUCER", "tanso.calculation.v1 publish"),
    ("tanso-calculation", "CONSUMER", "tanso.activities.v1 process"),
    ("tanso-activities", "PRODUCER", "tanso.activities.v1 publish"),
    ("tanso-activities", "SERVER", "POST /activities"),
    ("tanso-gateway", "CLIENT", "POST"),
    ("tanso-gateway", "SERVER", "POST /api/{service}/{path}"),
]


def reporting_consumer(spans) -> list:
    return [s for s in spans if s.service == "tanso-reporting" and s.kind == "CONSUMER"]


def complete(spans) -> bool:
    """The reporting consumer's ancestry is all there (processes export in their own batches)."""
    return any(len(ancestry(spans, leaf)) >= len(EXPECTED_PATH) for leaf in reporting_consumer(spans))


def test_one_trace_spans_gateway_activities_kafka_calculation_kafka_reporting(traced_platform, tenant, otlp):
    company = tenant.sign_up("trace 株式会社")
    site = tenant.add_site(company["org_unit_id"], "本社")
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    recorded = tenant.record_response(site, "1000", headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert recorded.headers["traceparent"].split("-")[1] == trace_id
    tenant.wait_for("/api/reporting/reports/2025", lambda r: Decimal(r["total_t"]) > 0)

    spans = otlp.wait_for(trace_id, complete)
    assert {"tanso-gateway", "tanso-activities", "tanso-calculation", "tanso-reporting"} <= {s.service for s in spans}
    # One chain per EmissionCalculated (an activity can yield several lines); each is complete.
    leaf = next(s for s in reporting_consumer(spans) if len(ancestry(spans, s)) >= len(EXPECTED_PATH))
    chain = ancestry(spans, leaf)
    shown = "\n".join(describe(s) for s in chain)
    assert [(s.service, s.kind) for s in chain] == [(svc, kind) for svc, kind, _ in EXPECTED_PATH], shown
    assert [s.name for s in chain] == [name for *_, name in EXPECTED_PATH], shown
    assert chain[-1].parent_span_id == caller_span, "the gateway's server span continues the caller's trace"
    assert {s.trace_id for s in chain} == {trace_id}

    producer = chain[3]
    assert producer.attributes["messaging.destination.name"] == "tanso.activities.v1"
    assert producer.attributes["cloudevents.event_type"].endswith("ActivityRecorded.v1")
    consumer = chain[2]
    assert consumer.attributes["messaging.consumer.group.name"] == "calculation"
    assert consumer.attributes["tanso.outcome"] == "applied"
    assert chain[4].attributes["http.route"] == "/activities"
    assert chain[4].attributes["http.response.status_code"] == 201


def scrape(platform) -> dict[str, str]:
    with httpx.Client(timeout=10) as client:
        return {name: client.get(f"{url}/metrics").raise_for_status().text for name, url in platform.urls.items()}


def test_every_metric_a_dashboard_or_alert_queries_is_exported_by_a_running_service(traced_platform, tenant):
    company = tenant.sign_up("metrics KK")
    site = tenant.add_site(company["org_unit_id"], "工場")
    tenant.record(site, "500")
    tenant.wait_for("/api/reporting/reports/2025", lambda r: Decimal(r["total_t"]) > 0)

    expositions = scrape(traced_platform)
    exported = set().union(*(exposed_names(text) for text in expositions.values()))

    checked, missing = 0, []
    queries = [(f"{name}: {where}", expr) for name, board in dashboards().items()
               for where, expr in dashboard_queries(board)]
    for where, expr in [*queries, *alert_queries()]:
        names = promql_metric_names(expr) - {"up"}  # ``up`` is Prometheus's own, per scrape target
        checked += len(names)
        missing += [f"{where}: {name}" for name in sorted(unknown_names(names, exported))]
    assert len(dashboards()) >= 4 and checked > 40
    assert not missing, "queried but exported by no service:\n" + "\n".join(missing)


def test_each_process_reports_red_metrics_and_the_event_flow(traced_platform, tenant):
    company = tenant.sign_up("red KK")
    site = tenant.add_site(company["org_unit_id"], "倉庫")
    tenant.record(site, "250")
    tenant.wait_for("/api/reporting/reports/2025", lambda r: Decimal(r["total_t"]) > 0)

    expositions = scrape(traced_platform)
    for name, text in expositions.items():
        assert f'tanso_service_info{{service="{name}",version=' in text, name
        assert "process_cpu_seconds_total" in text, name
    assert 'tanso_http_requests_total{method="POST",route="/activities",service="activities",status="201"}' \
        in expositions["activities"]
    assert 'tanso_http_requests_total{method="POST",route="/api/activities/{path}",service="gateway",status="201"}' \
        in expositions["gateway"]
    assert 'tanso_events_handled_total{event_type="tanso.activities.ActivityRecorded.v1",outcome="applied",' \
           'service="calculation"}' in expositions["calculation"]
    assert 'tanso_events_published_total{event_type="tanso.calculation.EmissionCalculated.v1",' \
           'service="calculation",topic="tanso.calculation.v1"}' in expositions["calculation"]
    assert 'tanso_outbox_backlog{service="activities"}' in expositions["activities"]
    assert 'tanso_consumer_lag{partition=' in expositions["reporting"]
    assert 'tanso_gateway_tenant_requests_total{code_class="2xx",service="gateway",tenant_id="' \
        + company["tenant_id"] + '",upstream="activities"}' in expositions["gateway"]
    for text in expositions.values():
        assert "red KK" not in text and "倉庫" not in text, "tenant data must never become a label"
