"""HTTP API of the identity service (exposed by the gateway under ``/api/identity``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel
from tanso_events.store import ConcurrencyError
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.app import ServiceRuntime
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import queries
from ..adapters.signing import TokenIssuer
from ..domain.commands import RecordRevenue, RegisterOrgUnit, RegisterTenant, RegisterUser, SignIn
from ..service_layer import handlers
from ..settings import Settings

#: SQLite hands back naive datetimes; every stored time is UTC, so say so in the JSON.
UtcTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=UTC))]


class SignUpResult(BaseModel):
    tenant_id: str
    org_unit_id: str
    user_id: str


class TokenResult(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    tenant_id: str
    user_id: str
    roles: list[str]


class TenantView(BaseModel):
    tenant_id: str
    company_name: str
    industry_code: str | None
    fiscal_year_start_month: int
    created_at: UtcTime


class OrgUnitView(BaseModel):
    org_unit_id: str
    parent_id: str | None
    kind: str
    name_ja: str
    name_en: str | None
    prefecture: str | None
    floor_area_m2: Decimal | None
    building_use: str | None
    created_at: UtcTime


class UserView(BaseModel):
    user_id: str
    tenant_id: str
    email: str
    display_name: str
    roles: list[str]
    status: str
    created_at: UtcTime
    deactivated_at: UtcTime | None = None


class RevenueView(BaseModel):
    revenue_id: str
    fiscal_year: int
    org_unit_id: str | None
    revenue_million_yen: Decimal
    revision: int
    recorded_by: str
    recorded_at: UtcTime


class RevenueRecordResult(RevenueView):
    changed: bool


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


Runtime = Annotated[ServiceRuntime, Depends(_runtime)]


async def _active_admin(principal: Annotated[Principal, require_roles("admin")], runtime: Runtime) -> Principal:
    """Admin per token *and* per current record, so a deactivated or demoted admin's token stops working."""
    async with runtime.engine.connect() as conn:
        user = await queries.get_user(conn, principal.tenant_id, principal.subject)
    if user is None or user["status"] != "active" or "admin" not in user["roles"]:
        raise ProblemError(403, "forbidden", "This action needs an active admin account.",
                           "この操作には有効な管理者アカウントが必要です。")
    return principal


Admin = Annotated[Principal, Depends(_active_admin)]


@contextlib.asynccontextmanager
async def _uow(runtime: ServiceRuntime) -> AsyncIterator[UnitOfWork]:
    try:
        async with runtime.uow() as uow:
            yield uow
    except ConcurrencyError as exc:
        raise ProblemError(409, "conflict", "Someone changed this at the same time; reload and retry.",
                           "同時に別の変更が行われました。再読み込みして再試行してください。") from exc


async def _read(runtime: ServiceRuntime, query, *args):
    async with runtime.engine.connect() as conn:
        return await query(conn, *args)


def build_router(settings: Settings, issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
    async def jwks() -> JSONResponse:
        return JSONResponse(issuer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    @router.post("/tenants", status_code=201, response_model=SignUpResult, summary="Sign up a company")
    async def sign_up(cmd: RegisterTenant, runtime: Runtime) -> SignUpResult:
        if not settings.allow_signup:
            raise ProblemError(403, "signup_disabled", "Self-service sign-up is disabled on this platform.",
                               "このプラットフォームではセルフサインアップが無効です。")
        async with _uow(runtime) as uow:
            result = await handlers.register_tenant(cmd, uow)
        return SignUpResult(**vars(result))

    @router.post("/token", response_model=TokenResult, summary="Password sign-in")
    async def token(cmd: SignIn, runtime: Runtime, response: Response) -> TokenResult:
        who = await handlers.sign_in(cmd, runtime.engine)
        response.headers["Cache-Control"] = "no-store"
        return TokenResult(access_token=issuer.issue(who.user_id, who.tenant_id, who.roles),
                           expires_in=issuer.lifetime_seconds, tenant_id=who.tenant_id,
                           user_id=who.user_id, roles=who.roles)

    @router.get("/me", response_model=UserView)
    async def me(principal: CurrentPrincipal, runtime: Runtime) -> dict:
        user = await _read(runtime, queries.get_user, principal.tenant_id, principal.subject)
        if user is None:
            raise not_found("User", "ユーザー", principal.subject)
        return user

    @router.get("/tenant", response_model=TenantView)
    async def tenant(principal: CurrentPrincipal, runtime: Runtime) -> dict:
        row = await _read(runtime, queries.get_tenant, principal.tenant_id)
        if row is None:
            raise not_found("Tenant", "テナント", principal.tenant_id)
        return row

    @router.post("/org-units", status_code=201, response_model=OrgUnitView)
    async def create_org_unit(cmd: RegisterOrgUnit, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            org_unit_id = await handlers.register_org_unit(cmd, principal, uow)
        return await _read(runtime, queries.get_org_unit, principal.tenant_id, org_unit_id)

    @router.get("/org-units", response_model=list[OrgUnitView], summary="Flat list; parents before children")
    async def org_units(principal: CurrentPrincipal, runtime: Runtime) -> list[dict]:
        return await _read(runtime, queries.list_org_units, principal.tenant_id)

    @router.get("/org-units/{org_unit_id}", response_model=OrgUnitView)
    async def org_unit(org_unit_id: str, principal: CurrentPrincipal, runtime: Runtime) -> dict:
        row = await _read(runtime, queries.get_org_unit, principal.tenant_id, org_unit_id)
        if row is None:
            raise not_found("Org unit", "組織", org_unit_id)
        return row

    @router.post("/users", status_code=201, response_model=UserView)
    async def create_user(cmd: RegisterUser, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            user_id = await handlers.register_user(cmd, principal, uow)
        return await _read(runtime, queries.get_user, principal.tenant_id, user_id)

    @router.get("/users", response_model=list[UserView])
    async def users(principal: Admin, runtime: Runtime) -> list[dict]:
        return await _read(runtime, queries.list_users, principal.tenant_id)

    @router.post("/users/{user_id}/deactivate", response_model=UserView)
    async def deactivate(user_id: str, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            await handlers.deactivate_user(user_id, principal, uow)
        return await _read(runtime, queries.get_user, principal.tenant_id, user_id)

    @router.put("/revenues/{fiscal_year}", response_model=RevenueRecordResult,
                summary="Record or correct the revenue (百万円) of a fiscal year, for the company or a division "
                        "or site (admin; F10 intensity)")
    async def record_revenue(fiscal_year: int, cmd: RecordRevenue, principal: Admin, runtime: Runtime) -> dict:
        async with _uow(runtime) as uow:
            result = await handlers.record_revenue(fiscal_year, cmd, principal, uow)
        row = await _read(runtime, queries.get_revenue, principal.tenant_id, result.revenue_id)
        return {**row, "changed": result.changed}

    @router.get("/revenues", response_model=list[RevenueView],
                summary="Revenues in force: the company's (org_unit_id null) and per division or site")
    async def revenues(principal: CurrentPrincipal, runtime: Runtime, fiscal_year: int | None = None) -> list[dict]:
        return await _read(runtime, queries.list_revenues, principal.tenant_id, fiscal_year)

    return router
