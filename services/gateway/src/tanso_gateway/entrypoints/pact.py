"""The PACT v3 base URL ``/pact``: ``/pact/auth/token`` (identity) and ``/pact/3/…`` (supplier-exchange).

No token check here: a PACT token has its own audience, and the services answer with PACT error
bodies (``{"code", "message"}``) that data recipients' software expects. See docs/adr/0005-pact-api.md.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .http import PROXY_METHODS, _forward, _gateway

router = APIRouter()

#: first path segment after the PACT prefix → the service that answers it
PACT_ROUTES = {"auth": "identity", "3": "supplier-exchange"}


@router.api_route("/pact/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
async def pact(path: str, request: Request) -> Response:
    gateway = _gateway(request)
    service = PACT_ROUTES.get(path.split("/", 1)[0])
    if path == "auth" or path.startswith("auth/") and path != "auth/token":
        service = None
    if service is None or service not in gateway.upstreams:
        return JSONResponse({"code": "BadRequest",
                             "message": "Unknown PACT path; use /pact/auth/token, /pact/3/footprints or /pact/3/events.",
                             "message_ja": "不明な PACT のパスです。/pact/auth/token、/pact/3/footprints、"
                                           "/pact/3/events を使ってください。"}, status_code=404)
    request.scope["tanso.route"] = f"/pact/{path.split('/', 1)[0]}/{{path}}"  # metric label without ids
    return await _forward(gateway, service, request, prefix=gateway.settings.pact_prefix)
