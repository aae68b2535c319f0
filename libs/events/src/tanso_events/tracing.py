"""W3C trace context carried from a request or an event into the outbox rows it causes.

The current trace context is OpenTelemetry's current span: the server span of an HTTP request
(``tanso_runtime.telemetry``), the consumer span of a Kafka event (:mod:`tanso_events.kafka`).
The functions here are the bridge the rest of the code uses, so that services never import
OpenTelemetry themselves:

* :func:`current_traceparent` — the ``traceparent`` of the active span; what the unit of work
  stores in an outbox row's headers and an event's meta;
* :func:`use_traceparent` — make a given ``traceparent`` (or a fresh one) the current context,
  for code that runs outside any span (a CLI, a test);
* :func:`context_from_headers` / :func:`inject_traceparent` — extract and write the headers of a
  Kafka record or an HTTP request.

With only the OpenTelemetry API installed (no SDK configured) spans are no-ops that carry their
parent's context, so an incoming trace id is still handed on unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import secrets
from collections.abc import Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()

#: Instrumentation scope of the spans this library starts (relay, consumer).
TRACER_NAME = "tanso_events"


@functools.cache
def tracer() -> trace.Tracer:
    """The tracer of the global provider (a proxy that follows the SDK once it is set up)."""
    return trace.get_tracer(TRACER_NAME)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def format_traceparent(span_context: trace.SpanContext) -> str:
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The ``traceparent`` of the active span, or ``None`` outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return format_traceparent(span_context) if span_context.is_valid else None


def context_from_headers(headers: Mapping[str, str] | None) -> Context:
    """The trace context of a Kafka record's or a request's headers (empty when they carry none)."""
    if not headers:
        return Context()
    carrier = {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}
    return _PROPAGATOR.extract(carrier, context=Context()) if carrier else Context()


def inject_traceparent(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write ``traceparent`` (and ``tracestate``) of ``context`` (default: the current one)."""
    _PROPAGATOR.inject(headers, context=context)


def use_traceparent(value: str | None) -> contextvars.Token:
    """Make ``value`` (or a fresh context when it is missing or malformed) the current one.

    Returns the token for :func:`reset_traceparent`.
    """
    ctx = context_from_headers({"traceparent": value} if value else None)
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        ctx = context_from_headers({"traceparent": new_traceparent()})
    return otel_context.attach(ctx)


def reset_traceparent(token: contextvars.Token) -> None:
    otel_context.detach(token)


def trace_id(traceparent: str | None) -> str | None:
    return traceparent.split("-")[1] if traceparent else None
