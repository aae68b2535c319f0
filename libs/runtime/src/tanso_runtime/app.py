"""The service app factory: every service's ``main`` is settings → spec → ``create_service_app``.

The lifespan owns the database engine, the Kafka broker (FastStream, started here rather than
through the deprecated FastAPI integration), the event consumer and the outbox relay. Telemetry
(``tanso_runtime.telemetry``) is set up here too: a SERVER span and RED metrics per request,
PRODUCER/CONSUMER spans and handler metrics around Kafka, and ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tanso_events.catalog import ALL_EVENTS, PUBLIC_DISCLOSURES_TOPIC, topic_for
from tanso_events.kafka import EventConsumer, EventHandler, ensure_topics, make_broker
from tanso_events.projections import Projection
from tanso_events.relay import OutboxRelay, outbox_backlog
from tanso_events.store import MessagingTables
from tanso_events.tracing import current_traceparent, reset_traceparent, use_traceparent
from tanso_events.unit_of_work import UnitOfWork

from . import metrics
from .auth import TokenVerifier
from .db import make_engine
from .errors import install_error_handlers
from .logs import configure_logging
from .relay import make_relay
from .settings import ServiceSettings
from .telemetry import TelemetryMiddleware, fastapi_telemetry, metrics_router, setup_telemetry

log = logging.getLogger(__name__)


@dataclass
class ServiceSpec:
    """What a service contributes; the runtime does the rest."""

    settings: ServiceSettings
    title: str
    description: str
    metadata: MetaData
    tables: MessagingTables
    projections: Sequence[Projection] = ()
    routers: Sequence[APIRouter] = ()
    event_handlers: dict = field(default_factory=dict)  # IntegrationEvent type -> EventHandler
    batch_handlers: dict = field(default_factory=dict)  # IntegrationEvent type -> BatchHandler (set-based)
    on_startup: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()


@dataclass
class ServiceRuntime:
    spec: ServiceSpec
    engine: AsyncEngine
    verifier: TokenVerifier
    relay: OutboxRelay | None = None
    broker: object | None = None
    consumer: EventConsumer | None = None
    gauges: metrics.ServiceGauges | None = None
    ready: bool = False

    @property
    def settings(self) -> ServiceSettings:
        return self.spec.settings

    def uow(self, causation_id: str | None = None) -> UnitOfWork:
        wake = self.relay.wake if self.relay else None
        return UnitOfWork(self.engine, self.spec.tables, self.spec.projections,
                          on_commit=wake, causation_id=causation_id)


def all_topics(partitions: int) -> dict[str, int]:
    topics = {topic_for(e.producer, e.version): partitions for e in ALL_EVENTS}
    topics[PUBLIC_DISCLOSURES_TOPIC] = partitions
    return topics


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    telemetry = setup_telemetry(settings.service_name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url())
        async with engine.begin() as conn:
            await conn.run_sync(spec.metadata.create_all)
        runtime = ServiceRuntime(spec, engine, TokenVerifier(settings.auth.jwks_url, settings.auth.issuer,
                                                              settings.auth.audience))
        app.state.runtime = runtime
        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        try:
            await ensure_topics(settings.kafka.bootstrap_servers, all_topics(settings.kafka.partitions),
                                replication_factor=settings.kafka.replication_factor)
            broker = make_broker(settings.kafka.bootstrap_servers, f"tanso-{settings.service_name}")
            runtime.broker = broker
            if spec.event_handlers:
                runtime.consumer = EventConsumer(
                    name=settings.service_name, engine=engine, tables=spec.tables,
                    uow_factory=runtime.uow, handlers=dict(spec.event_handlers),
                    batch_handlers=dict(spec.batch_handlers),
                    fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
                    max_batch=settings.kafka.consume_batch_max,
                    observe=metrics.handled_observer(settings.service_name))
                runtime.consumer.subscribe(broker)
            await broker.start()
            if settings.outbox.relay == "in_process":  # else `python -m tanso_runtime.relay` publishes
                runtime.relay = make_relay(settings, engine, spec.tables, broker)
            runtime.gauges = metrics.ServiceGauges(settings.service_name, engine=engine, tables=spec.tables,
                                                   relay=runtime.relay, consumer=runtime.consumer)
            if runtime.relay is not None:
                if republished := await runtime.relay.republish_recent():
                    log.info("republishing %d recent outbox events after start", republished)
                tasks.append(asyncio.create_task(runtime.relay.run(stop), name="outbox-relay"))
            for hook in spec.on_startup:
                await hook(runtime)
            runtime.ready = True
            log.info("%s ready on %s:%s", settings.service_name, settings.http.host, settings.http.port)
            yield
        finally:
            runtime.ready = False
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=5)
            if runtime.broker is not None:
                await runtime.broker.stop()
            await engine.dispose()
            telemetry.flush()

    app = FastAPI(title=spec.title, description=spec.description, version="0.1.0", lifespan=lifespan,
                  telemetry=fastapi_telemetry())
    install_error_handlers(app)
    install_request_context(app)
    app.add_middleware(TelemetryMiddleware, service=settings.service_name)  # RED metrics
    app.include_router(health_router())
    app.include_router(metrics_router(_refresh_gauges))
    for router in spec.routers:
        app.include_router(router)
    return app


async def _refresh_gauges(request: Request) -> None:
    runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
    if runtime is not None and runtime.gauges is not None:
        await runtime.gauges.refresh()


def install_request_context(app: FastAPI) -> None:
    """Request id and trace context on every request and response.

    The trace context is the request's server span (FastAPI's OpenTelemetry support, see
    ``tanso_runtime.telemetry``); without one (no SDK) the caller's ``traceparent``, or a fresh
    one, is used as it is.
    """
    app.add_middleware(RequestContextMiddleware)


class RequestContextMiddleware:
    """``x-request-id`` (the caller's or a new one) and ``traceparent`` on every response.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the app
    in a task of its own per request, which cost more CPU than all the telemetry together.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = None
        if current_traceparent() is None:
            token = use_traceparent(headers.get(b"traceparent", b"").decode("latin-1") or None)
        traceparent = (current_traceparent() or "").encode("latin-1")
        request_id = headers.get(b"x-request-id") or str(uuid.uuid4()).encode("latin-1")

        async def send_with_context(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k not in (b"x-request-id", b"traceparent")]
                message = {**message, "headers": [*kept, (b"x-request-id", request_id),
                                                  (b"traceparent", traceparent)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            if token is not None:
                reset_traceparent(token)


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict:
        return {"status": "live"}

    @router.get("/health/ready")
    async def ready(request: Request) -> JSONResponse:
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        checks = {"started": bool(runtime and runtime.ready)}
        if runtime:
            try:
                async with runtime.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                checks["database"] = True
            except Exception:  # noqa: BLE001 — readiness reports, it does not raise
                checks["database"] = False
            if runtime.relay:
                backlog, _oldest = await runtime.relay.backlog()
                checks["outbox_backlog"] = backlog
        ok = checks["started"] and checks.get("database", False)
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    @router.get("/health/processing")
    async def processing(request: Request) -> JSONResponse:
        """Work taken on and not finished: events of this process's partitions not yet committed, then
        (checked after them, so an event moving on in between is not missed) unpublished outbox rows."""
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        if runtime is None or not runtime.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        consumer = runtime.consumer
        try:
            unconsumed = await consumer.unconsumed(timeout=5.0) if consumer else 0
        except Exception as exc:  # noqa: BLE001 — a status, not a failure of the service
            return JSONResponse({"status": "unknown", "error": f"broker offsets unavailable: {exc!r}"},
                                status_code=503)
        # the outbox table, not the relay: with an external relay this process has none
        unpublished, _oldest = await outbox_backlog(runtime.engine, runtime.spec.tables.outbox)
        pending = unconsumed + unpublished  # events being handled count in ``unconsumed`` until committed
        return JSONResponse({"status": "idle" if pending == 0 else "processing", "unconsumed": unconsumed,
                             "unpublished": unpublished, "pending": pending})

    return router


def serve(app_path: str, settings: ServiceSettings) -> None:
    """Run one service with uvicorn (used by each service's ``__main__``)."""
    import uvicorn

    # uvloop and httptools: the same asyncio code at a fraction of the CPU per request and message
    uvicorn.run(app_path, factory=True, host=settings.http.host, port=settings.http.port,
                log_config=None, access_log=False, loop="uvloop", http="httptools")


__all__ = ["EventHandler", "ServiceRuntime", "ServiceSpec", "create_service_app", "serve"]
