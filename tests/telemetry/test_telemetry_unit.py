"""Telemetry without the platform: spans across request → outbox → relay → consumer, metric helpers,
gauges, the metric catalogue in docs/operations.md, and the PromQL name parser the platform test uses.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, select
from tanso_events.catalog import OrgUnitRegistered, TenantRegistered
from tanso_events.envelope import new_envelope
from tanso_events.kafka import EventConsumer, Handled
from tanso_events.relay import OutboxRelay
from tanso_events.store import add_messaging_tables
from tanso_events.tracing import current_traceparent, use_traceparent
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime import metrics
from tanso_runtime.app import ServiceSpec, create_service_app
from tanso_runtime.db import make_engine
from tanso_runtime.logs import JsonFormatter
from tanso_runtime.settings import service_settings
from tanso_runtime.telemetry import _otlp, setup_telemetry
from telemetry_support import ROOT, exposed_names, promql_metric_names, unknown_names


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def spans():
    """Finished spans of this process (the SDK records while a processor listens)."""
    telemetry = setup_telemetry("unit")
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    telemetry.add_span_processor(processor)
    yield exporter
    telemetry.remove_span_processor(processor)


def hex_ids(span) -> tuple[str, str]:
    ctx = span.get_span_context() if hasattr(span, "get_span_context") else span.context
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


# --- HTTP ---------------------------------------------------------------------------------------

def service_app(name: str):
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "handling %s", (thing_id,), None)
        return {"log": json.loads(JsonFormatter(name).format(record)), "traceparent": current_traceparent()}

    @router.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("kaput")

    metadata = MetaData()
    spec = ServiceSpec(settings=service_settings(name, 8999)(), title=name, description=name,
                       metadata=metadata, tables=add_messaging_tables(metadata), routers=[router])
    return create_service_app(spec)


async def test_a_request_is_a_server_span_of_the_callers_trace_with_red_metrics_by_route_template(spans):
    app = service_app("unit-http")
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False),
                                 base_url="http://t") as client:
        response = await client.get("/things/42", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
        assert (await client.get("/no/such/path")).status_code == 404
        assert (await client.get("/boom")).status_code == 500
        assert (await client.get("/health/live")).status_code == 200
        scraped = (await client.get("/metrics")).text

    body = response.json()
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER and "/things" in s.name]
    trace_id, span_id = hex_ids(server)
    assert server.name == "GET /things/{thing_id}"
    assert (trace_id, f"{server.parent.span_id:016x}") == (caller_trace, caller_span)
    assert body["traceparent"].split("-")[1:3] == [trace_id, span_id]  # what the outbox would store
    assert response.headers["traceparent"].split("-")[1] == trace_id
    assert (body["log"]["trace_id"], body["log"]["span_id"]) == (trace_id, span_id)
    assert not [s for s in spans.get_finished_spans() if "/health" in s.name or "/metrics" in s.name]

    assert value("tanso_http_requests_total", service="unit-http", route="/things/{thing_id}",
                 method="GET", status="200") == 1
    assert value("tanso_http_request_duration_seconds_count", service="unit-http",
                 route="/things/{thing_id}", method="GET") == 1
    assert value("tanso_http_requests_total", service="unit-http", route="unmatched", method="GET",
                 status="404") == 1
    assert value("tanso_http_requests_total", service="unit-http", route="/boom", method="GET", status="500") == 1
    assert value("tanso_http_requests_total", service="unit-http", route="/health/live", method="GET",
                 status="200") == 0
    assert 'tanso_http_requests_total{method="GET",route="/things/{thing_id}",service="unit-http",status="200"}' \
        in scraped


# --- outbox → relay → Kafka → consumer ------------------------------------------------------------

@pytest.fixture
async def store(tmp_path):
    metadata = MetaData()
    tables = add_messaging_tables(metadata)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'unit.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine, tables
    await engine.dispose()


def tenant_registered(tenant: str) -> TenantRegistered:
    return TenantRegistered(tenant_id=tenant, company_name="c", fiscal_year_start_month=4)


async def outbox_headers(engine, tables) -> list[dict]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(tables.outbox.c.headers).order_by(tables.outbox.c.position)))
                    .scalars())


async def test_outbox_relay_and_consumer_continue_the_trace_of_the_request_that_queued_the_event(spans, store):
    engine, tables = store
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /tenants", kind=SpanKind.SERVER) as request_span:
        async with UnitOfWork(engine, tables, []) as uow:
            await uow.publish(tenant_registered("t1"), subject="t1", tenant_id="t1", aggregate_type="tenant")
    request_trace, request_span_id = hex_ids(request_span)
    [stored] = await outbox_headers(engine, tables)
    assert stored["traceparent"].split("-")[1:3] == [request_trace, request_span_id]

    sent, published = [], []

    async def publish(topic, key, payload, headers):
        sent.append((topic, payload, headers))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    relay = OutboxRelay(engine, tables, publish, on_published=lambda *a: published.append(a))
    assert await relay.run_once() == 1
    assert published == [("tanso.identity.v1", "tanso.identity.TenantRegistered.v1", 1)]
    [producer] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    producer_trace, producer_id = hex_ids(producer)
    assert producer.name == "tanso.identity.v1 publish"
    assert (producer_trace, f"{producer.parent.span_id:016x}") == (request_trace, request_span_id)
    topic, payload, headers = sent[0]
    assert headers["traceparent"].split("-")[1:3] == [producer_trace, producer_id]

    handled: list[Handled] = []

    async def on_tenant(event, meta, uow) -> None:
        await uow.publish(OrgUnitRegistered(org_unit_id="o1", kind="company",
                                            parent_id=None, name_ja="本社"),
                          subject="o1", tenant_id=event.tenant_id, aggregate_type="org_unit")

    consumer = EventConsumer(name="unit", engine=engine, tables=tables,
                             uow_factory=lambda cid: UnitOfWork(engine, tables, [], causation_id=cid),
                             handlers={TenantRegistered: on_tenant}, observe=handled.append)
    by_type = {TenantRegistered.event_type(): (TenantRegistered, on_tenant)}
    record = SimpleNamespace(topic=topic, partition=0, offset=7)
    await consumer.process(payload, headers, record, by_type)
    await consumer.process(payload, headers, record, by_type)  # redelivery
    await consumer.process(b"not an envelope", {}, record, by_type)
    other = new_envelope(tenant_registered("t2"), subject="t2", tenant_id="t2", time=datetime.now(UTC))
    await consumer.process(other.model_dump_json().encode(), {}, record, {})  # no handler here

    [process, *_] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    process_trace, process_id = hex_ids(process)
    assert process.name == "tanso.identity.v1 process"
    assert (process_trace, f"{process.parent.span_id:016x}") == (producer_trace, producer_id)
    assert process.attributes["messaging.consumer.group.name"] == "unit"
    assert process.attributes["tanso.outcome"] == "applied"
    queued_by_handler = (await outbox_headers(engine, tables))[1]
    assert queued_by_handler["traceparent"].split("-")[1:3] == [process_trace, process_id]

    assert [(h.event_type, h.outcome, h.tenant_id) for h in handled] == [
        ("tanso.identity.TenantRegistered.v1", "applied", "t1"),
        ("tanso.identity.TenantRegistered.v1", "duplicate", "t1"),
        ("unknown", "parked", None),
        ("tanso.identity.TenantRegistered.v1", "ignored", "t2"),
    ]
    assert all(h.seconds >= 0 and h.topic == "tanso.identity.v1" for h in handled)


async def test_a_failing_handler_is_counted_failed_and_its_span_is_an_error(spans, store):
    engine, tables = store
    handled: list[Handled] = []

    async def broken(event, meta, uow) -> None:
        raise ConnectionError("database briefly unavailable")

    consumer = EventConsumer(name="unit", engine=engine, tables=tables, retry_delay=0,
                             uow_factory=lambda cid: UnitOfWork(engine, tables, [], causation_id=cid),
                             handlers={TenantRegistered: broken}, observe=handled.append)
    payload = new_envelope(tenant_registered("t9"), subject="t9", tenant_id="t9",
                           time=datetime.now(UTC)).model_dump_json().encode()
    with pytest.raises(ConnectionError):
        await consumer.process(payload, {}, SimpleNamespace(topic="tanso.identity.v1"),
                               {TenantRegistered.event_type(): (TenantRegistered, broken)})
    assert [h.outcome for h in handled] == ["failed"]
    [span] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert not span.status.is_ok and span.parent is None  # no traceparent header: a new trace


def test_without_a_span_processor_spans_are_not_recorded_but_ids_still_propagate():
    telemetry = setup_telemetry("unit")
    if telemetry._fanout.processors:
        pytest.skip("a span processor is attached in this process")
    token = use_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    try:
        with trace.get_tracer("test").start_as_current_span("child") as span:
            assert not span.is_recording()
            assert current_traceparent().split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
            assert current_traceparent().split("-")[2] != "00f067aa0ba902b7"
    finally:
        from tanso_events.tracing import reset_traceparent

        reset_traceparent(token)


def test_use_traceparent_replaces_a_malformed_value_with_a_fresh_context():
    from tanso_events.tracing import reset_traceparent

    token = use_traceparent("garbage")
    try:
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", current_traceparent())
    finally:
        reset_traceparent(token)
    assert current_traceparent() is None


def test_otlp_export_follows_the_standard_environment_variables():
    assert _otlp({}, "TRACES") is None
    assert _otlp({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "TRACES") == "http://c:4318"
    assert _otlp({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "TRACES")
    assert _otlp({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "TRACES") is None
    assert _otlp({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "METRICS") is None


# --- metric helpers -----------------------------------------------------------------------------

async def test_business_counters_count_only_when_the_unit_of_work_commits(store):
    engine, tables = store
    metrics.set_service("calculation")
    before = value("tanso_recalculations_total", service="calculation", reason="factor_published")
    async with UnitOfWork(engine, tables, []) as uow:
        metrics.count_recalculation("factor_published", 2, uow=uow)
        assert value("tanso_recalculations_total", service="calculation", reason="factor_published") == before
    assert value("tanso_recalculations_total", service="calculation", reason="factor_published") == before + 2

    with pytest.raises(RuntimeError):
        async with UnitOfWork(engine, tables, []) as uow:
            metrics.count_recalculation("factor_published", uow=uow)
            raise RuntimeError("rolled back")
    assert value("tanso_recalculations_total", service="calculation", reason="factor_published") == before + 2


def test_business_counters_keep_their_labels_bounded():
    metrics.set_service("calculation")
    other = value("tanso_recalculations_total", service="calculation", reason="other")
    metrics.count_recalculation("activity corrected: typo in the meter reading")  # free text → other
    assert value("tanso_recalculations_total", service="calculation", reason="other") == other + 1

    metrics.set_service("activities")
    rows = value("tanso_csv_rows_imported_total", service="activities", tenant_id="t-csv")
    metrics.count_csv_rows_imported("t-csv", 120)
    metrics.count_csv_import("imported")
    assert value("tanso_csv_rows_imported_total", service="activities", tenant_id="t-csv") == rows + 120
    assert value("tanso_csv_imports_total", service="activities", outcome="imported") >= 1

    metrics.set_service("supplier-exchange")
    metrics.count_disclosure_granted("t-supplier")
    assert value("tanso_disclosures_granted_total", service="supplier-exchange", tenant_id="t-supplier") >= 1


def test_handled_events_feed_red_dead_letters_and_tenant_activity():
    observe = metrics.handled_observer("unit-kafka")
    event = "tanso.activities.ActivityRecorded.v1"
    observe(Handled("tanso.activities.v1", event, "applied", 0.02, "t1"))
    observe(Handled("tanso.activities.v1", event, "parked", 0.01, "t1"))
    observe(Handled("tanso.activities.v1", "tanso.activities.Other.v1", "ignored", 0.0, "t1"))
    assert value("tanso_events_handled_total", service="unit-kafka", event_type=event, outcome="applied") == 1
    assert value("tanso_event_handling_duration_seconds_count", service="unit-kafka", event_type=event) == 2
    assert value("tanso_event_handling_duration_seconds_count", service="unit-kafka",
                 event_type="tanso.activities.Other.v1") == 0
    assert value("tanso_dead_letters_parked_total", service="unit-kafka", topic="tanso.activities.v1") == 1
    assert value("tanso_tenant_events_total", service="unit-kafka", tenant_id="t1", event_type=event) == 1

    metrics.published_observer("unit-kafka")("tanso.activities.v1", event, 3)
    assert value("tanso_events_published_total", service="unit-kafka", topic="tanso.activities.v1",
                 event_type=event) == 3
    metrics.count_gateway_request("t1", "activities", 429)
    assert value("tanso_gateway_rate_limited_total", service="gateway", tenant_id="t1") >= 1
    assert value("tanso_gateway_tenant_requests_total", service="gateway", tenant_id="t1",
                 upstream="activities", code_class="4xx") >= 1


class FakeRelay:
    def __init__(self, backlog: int, oldest: datetime | None) -> None:
        self.result = (backlog, oldest)

    async def backlog(self):
        return self.result


class FakeConsumer:
    def __init__(self, *lags) -> None:
        self.lags = list(lags)

    async def partition_lag(self):
        return self.lags.pop(0)


async def test_gauges_refresh_on_scrape_at_most_once_per_interval_and_forget_moved_partitions():
    now = [100.0]
    oldest = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=30)  # SQLite: naive UTC
    gauges = metrics.ServiceGauges("unit-gauges", relay=FakeRelay(4, oldest),
                                   consumer=FakeConsumer([("t", 0, 5), ("t", 1, 0)], [("t", 1, 2)]),
                                   min_interval=2.0, clock=lambda: now[0])
    await gauges.refresh()
    assert value("tanso_outbox_backlog", service="unit-gauges") == 4
    assert 29 <= value("tanso_outbox_oldest_unpublished_age_seconds", service="unit-gauges") < 60
    assert value("tanso_consumer_lag", service="unit-gauges", topic="t", partition="0") == 5
    await gauges.refresh()  # within the interval: nothing asked
    now[0] += 2.5
    await gauges.refresh()
    assert REGISTRY.get_sample_value("tanso_consumer_lag", {"service": "unit-gauges", "topic": "t",
                                                            "partition": "0"}) is None
    assert value("tanso_consumer_lag", service="unit-gauges", topic="t", partition="1") == 2


async def test_consumer_lag_is_highwater_minus_position_of_the_assigned_partitions():
    from aiokafka import TopicPartition

    class Consumer:
        def assignment(self):
            return {TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)}

        def highwater(self, tp):
            return {("a", 0): 10, ("a", 1): None, ("b", 0): 3}[(tp.topic, tp.partition)]

        async def position(self, tp):
            return {("a", 0): 7, ("b", 0): 3}[(tp.topic, tp.partition)]

    consumer = EventConsumer(name="x", engine=None, tables=None, uow_factory=None, handlers={})
    assert await consumer.partition_lag() == []  # not subscribed yet
    consumer.subscriber = SimpleNamespace(consumer=Consumer())
    assert await consumer.partition_lag() == [("a", 0, 3), ("b", 0, 0)]


# --- the catalogue ------------------------------------------------------------------------------

def test_every_metric_is_documented_in_operations_md_and_every_documented_metric_exists():
    documented = set(re.findall(r"\btanso_[a-z0-9_]+", (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")))
    defined = metrics.metric_names()
    assert len(defined) >= 19
    assert not defined - documented, f"metrics missing from docs/operations.md: {sorted(defined - documented)}"
    mentioned = {n for n in documented if importlib.util.find_spec(n) is None}  # not a package name
    assert not unknown_names(mentioned, defined), "docs/operations.md names metrics that do not exist"


def test_the_exposition_of_a_process_contains_every_defined_family():
    from prometheus_client import generate_latest

    names = exposed_names(generate_latest(REGISTRY).decode())
    assert metrics.metric_names() <= names
    assert "process_cpu_seconds_total" in names


@pytest.mark.parametrize(("expr", "names"), [
    ('sum by (service) (rate(tanso_http_requests_total{status=~"5..", service="$service"}[$__rate_interval]))',
     {"tanso_http_requests_total"}),
    ("histogram_quantile(0.99, sum by (le, route) (rate(tanso_http_request_duration_seconds_bucket[5m])))",
     {"tanso_http_request_duration_seconds_bucket"}),
    ("rate(process_cpu_seconds_total[5m]) * on (instance) group_left (service) tanso_service_info",
     {"process_cpu_seconds_total", "tanso_service_info"}),
    ("sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9) > 0.05 and up == 1",
     {"a_total", "b_total", "up"}),
    ("label_values(tanso_gateway_tenant_requests_total, tenant_id)", {"tanso_gateway_tenant_requests_total"}),
    ("max_over_time(tanso_consumer_lag[10m:1m] offset 5m)", {"tanso_consumer_lag"}),
    ('sum by (tenant_id) (increase(tanso_csv_rows_imported_total{tenant_id=~"$tenant_id"}[$__range]))',
     {"tanso_csv_rows_imported_total"}),
])
def test_promql_metric_names(expr: str, names: set[str]):
    assert promql_metric_names(expr) == names


def test_a_promql_syntax_error_is_not_silently_skipped():
    with pytest.raises(ValueError):
        promql_metric_names("sum(rate(tanso_http_requests_total[5m])")


def test_histogram_series_count_as_exported_when_their_family_is():
    exported = {"tanso_http_request_duration_seconds", "tanso_http_requests_total"}
    assert unknown_names({"tanso_http_request_duration_seconds_bucket", "tanso_http_requests_total",
                          "tanso_nope_total", "tanso_nope_bucket"}, exported) == {"tanso_nope_total", "tanso_nope_bucket"}
