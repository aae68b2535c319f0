"""OpenTelemetry and Prometheus for every Tanso process, set up once per process.

``setup_telemetry("activities")`` gives the process a TracerProvider with the resource
``service.name = tanso-activities``. FastAPI's own OpenTelemetry support then opens a SERVER span
per HTTP request, child of the caller's ``traceparent`` (configured by :func:`fastapi_telemetry`:
no spans for probes and scrapes, no per-dependency operation spans);
:class:`TelemetryMiddleware` records the RED metrics of :mod:`tanso_runtime.metrics`, and
:func:`metrics_router` serves ``GET /metrics``. The outbox relay and the Kafka consumer
(``tanso_events``) open PRODUCER and CONSUMER spans on the same provider, so a request's trace
continues through the outbox and Kafka into every consumer.

Configuration is OpenTelemetry's own environment variables:

``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
    OTLP over HTTP/protobuf, e.g. ``http://otel-collector:4318``. Unset: nothing is exported and
    spans are not recorded (ids are still created and propagated, so logs and the ``traceparent``
    headers keep working at almost no cost). Only the HTTP exporter is installed (port 4318).
``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``
    Sampler while exporting; default ``parentbased_always_on``.
``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_BSP_MAX_QUEUE_SIZE`` …
    The batch span processor (spans leave the request path; a background thread exports them).
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``
    Also gives the process an OTLP MeterProvider for instruments made with the OpenTelemetry
    metrics API. Tanso's own metrics are ``prometheus_client`` metrics served at ``/metrics``.
``OTEL_RESOURCE_ATTRIBUTES``
    Extra resource attributes (``deployment.environment=staging``).
``OTEL_SDK_DISABLED=true``
    No SDK: no-op spans that still hand an incoming ``traceparent`` on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

log = logging.getLogger(__name__)

VERSION = "0.1.0"
#: Probes and scrapes: no span, no metric (they would drown the routes that matter).
UNTRACED_PATHS = frozenset({"/metrics", "/health/live", "/health/ready"})


# --- providers ------------------------------------------------------------------------------------

class _Fanout(SpanProcessor):
    """The span processors of the process; spans are recorded only while there is one."""

    def __init__(self) -> None:
        self.processors: tuple[SpanProcessor, ...] = ()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for processor in self.processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self.processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(processor.force_flush(timeout_millis) for processor in self.processors)


class _RecordWhileExporting(Sampler):
    """The configured sampler while some processor receives spans; otherwise drop (ids only)."""

    def __init__(self, delegate: Sampler, fanout: _Fanout) -> None:
        self.delegate, self.fanout = delegate, fanout

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,
                      trace_state=None) -> SamplingResult:
        if not self.fanout.processors:
            parent = trace.get_current_span(parent_context).get_span_context()
            return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)
        return self.delegate.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"RecordWhileExporting{{{self.delegate.get_description()}}}"


@dataclass
class Telemetry:
    """The process's providers. ``service`` is the first service set up in this process."""

    service: str
    tracer_provider: TracerProvider | None = None
    meter_provider: object | None = None
    exporting: bool = False
    _fanout: _Fanout = field(default_factory=_Fanout)

    def add_span_processor(self, processor: SpanProcessor) -> None:
        """Send finished spans to ``processor`` too (tests use an in-memory exporter)."""
        self._fanout.processors = (*self._fanout.processors, processor)

    def remove_span_processor(self, processor: SpanProcessor) -> None:
        self._fanout.processors = tuple(p for p in self._fanout.processors if p is not processor)

    def flush(self, timeout_millis: int = 5000) -> None:
        """Export what is queued (on shutdown; the SDK also flushes at interpreter exit)."""
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush(timeout_millis)
        if self.meter_provider is not None:
            self.meter_provider.force_flush(timeout_millis)


_telemetry: Telemetry | None = None


def _configured_sampler() -> Sampler:
    """``OTEL_TRACES_SAMPLER`` as the SDK reads it; parent-based always-on otherwise."""
    try:
        from opentelemetry.sdk.trace.sampling import _get_from_env_or_default
    except ImportError:  # a private helper of the SDK: keep working if it moves
        return ParentBased(ALWAYS_ON)
    return _get_from_env_or_default()


def _otlp(env: Mapping[str, str], signal: str) -> str | None:
    if env.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower() == "none":
        return None
    endpoint = env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    protocol = env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not installed; exporting %s with http/protobuf "
                    "(OTLP/HTTP, usually port 4318) to %s", protocol, signal.lower(), endpoint)
    return endpoint


def setup_telemetry(service: str, env: Mapping[str, str] | None = None) -> Telemetry:
    """Set up the process's tracer (and, when asked for, meter) provider; later calls reuse it."""
    global _telemetry
    metrics.set_service(service)
    metrics.SERVICE_INFO.labels(service, VERSION).set(1)
    if _telemetry is not None:
        return _telemetry
    env = os.environ if env is None else env
    telemetry = Telemetry(service)
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        _telemetry = telemetry
        return telemetry
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or f"tanso-{service}",
                                "service.namespace": "tanso",
                                "service.version": VERSION})
    provider = TracerProvider(resource=resource,
                              sampler=_RecordWhileExporting(_configured_sampler(), telemetry._fanout))
    provider.add_span_processor(telemetry._fanout)
    if _otlp(env, "TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        telemetry.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        telemetry.exporting = True
    trace.set_tracer_provider(provider)
    telemetry.tracer_provider = provider
    if _otlp(env, "METRICS"):
        from opentelemetry import metrics as otel_metrics
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        telemetry.meter_provider = MeterProvider(
            resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
        otel_metrics.set_meter_provider(telemetry.meter_provider)
    _telemetry = telemetry
    return telemetry


def current_telemetry() -> Telemetry | None:
    return _telemetry


# --- HTTP ---------------------------------------------------------------------------------------

def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def fastapi_telemetry() -> dict:
    """``FastAPI(telemetry=...)``: SERVER spans on the global provider, none for probes and scrapes.

    FastAPI's per-request operation spans (dependencies, endpoint, serialization) are off: they
    would triple the spans of every request on a platform that runs eight processes on two cores.
    Its OpenTelemetry HTTP metrics go out only when an OTLP MeterProvider is configured.
    """
    return {"operation_spans": False, "logs": False, "exclude": _untraced}


def route_of(scope: Scope) -> str:
    """The route template the request matched (bounded label), not the raw path.

    A handler may name its own template in ``scope["tanso.route"]`` (the gateway's proxy does).
    """
    if override := scope.get("tanso.route"):
        return override
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class TelemetryMiddleware:
    """RED metrics of every HTTP request: count by route template, method, status; duration."""

    def __init__(self, app: ASGIApp, service: str, untraced: frozenset[str] = UNTRACED_PATHS) -> None:
        self.app, self.service, self.untraced = app, service, untraced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.untraced:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        except BaseException:
            status = 500
            raise
        finally:
            metrics.observe_request(self.service, route_of(scope), scope["method"], status,
                                    time.perf_counter() - started)


def metrics_router(refresh: Callable[[Request], Awaitable[None]] | None = None) -> APIRouter:
    """``GET /metrics`` in the Prometheus text format; ``refresh`` updates gauges first."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        if refresh is not None:
            await refresh(request)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


__all__ = ["Telemetry", "TelemetryMiddleware", "current_telemetry", "fastapi_telemetry", "metrics_router",
           "route_of", "setup_telemetry"]
