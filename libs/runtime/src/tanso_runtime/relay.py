"""The outbox relay as a process of its own: ``python -m tanso_runtime.relay <service>``.

By default every service publishes its outbox from inside its API process
(``TANSO_<SERVICE>_OUTBOX__RELAY=in_process``). With ``external`` the API process only writes the
outbox, and this program, started once per service, publishes it: it loads that service's settings
(``tanso_<service>.settings.Settings``, the same ``TANSO_<SERVICE>_…`` environment) and database,
creates missing topics like the service does, republishes the configured window on start, then
runs :class:`tanso_events.relay.OutboxRelay` until SIGTERM/SIGINT. A small HTTP server on
``OUTBOX__RELAY_PORT`` (default: the service's HTTP port + 1000) serves:

- ``GET /health/live``: 200 while the relay loop runs (503 if it died, so the kubelet restarts it);
- ``GET /health/ready``: 200 once started and the outbox table answers (backlog in the body);
- ``GET /metrics``: ``tanso_events_published_total``, ``tanso_outbox_relay_failures_total``,
  ``tanso_outbox_backlog``, ``tanso_outbox_oldest_unpublished_age_seconds`` with the
  ``service`` label of the service, as the in-process relay exports them.

Run ONE relay per service database. On PostgreSQL a second relay is not unsafe for delivery (each
batch is claimed with ``FOR UPDATE SKIP LOCKED``: a row is never claimed by two relays at once) but
it breaks per-aggregate order: relay A claims rows 1-500, relay B skips them and claims 501-1000,
and B's batch may reach Kafka before A's. On SQLite the relay assumes it is alone on the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from tanso_events.kafka import ensure_topics, make_broker, make_publish
from tanso_events.relay import OutboxRelay
from tanso_events.store import MessagingTables, add_messaging_tables

from . import metrics
from .db import make_engine
from .logs import configure_logging
from .settings import ServiceSettings
from .telemetry import metrics_router, setup_telemetry

log = logging.getLogger(__name__)


def make_relay(settings: ServiceSettings, engine: AsyncEngine, tables: MessagingTables, broker) -> OutboxRelay:
    """The service's outbox relay, configured from its settings (in-process or external alike)."""
    return OutboxRelay(
        engine, tables, make_publish(broker),
        batch_size=settings.outbox.batch_size,
        poll_interval=settings.outbox.poll_interval_seconds,
        republish_window=timedelta(seconds=settings.kafka.republish_window_seconds),
        on_published=metrics.published_observer(settings.service_name),
        on_failure=metrics.relay_failure_observer(settings.service_name),
    )


def relay_port(settings: ServiceSettings) -> int:
    return settings.outbox.relay_port or settings.http.port + 1000


