"""The gateway app: no database, no Kafka; request context, auth, rate limits and the proxy."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from tanso_runtime.app import install_request_context
from tanso_runtime.auth import TokenVerifier
from tanso_runtime.errors import install_error_handlers
from tanso_runtime.logs import configure_logging
from tanso_runtime.telemetry import (
    TelemetryMiddleware,
    fastapi_telemetry,
    metrics_router,
    setup_telemetry,
)

from .bootstrap import build_gateway
from .entrypoints.http import router
from .entrypoints.pact import router as pact_router
from .settings import Settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


class RequestIdMiddleware:
    """Give every request an ``x-request-id`` header before anything else sees it.

    Runs outside ``install_request_context``, so the id echoed in the response and the one
    forwarded upstream are the same.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"x-request-id"]
            given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
            scope = {**scope, "headers": [*headers, (b"x-request-id", request_id.encode("latin-1"))]}
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    verifier: TokenVerifier | None = None,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    telemetry = setup_telemetry(settings.service_name)
    extra = {"clock": clock} if clock else {}
    gateway = build_gateway(settings, client=client, verifier=verifier, **extra)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await gateway.aclose()
        telemetry.flush()

    app = FastAPI(title="Tanso gateway", version="0.1.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, telemetry=fastapi_telemetry())
    app.state.gateway = gateway
    install_error_handlers(app)
    install_request_context(app)
    app.add_middleware(TelemetryMiddleware, service=settings.service_name)  # RED metrics
    app.add_middleware(RequestIdMiddleware)  # added last = outermost
    app.include_router(metrics_router())
    app.include_router(router)
    app.include_router(pact_router)
    return app
