"""PACT v3 API of the supplier (the "host system"): ``GET /3/footprints``, ``GET /3/footprints/{id}``,
``POST /3/events``. The gateway exposes them under ``/pact`` (``/pact/auth/token`` is identity's).

Callers are machine clients (tokens with audience ``tanso-pact`` from identity); every answer is
either the PACT data or a PACT error response ``{"code", "message"}`` (plus ``message_ja``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from tanso_runtime.app import ServiceRuntime
from tanso_runtime.auth import TokenVerifier

from ..adapters import pact_mapping as mapping
from ..adapters.pact_callbacks import CallbackSender
from ..service_layer import pact
from ..settings import Settings

log = logging.getLogger(__name__)
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")
_SAFE_PREFIX = re.compile(r"^(/[A-Za-z0-9._~\-]+)*$")


class PactContext:
    """The PACT verifier, the callback sender and the background worker that answers requests."""

    def __init__(self, settings: Settings, *, sender=None) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings.auth.jwks_url, settings.auth.issuer, settings.pact.audience)
        self._sender = sender
        self._task: asyncio.Task | None = None

    @property
    def sender(self):
        if self._sender is None:
            self._sender = CallbackSender(ca_file=self.settings.pact.callback_ca_file,
                                          timeout=self.settings.pact.callback_timeout_seconds)
        return self._sender

    async def deliver_due(self, runtime: ServiceRuntime, **kwargs) -> int:
        return await pact.deliver_due(runtime.engine, self.sender,
                                      give_up_seconds=self.settings.pact.callback_give_up_seconds, **kwargs)

    async def start(self, runtime: ServiceRuntime) -> None:
        runtime.pact = self  # type: ignore[attr-defined]  # tests reach the context through the runtime
        # Only under the real lifespan, which connects the broker before the hooks run (hand-wired unit
        # tests have no broker and drive deliver_due themselves).
        if self.settings.pact.callback_worker and runtime.broker is not None and self._task is None:
            self._task = asyncio.create_task(self._run(runtime), name="pact-callbacks")

    async def _run(self, runtime: ServiceRuntime) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                try:
                    await self.deliver_due(runtime)
                except Exception:
                    log.exception("PACT callback round failed")
                await asyncio.sleep(self.settings.pact.callback_poll_seconds)


def _error(exc: pact.PactError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="tanso-pact"'} if exc.status == 401 else {}
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _scheme(request: Request) -> str:
    return request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip().lower()


def base_url(request: Request) -> str:
    """The PACT base URL as the caller used it (host from the ``Host`` the caller sent to the gateway)."""
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or request.url.netloc
    prefix = request.headers.get("x-forwarded-prefix", "")
    if not _SAFE_HOST.match(host):
        raise pact.bad_request("The Host header is not a valid host name.", "Host ヘッダーが不正です。")
    if not _SAFE_PREFIX.match(prefix):
        prefix = ""
    return f"{_scheme(request)}://{host}{prefix}"


def _query(request: Request) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    return values


def make_router(ctx: PactContext) -> APIRouter:
    router = APIRouter(tags=["PACT v3"])
    settings = ctx.settings

    async def caller(request: Request) -> pact.PactClient:
        if settings.pact.require_https and _scheme(request) != "https":
            raise pact.bad_request("The PACT API is served over HTTPS only; use the https:// base URL.",
                                   "PACT API は HTTPS でのみ利用できます。https:// の URL を使ってください。")
        return await pact.authenticate(ctx.verifier, request.headers.get("authorization", ""))

    def runtime(request: Request) -> ServiceRuntime:
        return request.app.state.runtime

    @router.get("/3/footprints", summary="PACT ListFootprints: footprints granted to your buyer tenant",
                responses={200: {"description": "`{\"data\": [ProductFootprint…]}`; `Link: <…>; rel=\"next\"` "
                                                "while more pages remain"}})
    async def list_footprints(request: Request) -> Response:
        try:
            client = await caller(request)
            limit, offset, filters = pact.parse_page(_query(request))
            wanted = pact.criteria(filters)
            async with runtime(request).engine.connect() as conn:
                found = [pf for pf in await pact.visible_footprints(conn, client)
                         if mapping.matches(pf, wanted)]
            base = base_url(request)
        except pact.PactError as exc:
            return _error(exc)
        page = found[offset:offset + limit]
        headers = {}
        if offset + limit < len(found):
            query = [(k, v) for k, vs in filters.items() for v in vs] + [("limit", limit), ("offset", offset + limit)]
            headers["Link"] = f'<{base}/3/footprints?{urlencode(query)}>; rel="next"'
        return JSONResponse({"data": page}, headers=headers)

    @router.get("/3/footprints/{footprint_id}", summary="PACT GetFootprint: one footprint granted to your buyer")
    async def get_footprint(footprint_id: str, request: Request) -> Response:
        try:
            client = await caller(request)
            async with runtime(request).engine.connect() as conn:
                found = [pf for pf in await pact.visible_footprints(conn, client)
                         if pf["id"] == footprint_id.lower()]
        except pact.PactError as exc:
            return _error(exc)
        if not found:
            return _error(pact.PactError("NotFound", f"Footprint {footprint_id!r} does not exist or was not "
                                         "granted to you; list yours with GET /3/footprints.",
                                         f"フットプリント {footprint_id!r} は存在しないか、開示されていません。"))
        return JSONResponse({"data": found[0]})

    @router.post("/3/events", summary="PACT Action Events: RequestCreated (answered asynchronously), "
                                      "Published, RequestFulfilled, RequestRejected")
    async def events(request: Request) -> Response:
        try:
            client = await caller(request)
            try:
                event = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError):
                raise pact.bad_request("The body is not JSON; send one CloudEvent with content-type "
                                       "application/cloudevents+json.", "本文が JSON ではありません。") from None
            await pact.accept_event(runtime(request).engine, client, event, base_url(request) + "/3/events")
        except pact.PactError as exc:
            return _error(exc)
        return Response(status_code=200)

    return router
