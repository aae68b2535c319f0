"""The upstream services, reached through one shared ``httpx.AsyncClient``.

Each forwarded request is a CLIENT span (child of the gateway's server span) whose context is sent
upstream as ``traceparent``, so gateway and service share one trace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from tanso_events.tracing import format_traceparent

#: RFC 9110 §7.6.1 connection-specific headers, never forwarded.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
_DROP_REQUEST = HOP_BY_HOP | {"host"}
_DROP_RESPONSE = HOP_BY_HOP | {"date", "server"}  # uvicorn adds its own


#: Upstream before downstream: who publishes what the next one consumes.
PIPELINE_ORDER = ("identity", "supplier-exchange", "factors", "activities", "calculation", "reporting")


class BodyTooLarge(Exception):
    pass


class UpstreamError(Exception):
    """The upstream could not answer: ``kind`` is ``unavailable``, ``timeout`` or ``bad_gateway``."""

    def __init__(self, service: str, kind: str, reason: str) -> None:
        super().__init__(f"{service}: {kind}: {reason}")
        self.service, self.kind, self.reason = service, kind, reason


def _connection_tokens(headers: Mapping[str, str]) -> set[str]:
    return {t.strip().lower() for t in headers.get("connection", "").split(",") if t.strip()}


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


@dataclass
class _Limit:
    limit: int
    seen: int = 0
    exceeded: bool = False


async def _limited(stream: AsyncIterator[bytes], limit: _Limit) -> AsyncIterator[bytes]:
    async for chunk in stream:
        limit.seen += len(chunk)
        if limit.seen > limit.limit:
            limit.exceeded = True
            raise BodyTooLarge(f"request body exceeds {limit.limit} bytes")
        yield chunk


class Upstreams:
    def __init__(self, bases: Mapping[str, str], client: httpx.AsyncClient, *,
                 health_timeout: float = 2.0, openapi_ttl: float = 15.0, processing_timeout: float = 10.0) -> None:
        self.bases = {name: url.rstrip("/") for name, url in bases.items()}
        self.client = client
        self.health_timeout, self.openapi_ttl = health_timeout, openapi_ttl
        self.processing_timeout = processing_timeout
        self._openapi: dict[str, tuple[float, dict]] = {}
        self.tracer = trace.get_tracer("tanso_gateway")

    def __contains__(self, service: str) -> bool:
        return service in self.bases

    async def forward(self, service: str, request: Request, *, max_body: int,
                      prefix: str | None = None) -> StreamingResponse:
        """Send ``request`` (path after ``prefix``, default ``/api/<service>``) upstream and stream the answer back.

        Raises :class:`BodyTooLarge` when the body grows past ``max_body`` while streaming and
        :class:`UpstreamError` when the service does not answer.
        """
        prefix = prefix or f"/api/{service}"
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        path = raw_path[len(prefix):] if raw_path.startswith(prefix) else request.url.path[len(prefix):]
        url = self.bases[service] + (path or "/")
        if query := request.scope.get("query_string", b"").decode("latin-1"):
            url += "?" + query

        drop = _DROP_REQUEST | _connection_tokens(request.headers)
        headers = [(k, v) for k, v in request.headers.items() if k not in drop]
        headers = [(k, v) for k, v in headers if k not in ("traceparent", "x-forwarded-for")]
        forwarded_for = ", ".join(filter(None, [request.headers.get("x-forwarded-for"),
                                                request.client.host if request.client else None]))
        span = self.tracer.start_span(
            f"{request.method}", kind=SpanKind.CLIENT,
            attributes={"http.request.method": request.method, "server.address": service,
                        "url.full": self.bases[service] + (path or "/")})
        traceparent = (format_traceparent(span.get_span_context()) if span.get_span_context().is_valid
                       else request.headers.get("traceparent", ""))
        headers += [("traceparent", traceparent),
                    ("x-forwarded-proto", request.url.scheme),
                    ("x-forwarded-host", request.headers.get("host", "")),
                    ("x-forwarded-prefix", prefix)]
        if forwarded_for:
            headers.append(("x-forwarded-for", forwarded_for))

        limit = _Limit(max_body)
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        content = _limited(request.stream(), limit) if has_body else None
        upstream_request = self.client.build_request(request.method, url, headers=headers, content=content)
        try:
            response = await self.client.send(upstream_request, stream=True)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
            if limit.exceeded:
                raise BodyTooLarge(f"request body exceeds {max_body} bytes") from exc
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise UpstreamError(service, "unavailable", _describe(exc)) from exc
            if isinstance(exc, httpx.TimeoutException):
                raise UpstreamError(service, "timeout", _describe(exc)) from exc
            if isinstance(exc, httpx.HTTPError):
                raise UpstreamError(service, "bad_gateway", _describe(exc)) from exc
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()  # at the response head: the body streams through without the span

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        out = StreamingResponse(body(), status_code=response.status_code,
                                background=BackgroundTask(response.aclose))
        drop_out = _DROP_RESPONSE | _connection_tokens(response.headers)
        out.raw_headers = [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in drop_out]
        return out

    async def readiness(self) -> dict[str, dict]:
        """Every upstream's ``/health/ready``, checked in parallel."""
        names = list(self.bases)
        results = await asyncio.gather(*(self._ready(n) for n in names))
        return dict(zip(names, results, strict=True))

    async def _ready(self, service: str) -> dict:
        try:
            response = await self.client.get(f"{self.bases[service]}/health/ready", timeout=self.health_timeout)
        except httpx.HTTPError as exc:
            return {"status": "unreachable", "http_status": None, "error": _describe(exc)}
        status = "ready" if response.status_code == 200 else "not_ready"
        result: dict = {"status": status, "http_status": response.status_code}
        try:
            body = response.json()
            if isinstance(body, dict) and "checks" in body:
                result["checks"] = body["checks"]
        except ValueError:
            pass
        return result

    async def processing(self) -> dict[str, dict]:
        """Every upstream's ``/health/processing``, asked one after another in the order events flow
        (:data:`PIPELINE_ORDER`): an event that moves downstream meanwhile is seen where it arrives."""
        ordered = [n for n in PIPELINE_ORDER if n in self.bases] + [n for n in self.bases if n not in PIPELINE_ORDER]
        results = {}
        for service in ordered:
            try:
                response = await self.client.get(f"{self.bases[service]}/health/processing",
                                                 timeout=self.processing_timeout)
                body = response.json()
                results[service] = body if isinstance(body, dict) else {"status": "unknown"}
            except (httpx.HTTPError, ValueError) as exc:
                results[service] = {"status": "unreachable", "error": _describe(exc)}
        return results

    async def openapi_documents(self) -> tuple[dict[str, dict], dict[str, str]]:
        """(service → OpenAPI document, service → why it is missing); documents are cached briefly."""
        names = list(self.bases)
        results = await asyncio.gather(*(self._openapi_of(n) for n in names))
        docs = {n: r for n, r in zip(names, results, strict=True) if isinstance(r, dict)}
        missing = {n: r for n, r in zip(names, results, strict=True) if isinstance(r, str)}
        return docs, missing

    async def _openapi_of(self, service: str) -> dict | str:
        cached = self._openapi.get(service)
        if cached and time.monotonic() - cached[0] < self.openapi_ttl:
            return cached[1]
        try:
            response = await self.client.get(f"{self.bases[service]}/openapi.json", timeout=max(self.health_timeout, 5.0))
        except httpx.HTTPError as exc:
            return f"not reachable ({_describe(exc)})"
        if response.status_code != 200:
            return f"HTTP {response.status_code} from /openapi.json"
        try:
            doc = response.json()
        except ValueError:
            return "/openapi.json is not JSON"
        self._openapi[service] = (time.monotonic(), doc)
        return doc
