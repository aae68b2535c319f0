"""HTTP API of the activities service (exposed by the gateway under /api/activities)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from tanso_ghg.items import DEFAULT_ITEMS
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import not_found

from ..adapters import tables
from ..adapters.logic import items_for_year
from ..domain.commands import CorrectActivity, RecordActivity, VoidActivity
from ..service_layer import handlers

router = APIRouter(tags=["activities"])
WRITERS = require_roles("admin", "editor", "contributor")
CORRECTORS = require_roles("admin", "editor")


class ActivityOut(BaseModel):
    activity_id: str
    revision: int
    status: str
    org_unit_id: str
    item_code: str
    period: str
    fiscal_year: int
    amount: Decimal
    unit: str
    note: str | None = None


class Accepted(BaseModel):
    activity_id: str
    revision: int
    fiscal_year: int | None = None


def _runtime(request: Request):
    return request.app.state.runtime


@router.get("/items", summary="Activity items of a fiscal year's calculation logic")
async def list_items(request: Request, principal: CurrentPrincipal, fiscal_year: int | None = None) -> list[dict]:
    if fiscal_year is None:
        return [item.__dict__ for item in DEFAULT_ITEMS]
    async with _runtime(request).engine.connect() as conn:
        return [item.__dict__ for item in await items_for_year(conn, principal.tenant_id, fiscal_year)]


@router.post("/activities", status_code=201, response_model=Accepted, summary="Record an activity amount")
async def record(cmd: RecordActivity, request: Request, principal: Principal = WRITERS) -> Accepted:
    async with _runtime(request).uow() as uow:
        activity = await handlers.record_activity(cmd, principal, uow)
    return Accepted(activity_id=activity.activity_id, revision=activity.revision,
                    fiscal_year=activity.facts.fiscal_year)


@router.post("/activities/{activity_id}/corrections", response_model=Accepted, summary="Correct an activity")
async def correct(activity_id: str, cmd: CorrectActivity, request: Request,
                  principal: Principal = CORRECTORS) -> Accepted:
    async with _runtime(request).uow() as uow:
        activity = await handlers.correct_activity(activity_id, cmd, principal, uow)
    return Accepted(activity_id=activity_id, revision=activity.revision, fiscal_year=activity.facts.fiscal_year)


@router.post("/activities/{activity_id}/void", response_model=Accepted, summary="Void an activity")
async def void(activity_id: str, cmd: VoidActivity, request: Request, principal: Principal = CORRECTORS) -> Accepted:
    async with _runtime(request).uow() as uow:
        activity = await handlers.void_activity(activity_id, cmd, principal, uow)
    return Accepted(activity_id=activity_id, revision=activity.revision)


@router.get("/activities", response_model=list[ActivityOut], summary="List activities of your tenant")
async def list_activities(
    request: Request, principal: CurrentPrincipal,
    fiscal_year: int | None = None, org_unit_id: str | None = None, item_code: str | None = None,
    limit: int = Query(default=500, le=5000), offset: int = Query(default=0, ge=0),
) -> list[ActivityOut]:
    t = tables.activities
    query = select(t).where(t.c.tenant_id == principal.tenant_id)
    for column, value in ((t.c.fiscal_year, fiscal_year), (t.c.org_unit_id, org_unit_id), (t.c.item_code, item_code)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(t.c.period, t.c.activity_id).limit(limit).offset(offset)
    async with _runtime(request).engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [ActivityOut(**row) for row in rows]


@router.get("/activities/{activity_id}", summary="One activity with its full history")
async def get_activity(activity_id: str, request: Request, principal: CurrentPrincipal) -> dict:
    runtime = _runtime(request)
    t = tables.activities
    async with runtime.engine.connect() as conn:
        row = (await conn.execute(select(t).where(t.c.tenant_id == principal.tenant_id,
                                                  t.c.activity_id == activity_id))).mappings().first()
        if row is None:
            raise not_found("Activity", "活動量", activity_id)
        history = await runtime.uow().store.load(conn, handlers.stream_of(activity_id))
    return {**ActivityOut(**row).model_dump(mode="json"),
            "history": [{"revision": e.version, "type": e.type, "data": e.data, "actor": e.meta.get("actor"),
                         "recorded_at": e.recorded_at.isoformat()} for e in history]}
