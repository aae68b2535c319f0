"""Gateway routes: ``/api/<service>/…`` proxy, combined OpenAPI and docs, health, landing page."""

from __future__ import annotations

import html
import logging

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from tanso_runtime import metrics
from tanso_runtime.auth import bearer_token
from tanso_runtime.errors import ProblemError, problem_response

from ..adapters.upstream import BodyTooLarge, UpstreamError
from ..bootstrap import Gateway
from ..domain.openapi import combine
from .landing import LANDING_HTML

log = logging.getLogger(__name__)
router = APIRouter()

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway


def _too_large(limit: int) -> JSONResponse:
    return problem_response(
        413, "payload_too_large",
        f"The request body is larger than {limit} bytes; split the upload into smaller files.",
        f"リクエストの本文が上限（{limit} バイト）を超えています。ファイルを分割してください。",
        max_bytes=limit)


@router.get("/", include_in_schema=False)
async def landing(request: Request) -> HTMLResponse:
    base = html.escape(str(request.base_url).rstrip("/"))
    return HTMLResponse(LANDING_HTML.replace("http://HOST", base))


@router.get("/health/live")
async def live() -> dict:
    return {"status": "live"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    services = await _gateway(request).upstreams.readiness()
    ok = all(s["status"] == "ready" for s in services.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "services": services},
                        status_code=200 if ok else 503)


@router.get("/health/processing")
async def processing(request: Request) -> JSONResponse:
    """Whether every input recorded so far is in the figures: events not yet handled or published, per
    service. 200 with ``up_to_date`` true or false; 503 when a service could not say."""
    services = await _gateway(request).upstreams.processing()
    unknown = sorted(n for n, s in services.items() if "pending" not in s)
    pending = sum(s.get("pending", 0) for s in services.values())
    if unknown:
        body = {"up_to_date": None, "pending": pending,
                "message_ja": f"処理状況を確認できないサービスがあります: {', '.join(unknown)}",
                "message_en": f"Could not get the processing status of: {', '.join(unknown)}"}
    elif pending:
        body = {"up_to_date": False, "pending": pending,
                "message_ja": f"{pending:,} 件のイベントを処理中です。集計値はまだ変わります。",
                "message_en": f"{pending:,} events are still being processed; figures may still change."}
    else:
        body = {"up_to_date": True, "pending": 0, "message_ja": "記録済みの入力はすべて集計に反映されています。",
                "message_en": "Every recorded input is reflected in the figures."}
    return JSONResponse({**body, "services": services}, status_code=503 if unknown else 200)


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    gateway = _gateway(request)
    docs, missing = await gateway.upstreams.openapi_documents()
    return JSONResponse(combine(docs, missing, public_routes=gateway.public_routes))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Tanso API",
                               swagger_ui_parameters={"persistAuthorization": True})


@router.api_route("/api/{service}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
async def proxy(service: str, path: str, request: Request) -> Response:
    gateway = _gateway(request)
    if service not in gateway.upstreams:
        known = ", ".join(gateway.upstreams.bases)
        return problem_response(404, "unknown_service",
                                f"There is no service {service!r}; use /api/<service>/… with one of: {known}.",
                                f"サービス {service!r} はありません。次のいずれかを指定してください: {known}", service=service)
    request.scope["tanso.route"] = f"/api/{service}/{{path}}"  # metric label: known services only

    tenant_id: str | None = None
    if not gateway.is_public(request.method, request.url.path):
        try:
            principal = await gateway.verifier.verify(bearer_token(request))
        except ProblemError as exc:
            response = problem_response(exc.status, exc.code, exc.detail, exc.detail_ja, **exc.extra)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="tanso"'
            return response
        tenant_id = principal.tenant_id
        decision = gateway.limiter.take(principal.tenant_id, gateway.clock())
        if not decision.allowed:
            limits = gateway.settings.rate_limit
            response = problem_response(
                429, "rate_limited",
                f"Too many requests for your tenant (limit {limits.requests_per_second:g}/s, burst {limits.burst}); "
                f"retry after {decision.retry_after_header} s.",
                f"テナントのリクエスト数が上限を超えました。{decision.retry_after_header} 秒後に再試行してください。",
                retry_after_seconds=decision.retry_after)
            response.headers["Retry-After"] = decision.retry_after_header
            metrics.count_gateway_request(tenant_id, service, 429)
            return response

    response = await _forward(gateway, service, request)
    if tenant_id is not None:
        metrics.count_gateway_request(tenant_id, service, response.status_code)
    return response


async def _forward(gateway: Gateway, service: str, request: Request, prefix: str | None = None) -> Response:
    limit = gateway.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)

    try:
        return await gateway.upstreams.forward(service, request, max_body=limit, prefix=prefix)
    except BodyTooLarge:
        return _too_large(limit)
    except UpstreamError as exc:
        log.warning("upstream %s failed: %s %s", service, exc.kind, exc.reason)
        if exc.kind == "timeout":
            return problem_response(504, "upstream_timeout",
                                    f"The {service} service did not answer in time; try again.",
                                    f"{service} サービスが時間内に応答しませんでした。再試行してください。", service=service)
        if exc.kind == "unavailable":
            response = problem_response(
                503, "service_unavailable",
                f"The {service} service is not reachable right now ({exc.reason}); it may be starting. Try again shortly.",
                f"{service} サービスに接続できません。起動中の可能性があります。しばらくしてから再試行してください。",
                service=service)
            response.headers["Retry-After"] = "5"
            return response
        return problem_response(502, "bad_gateway", f"The {service} service gave no valid answer ({exc.reason}).",
                                f"{service} サービスから正しい応答がありませんでした。", service=service)
