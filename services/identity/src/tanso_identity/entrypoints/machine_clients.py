"""Machine clients (``/machine-clients``, tenant admins) and the PACT token endpoint (``/auth/token``).

The gateway exposes the token endpoint as ``/pact/auth/token`` so that it sits at ``<PACT base
URL>/auth/token`` (PACT v3 "Action Authenticate", OAuth2 client credentials, RFC 6749 §4.4).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from tanso_runtime.errors import not_found

from ..adapters import machine_clients as queries
from ..adapters.signing import TokenIssuer
from ..domain.machine_clients import NewMachineClient
from ..service_layer import machine_clients as handlers
from ..settings import Settings
from .http import Admin, Runtime, UtcTime, _read, _uow


class MachineClientView(BaseModel):
    client_id: str
    name: str
    buyer_tenant_id: str
    callback_url: str | None
    status: str
    created_by: str
    created_at: UtcTime
    revoked_at: UtcTime | None = None


class IssuedMachineClient(MachineClientView):
    client_secret: str


def _oauth_error(status: int, error: str, description: str, description_ja: str) -> JSONResponse:
    """RFC 6749 §5.2 error body (plus a Japanese description); never cached."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="tanso-pact"'
    return JSONResponse({"error": error, "error_description": description, "error_description_ja": description_ja},
                        status_code=status, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined
    return unquote_plus(client_id), unquote_plus(secret)


def request_scheme(request: Request) -> str:
    """The scheme the caller used: the gateway's ``x-forwarded-proto``, else our own."""
    return request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip().lower()


def build_router(settings: Settings, issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.post("/machine-clients", status_code=201, response_model=IssuedMachineClient,
                 summary="Issue PACT client credentials for one buyer (admin; the secret is shown only once)")
    async def create(cmd: NewMachineClient, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            issued = await handlers.create(cmd, principal, uow)
        view = await _read(runtime, queries.get_client, principal.tenant_id, issued.client_id)
        return {**view, "client_secret": issued.client_secret}

    @router.get("/machine-clients", response_model=list[MachineClientView],
                summary="Machine clients of your tenant (admin; secrets are never shown again)")
    async def list_clients(principal: Admin, runtime: Runtime) -> list[dict]:
        return await _read(runtime, queries.list_clients, principal.tenant_id)

    @router.post("/machine-clients/{client_id}/revoke", response_model=MachineClientView,
                 summary="Revoke a machine client: no new tokens (issued ones expire within their lifetime)")
    async def revoke(client_id: str, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            await handlers.revoke(client_id, principal, uow)
        found = await _read(runtime, queries.get_client, principal.tenant_id, client_id)
        if found is None:
            raise not_found("Machine client", "マシンクライアント", client_id)
        return found

    @router.post("/auth/token", summary="PACT Action Authenticate: OAuth2 client credentials (HTTP Basic)",
                 responses={400: {"description": "RFC 6749 §5.2 error"}, 401: {"description": "invalid_client"}})
    async def token(request: Request, runtime: Runtime) -> JSONResponse:
        if settings.pact_require_https and request_scheme(request) != "https":
            return _oauth_error(400, "invalid_request", "Client credentials are accepted over HTTPS only; "
                                "call https://<host>/pact/auth/token.",
                                "クライアント認証は HTTPS でのみ受け付けます。https:// の URL を使用してください。")
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        grant = form.get("grant_type", [""])[0]
        credentials = _basic_credentials(request.headers.get("authorization", ""))
        if credentials is None and "client_id" in form:  # RFC 6749 §2.3.1 also allows the body
            credentials = (form["client_id"][0], form.get("client_secret", [""])[0])
        if credentials is None:
            return _oauth_error(401, "invalid_client", "Send the client id and secret as HTTP Basic "
                                "authentication (Authorization: Basic base64(client_id:client_secret)).",
                                "クライアント ID とシークレットを HTTP Basic 認証で送ってください。")
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported; "
                                "send it form-encoded in the body.",
                                "grant_type=client_credentials のみ対応しています（フォーム形式の本文で送信）。")
        try:
            record = await handlers.authenticate(runtime.engine, *credentials)
        except handlers.InvalidClient:
            return _oauth_error(401, "invalid_client", "Client authentication failed: unknown client, wrong secret "
                                "or revoked client. Ask the supplier's admin for new credentials.",
                                "クライアント認証に失敗しました（不明なクライアント、誤ったシークレット、または"
                                "失効済み）。サプライヤーの管理者に新しい認証情報を依頼してください。")
        access_token = handlers.issue_token(issuer, record)
        return JSONResponse({"access_token": access_token, "token_type": "Bearer",
                             "expires_in": issuer.lifetime_seconds, "scope": handlers.PACT_SCOPE},
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return router