class RelayError(SystemExit):
    """A misconfigured relay: the process exits (status 1) with the message on stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(f"tanso_runtime.relay: {message}")


def load_settings(service: str) -> ServiceSettings:
    """``tanso_<service>.settings.Settings()``, read from the environment like the service reads it."""
    module_name = "tanso_" + service.replace("-", "_")
    try:
        module = importlib.import_module(f"{module_name}.settings")
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, f"{module_name}.settings"):
            raise
        raise RelayError(f"no service {service!r}: {module_name}.settings is not installed; name a service "
                         f"directory under services/, e.g. `python -m tanso_runtime.relay activities`") from None
    settings_class = getattr(module, "Settings", None)
    if not (isinstance(settings_class, type) and issubclass(settings_class, ServiceSettings)):
        raise RelayError(f"{module_name}.settings has no Settings class built on tanso_runtime ServiceSettings")
    return settings_class()


class RelayProcess:
    """What the relay process owns: engine, broker, relay loop; its state for the health endpoints."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.tables = add_messaging_tables(MetaData())  # the outbox table of every service
        self.engine: AsyncEngine | None = None
        self.broker = None
        self.relay: OutboxRelay | None = None
        self.task: asyncio.Task | None = None
        self.gauges: metrics.ServiceGauges | None = None
        self.ready = False

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        from .app import all_topics  # app imports make_relay from here

        settings = self.settings
        self.engine = make_engine(settings.database_url())
        stop = asyncio.Event()
        try:
            await ensure_topics(settings.kafka.bootstrap_servers, all_topics(settings.kafka.partitions),
                                replication_factor=settings.kafka.replication_factor)
            self.broker = make_broker(settings.kafka.bootstrap_servers, f"tanso-{settings.service_name}-relay")
            await self.broker.start()
            self.relay = make_relay(settings, self.engine, self.tables, self.broker)
            self.gauges = metrics.ServiceGauges(settings.service_name, relay=self.relay)
            try:
                if republished := await self.relay.republish_recent():
                    log.info("republishing %d recent outbox events after start", republished)
            except Exception:  # no outbox table yet: the service creates it on its first start
                log.warning("could not read the outbox of %s yet (has the service started once?); "
                            "the relay keeps trying", settings.service_name, exc_info=True)
            self.task = asyncio.create_task(self.relay.run(stop), name="outbox-relay")
            self.ready = True
            log.info("outbox relay of %s running; health and metrics on %s:%d",
                     settings.service_name, settings.http.host, relay_port(settings))
            yield
        finally:
            self.ready = False
            stop.set()
            if self.task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(self.task, timeout=5)
            if self.broker is not None:
                await self.broker.stop()
            await self.engine.dispose()
            log.info("outbox relay of %s stopped", settings.service_name)


def create_relay_app(settings: ServiceSettings) -> FastAPI:
    """The relay process as an ASGI app: the relay runs in its lifespan, health and metrics beside."""
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    telemetry = setup_telemetry(settings.service_name)
    process = RelayProcess(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with process.running():
                yield
        finally:
            telemetry.flush()

    app = FastAPI(title=f"tanso {settings.service_name} outbox relay", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.relay_process = process

    async def refresh(_request: Request) -> None:
        if process.gauges is not None:
            await process.gauges.refresh()

    app.include_router(_health_router(process))
    app.include_router(metrics_router(refresh))
    return app


def _health_router(process: RelayProcess) -> APIRouter:
    router = APIRouter()

    @router.get("/health/live")
    async def live() -> JSONResponse:
        died = process.task is not None and process.task.done()
        return JSONResponse({"status": "dead" if died else "live"}, status_code=503 if died else 200)

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        checks: dict[str, object] = {"started": process.ready}
        if process.relay is not None:
            try:
                backlog, oldest = await process.relay.backlog()
            except Exception as exc:  # noqa: BLE001 — readiness reports, it does not raise
                checks["outbox"] = f"unreadable: {type(exc).__name__}"
            else:
                checks["outbox"] = True
                checks["outbox_backlog"] = backlog
                checks["oldest_unpublished_age_seconds"] = round(metrics.age_seconds(oldest), 3) if backlog else 0.0
        ok = process.ready and checks.get("outbox") is True
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    return router


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tanso_runtime.relay",
        description="Publish one service's outbox to Kafka (set TANSO_<SERVICE>_OUTBOX__RELAY=external on "
                    "the service so that it does not publish too). Settings: the service's TANSO_<SERVICE>_… "
                    "environment; health and metrics on OUTBOX__RELAY_PORT (default HTTP port + 1000).")
    parser.add_argument("service", help="the service whose outbox to publish, e.g. activities or supplier-exchange")
    parser.add_argument("--port", type=int, help="HTTP port for /health and /metrics (overrides OUTBOX__RELAY_PORT)")
    args = parser.parse_args(argv)
    settings = load_settings(args.service)
    if args.port is not None:
        settings.outbox.relay_port = args.port

    import uvicorn

    # uvicorn turns SIGTERM/SIGINT into a graceful shutdown: the lifespan stops the relay loop after
    # its current batch (at most 5 s), then the broker and the database.
    uvicorn.run(create_relay_app(settings), host=settings.http.host, port=relay_port(settings),
                log_config=None, access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
