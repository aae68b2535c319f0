"""HTTP API: invitations, disclosure requests, immutable signed grants and their verification key."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tanso_events.catalog import DisclosedFigure
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError

from ..adapters import queries
from ..adapters.signing import DisclosureSigner
from ..service_layer import commands

ADMIN = require_roles("admin")
Role = Literal["buyer", "supplier"]
Kind = Literal["scope_total", "scope3_category", "org_intensity", "product_footprint"]


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    supplier_tenant_id: str | None = Field(default=None, description="Only this tenant may accept; omit to "
                                           "hand the code to the supplier yourself.")


class NewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    supplier_tenant_id: str
    what: list[Kind] = Field(min_length=1)
    fiscal_year: int = Field(ge=1990, le=2100)
    deadline: date
    message: str = Field(default="", max_length=4000)


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=4000)


class Figures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    figures: list[DisclosedFigure] = Field(min_length=1)


def immutable(disclosure_id: str) -> ProblemError:
    return ProblemError(
        409, "disclosure_immutable",
        f"Disclosure {disclosure_id!r} was granted and can never be changed or revoked. A correction is a new "
        f"disclosure: POST /disclosures/{disclosure_id}/corrections.",
        f"開示 {disclosure_id!r} は開示済みのため、変更・取り消しは一切できません。訂正は新しい開示として "
        f"POST /disclosures/{disclosure_id}/corrections で行ってください。")


def make_router(signer: DisclosureSigner) -> APIRouter:
    router = APIRouter(tags=["supplier-exchange"])

    def runtime(request: Request):
        return request.app.state.runtime

    @router.get("/.well-known/jwks.json", summary="Public keys that verify disclosure signatures (JWKS)")
    async def jwks() -> JSONResponse:
        return JSONResponse(signer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    # --- invitations ---------------------------------------------------------------------------

    @router.post("/invitations", status_code=201, summary="Invite a supplier (by tenant id or a code to hand over)")
    async def invite(body: NewInvitation, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            code = await commands.invite(uow, principal, body.supplier_tenant_id)
        return {"code": code, "supplier_tenant_id": body.supplier_tenant_id}

    @router.get("/invitations", summary="Invitations you issued (buyer) or that are addressed to you (supplier)")
    async def invitations(request: Request, principal: CurrentPrincipal, role: Role = "buyer") -> list[dict]:
        async with runtime(request).engine.connect() as conn:
            return await queries.list_invitations(conn, principal.tenant_id, role)

    @router.post("/invitations/{code}/accept", summary="Accept an invitation as the supplier (admin)")
    async def accept(code: str, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            return await commands.accept(uow, principal, code)

    # --- requests ------------------------------------------------------------------------------

    @router.post("/requests", status_code=201, summary="Ask a supplier to disclose figures for a fiscal year")
    async def create_request(body: NewRequest, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            request_id = await commands.request_disclosure(uow, principal, body.supplier_tenant_id, list(body.what),
                                                           body.fiscal_year, body.deadline, body.message)
        async with runtime(request).engine.connect() as conn:
            return await queries.get_request(conn, principal.tenant_id, request_id)

    @router.get("/requests", summary="Requests you sent (role=buyer) or received (role=supplier)")
    async def list_requests(request: Request, principal: CurrentPrincipal, role: Role | None = None) -> list[dict]:
        async with runtime(request).engine.connect() as conn:
            return await queries.list_requests(conn, principal.tenant_id, role)

    @router.get("/requests/{request_id}", summary="One request; the supplier opening it marks it viewed")
    async def get_request(request_id: str, request: Request, principal: CurrentPrincipal) -> dict:
        async with runtime(request).uow() as uow:
            await commands.mark_viewed(uow, principal, request_id)
        async with runtime(request).engine.connect() as conn:
            found = await queries.get_request(conn, principal.tenant_id, request_id)
        if found is None:
            raise commands.request_not_found(request_id)
        return found

    @router.post("/requests/{request_id}/decline", summary="Decline a request, with a reason (supplier admin)")
    async def decline(request_id: str, body: Decline, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            await commands.decline(uow, principal, request_id, body.reason)
        async with runtime(request).engine.connect() as conn:
            return await queries.get_request(conn, principal.tenant_id, request_id)

    @router.post("/requests/{request_id}/grant", status_code=201,
                 summary="Grant the figures you choose: an immutable, signed disclosure (supplier admin)")
    async def grant(request_id: str, body: Figures, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            return await commands.grant(uow, principal, signer, request_id, list(body.figures))

    @router.get("/suppliers/progress", summary="Per supplier: your requests by status (buyer)")
    async def progress(request: Request, principal: CurrentPrincipal) -> list[dict]:
        async with runtime(request).engine.connect() as conn:
            return await queries.progress(conn, principal.tenant_id)

    # --- disclosures ---------------------------------------------------------------------------

    @router.get("/disclosures", summary="Disclosures granted to you (role=buyer) or by you (role=supplier)")
    async def list_disclosures(request: Request, principal: CurrentPrincipal, role: Role | None = None) -> list[dict]:
        async with runtime(request).engine.connect() as conn:
            return await queries.list_disclosures(conn, principal.tenant_id, role)

    async def _visible(request: Request, principal: Principal, disclosure_id: str) -> dict:
        async with runtime(request).engine.connect() as conn:
            found = await queries.get_disclosure(conn, principal.tenant_id, disclosure_id)
        if found is None:
            raise commands.disclosure_not_found(disclosure_id)
        return found

    @router.get("/disclosures/{disclosure_id}", summary="A granted disclosure with its JWS signature")
    async def get_disclosure(disclosure_id: str, request: Request, principal: CurrentPrincipal) -> dict:
        return await _visible(request, principal, disclosure_id)

    async def refuse_change(disclosure_id: str, request: Request, principal: CurrentPrincipal) -> None:
        await _visible(request, principal, disclosure_id)  # others learn nothing: 404
        raise immutable(disclosure_id)

    refused = {"409": {"description": "A granted disclosure can never be changed, deleted or revoked"}}
    for method in ("PUT", "PATCH", "DELETE"):
        router.add_api_route("/disclosures/{disclosure_id}", refuse_change, methods=[method], responses=refused,
                             operation_id=f"refuse_{method.lower()}_disclosure",
                             summary=f"Refused (409): a granted disclosure can never be changed ({method})")
    router.add_api_route("/disclosures/{disclosure_id}/revoke", refuse_change, methods=["POST"], responses=refused,
                         operation_id="refuse_revoke_disclosure",
                         summary="Refused (409): a granted disclosure can never be revoked")

    @router.post("/disclosures/{disclosure_id}/corrections", status_code=201,
                 summary="Correct a disclosure: a new signed disclosure that supersedes it (supplier admin)")
    async def correct(disclosure_id: str, body: Figures, request: Request, principal: Principal = ADMIN) -> dict:
        async with runtime(request).uow() as uow:
            return await commands.correct(uow, principal, signer, disclosure_id, list(body.figures))

    return router
