"""The Prometheus metrics of every Tanso process: names, labels, and the calls that record them.

Served at ``GET /metrics`` by every service and the gateway (``tanso_runtime.telemetry``), from
``prometheus_client``'s default registry (which also carries ``process_*`` and ``python_*``).
Names are part of the operations contract: the Grafana dashboards and the alert rules under
``deploy/`` query them, ``docs/operations.md`` lists them, and ``tests/telemetry`` fails when a
dashboard queries a name that no service exports.

Every metric has a ``service`` label (``identity`` … ``reporting``, ``gateway``). Tenant ids appear
as a label only on the tenant-activity metrics (``tanso_tenant_events_total``,
``tanso_gateway_tenant_requests_total``, ``tanso_gateway_rate_limited_total``,
``tanso_csv_rows_imported_total``, ``tanso_disclosures_granted_total``); no metric carries tenant
data (names, amounts, free text).

Service code records business events with one line, after its transaction commits::

    from tanso_runtime import metrics
    metrics.count_recalculation("factor_published", uow=uow)
    metrics.count_csv_rows_imported(principal.tenant_id, result.row_count, uow=uow)
    metrics.count_disclosure_granted(tenant_id, uow=uow)

With ``uow=`` the count is made only if (and when) that unit of work commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from sqlalchemy import func, select

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from tanso_events.kafka import EventConsumer, Handled
    from tanso_events.relay import OutboxRelay
    from tanso_events.store import MessagingTables
    from tanso_events.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# ``*_created`` series double the series count and no dashboard uses them.
disable_created_metrics()

#: Seconds; from a fast GET to a large CSV import.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_service = "unknown"


def set_service(name: str) -> None:
    """The ``service`` label of the counters recorded through the module-level helpers."""
    global _service
    _service = name


def service() -> str:
    return _service


# --- info ---------------------------------------------------------------------------------------

SERVICE_INFO = Gauge("tanso_service_info", "Always 1: a Tanso process is exporting metrics.",
                     ["service", "version"])

# --- HTTP (RED per route) -----------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "tanso_http_requests_total",
    "HTTP requests handled, by route template (e.g. /activities/{activity_id}), method and status.",
    ["service", "route", "method", "status"])
HTTP_DURATION = Histogram(
    "tanso_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response body.",
    ["service", "route", "method"], buckets=LATENCY_BUCKETS)

# --- Kafka consumers (RED per handler) ---------------------------------------------------------

EVENTS_HANDLED = Counter(
    "tanso_events_handled_total",
    "Kafka records by CloudEvents type and outcome: applied, duplicate, parked, failed, ignored.",
    ["service", "event_type", "outcome"])
EVENT_DURATION = Histogram(
    "tanso_event_handling_duration_seconds",
    "Time to decode, handle and commit one event (records without a handler here are not timed).",
    ["service", "event_type"], buckets=LATENCY_BUCKETS)
CONSUMER_LAG = Gauge(
    "tanso_consumer_lag",
    "Records not yet consumed per assigned partition: highwater - position (refreshed on scrape).",
    ["service", "topic", "partition"])
DEAD_LETTERS_PARKED = Counter(
    "tanso_dead_letters_parked_total",
    "Events parked in the dead_letters table by this process since it started.",
    ["service", "topic"])
DEAD_LETTERS = Gauge(
    "tanso_dead_letters",
    "Rows in the service's dead_letters table (refreshed on scrape).",
    ["service"])

# --- outbox relay ------------------------------------------------------------------------------

EVENTS_PUBLISHED = Counter(
    "tanso_events_published_total",
    "Outbox rows the relay published and the broker acknowledged.",
    ["service", "topic", "event_type"])
RELAY_FAILURES = Counter(
    "tanso_outbox_relay_failures_total",
    "Relay rounds that failed (broker or database unavailable); the rows stay and are retried.",
    ["service"])
OUTBOX_BACKLOG = Gauge(
    "tanso_outbox_backlog",
    "Outbox rows not yet published (refreshed on scrape).",
    ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "tanso_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row; 0 when the outbox is drained (refreshed on scrape).",
    ["service"])

# --- tenant activity (tenant ids only) ----------------------------------------------------------

TENANT_EVENTS = Counter(
    "tanso_tenant_events_total",
    "Events a consumer applied, per tenant id and CloudEvents type.",
    ["service", "tenant_id", "event_type"])
GATEWAY_TENANT_REQUESTS = Counter(
    "tanso_gateway_tenant_requests_total",
    "Authenticated requests through the gateway per tenant id, upstream service and status class.",
    ["service", "tenant_id", "upstream", "code_class"])
GATEWAY_RATE_LIMITED = Counter(
    "tanso_gateway_rate_limited_total",
    "Requests the gateway refused with 429 per tenant id.",
    ["service", "tenant_id"])

# --- business counters (recorded by the services' own code) -------------------------------------

RECALCULATION_REASONS = ("initial", "activity_corrected", "activity_voided", "factor_published", "logic_changed",
                         "other")
RECALCULATIONS = Counter(
    "tanso_recalculations_total",
    "Emission lines computed, by reason: initial, activity_corrected, activity_voided, "
    "factor_published, other.",
    ["service", "reason"])
CSV_IMPORT_OUTCOMES = ("imported", "duplicate", "rejected", "dry_run")
CSV_IMPORTS = Counter(
    "tanso_csv_imports_total",
    "CSV uploads by outcome: imported, duplicate (same file again), rejected (422), dry_run.",
    ["service", "outcome"])
CSV_ROWS_IMPORTED = Counter(
    "tanso_csv_rows_imported_total",
    "Activity rows recorded from CSV imports, per tenant id.",
    ["service", "tenant_id"])
DISCLOSURES_GRANTED = Counter(
    "tanso_disclosures_granted_total",
    "Disclosures a supplier granted to a buyer, per granting tenant id.",
    ["service", "tenant_id"])


def _when_committed(uow: UnitOfWork | None, count: Callable[[], None]) -> None:
    if uow is None:
        count()
    else:
        uow.after_commit(count)


def _bounded(value: str, allowed: tuple[str, ...], fallback: str, what: str) -> str:
    if value in allowed:
        return value
    log.warning("metrics: %s %r is not one of %s; counted as %r", what, value, allowed, fallback)
    return fallback


def count_recalculation(reason: str, n: int = 1, *, uow: UnitOfWork | None = None) -> None:
    """``n`` emission lines (re)computed for ``reason`` (one of :data:`RECALCULATION_REASONS`)."""
    child = RECALCULATIONS.labels(_service, _bounded(reason, RECALCULATION_REASONS, "other", "reason"))
    _when_committed(uow, lambda: child.inc(n))


def count_csv_import(outcome: str) -> None:
    """One CSV upload finished with ``outcome`` (one of :data:`CSV_IMPORT_OUTCOMES`)."""
    CSV_IMPORTS.labels(_service, _bounded(outcome, CSV_IMPORT_OUTCOMES, "rejected", "outcome")).inc()


def count_csv_rows_imported(tenant_id: str, rows: int, *, uow: UnitOfWork | None = None) -> None:
    """``rows`` activity rows recorded for ``tenant_id`` by one CSV import."""
    child = CSV_ROWS_IMPORTED.labels(_service, tenant_id)
    _when_committed(uow, lambda: child.inc(rows))


def count_disclosure_granted(tenant_id: str, *, uow: UnitOfWork | None = None) -> None:
    """``tenant_id`` (the supplier) granted one disclosure."""
    child = DISCLOSURES_GRANTED.labels(_service, tenant_id)
    _when_committed(uow, lambda: child.inc())


# --- recorded by the runtime --------------------------------------------------------------------

def observe_request(service: str, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
    HTTP_DURATION.labels(service, route, method).observe(seconds)


def handled_observer(service: str) -> Callable[[Handled], None]:
    """``EventConsumer.observe`` for ``service``."""

    def observe(handled: Handled) -> None:
        EVENTS_HANDLED.labels(service, handled.event_type, handled.outcome).inc()
        if handled.outcome == "ignored":
            return
        EVENT_DURATION.labels(service, handled.event_type).observe(handled.seconds)
        if handled.outcome == "parked":
            DEAD_LETTERS_PARKED.labels(service, handled.topic).inc()
        elif handled.outcome == "applied" and handled.tenant_id:
            TENANT_EVENTS.labels(service, handled.tenant_id, handled.event_type).inc()

    return observe


def published_observer(service: str) -> Callable[[str, str, int], None]:
    """``OutboxRelay.on_published`` for ``service``: (topic, CloudEvents type, count)."""

    def observe(topic: str, event_type: str, count: int) -> None:
        EVENTS_PUBLISHED.labels(service, topic, event_type).inc(count)

    return observe


def relay_failure_observer(service: str) -> Callable[[BaseException], None]:
    child = RELAY_FAILURES.labels(service)
    return lambda _exc: child.inc()


def code_class(status: int) -> str:
    return f"{status // 100}xx"


def count_gateway_request(tenant_id: str, upstream: str, status: int) -> None:
    GATEWAY_TENANT_REQUESTS.labels("gateway", tenant_id, upstream, code_class(status)).inc()
    if status == 429:
        GATEWAY_RATE_LIMITED.labels("gateway", tenant_id).inc()


class ServiceGauges:
    """Outbox backlog and age, dead letters and consumer lag of one service, refreshed on scrape.

    At most once per ``min_interval`` seconds (a scrape every 15 s costs two small queries and no
    broker request: lag comes from the consumer's own fetch state).
    """

    def __init__(self, service: str, *, engine: AsyncEngine | None = None, tables: MessagingTables | None = None,
                 relay: OutboxRelay | None = None, consumer: EventConsumer | None = None,
                 min_interval: float = 2.0, timeout: float = 3.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service, self.engine, self.tables = service, engine, tables
        self.relay, self.consumer = relay, consumer
        self.min_interval, self.timeout, self.clock = min_interval, timeout, clock
        self._last = float("-inf")
        self._lock = asyncio.Lock()
        self._lag_keys: set[tuple[str, str]] = set()

    async def refresh(self) -> None:
        if self.clock() - self._last < self.min_interval:
            return
        async with self._lock:
            if self.clock() - self._last < self.min_interval:
                return
            self._last = self.clock()
            try:
                await asyncio.wait_for(self._refresh(), self.timeout)
            except Exception:
                log.warning("metrics: refreshing the gauges of %s failed", self.service, exc_info=True)

    async def _refresh(self) -> None:
        if self.relay is not None:
            backlog, oldest = await self.relay.backlog()
            OUTBOX_BACKLOG.labels(self.service).set(backlog)
            OUTBOX_OLDEST_AGE.labels(self.service).set(age_seconds(oldest) if backlog else 0.0)
        if self.engine is not None and self.tables is not None:
            async with self.engine.connect() as conn:
                parked = (await conn.execute(select(func.count()).select_from(self.tables.dead_letters))).scalar()
            DEAD_LETTERS.labels(self.service).set(parked or 0)
        if self.consumer is not None:
            lags = await self.consumer.partition_lag()
            keys = set()
            for topic, partition, lag in lags:
                keys.add((topic, str(partition)))
                CONSUMER_LAG.labels(self.service, topic, str(partition)).set(lag)
            for topic, partition in self._lag_keys - keys:  # partitions moved to another member
                _remove(CONSUMER_LAG, self.service, topic, partition)
            self._lag_keys = keys


def age_seconds(since: datetime | None, now: datetime | None = None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite returns naive datetimes (stored as UTC)
        since = since.replace(tzinfo=UTC)
    return max(((now or datetime.now(UTC)) - since).total_seconds(), 0.0)


def _remove(metric: Any, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass


def metric_names() -> set[str]:
    """Every ``tanso_*`` metric family defined here, as exposed (counters end in ``_total``)."""
    return {family.name + ("_total" if family.type == "counter" else "")
            for family in REGISTRY.collect() if family.name.startswith("tanso_")}
