"""HTTP API of the calculation service: emission lines and their audit trail."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import tables
from ..domain.logic import LogicItem
from ..domain.methods import METHODS
from ..service_layer import audit, logic
from ..service_layer.lines import resolve_factor

router = APIRouter(tags=["calculation"])
ADMIN = require_roles("admin")


def _engine(request: Request):
    return request.app.state.runtime.engine


@router.get("/lines", summary="Emission lines of your tenant (one per activity)")
async def list_lines(request: Request, principal: CurrentPrincipal, fiscal_year: int | None = None,
                     status: str | None = None, limit: int = Query(default=1000, le=10000),
                     offset: int = Query(default=0, ge=0)) -> list[dict]:
    t = tables.lines
    query = select(t).where(t.c.tenant_id == principal.tenant_id)
    if fiscal_year is not None:
        query = query.where(t.c.fiscal_year == fiscal_year)
    if status is not None:
        query = query.where(t.c.status == status)
    async with _engine(request).connect() as conn:
        rows = (await conn.execute(query.order_by(t.c.period, t.c.line_id).limit(limit).offset(offset))).mappings()
        return [{k: (str(v) if k == "co2e_t" else v) for k, v in row.items() if k != "tenant_id"} for row in rows]


@router.get("/lines/{line_id}/audit-records", summary="Every audit record of one line, newest first")
async def line_history(line_id: str, request: Request, principal: CurrentPrincipal) -> list[dict]:
    t = tables.audit_records
    async with _engine(request).connect() as conn:
        rows = (await conn.execute(select(t.c.record).where(t.c.tenant_id == principal.tenant_id,
                                                            t.c.line_id == line_id).order_by(t.c.seq.desc()))).all()
    if not rows:
        raise not_found("Emission line", "排出量明細", line_id)
    return [r[0] for r in rows]


@router.get("/audit-records/{audit_record_id}", summary="One audit record: inputs, factor, formula, result")
async def audit_record(audit_record_id: str, request: Request, principal: CurrentPrincipal) -> dict:
    t = tables.audit_records
    async with _engine(request).connect() as conn:
        row = (await conn.execute(select(t.c.record).where(t.c.tenant_id == principal.tenant_id,
                                                           t.c.audit_record_id == audit_record_id))).first()
        superseded_by = (await conn.execute(select(t.c.audit_record_id).where(
            t.c.tenant_id == principal.tenant_id, t.c.supersedes == audit_record_id))).scalar()
    if row is None:
        raise not_found("Audit record", "監査記録", audit_record_id)
    return {**row[0], "superseded_by": superseded_by}


@router.get("/audit-trail/verify", summary="Verify the tenant's hash chain; names the first broken link")
async def verify(request: Request, principal: CurrentPrincipal) -> dict:
    async with _engine(request).connect() as conn:
        return await audit.verify_chain(conn, principal.tenant_id)


@router.get("/totals/{fiscal_year}", summary="Totals and the records under them, now or as of a past moment")
async def totals(fiscal_year: int, request: Request, principal: CurrentPrincipal,
                 as_of: datetime | None = Query(default=None, description="ISO time, e.g. 2026-04-01T00:00:00Z")
                 ) -> dict:
    if as_of is not None and as_of.tzinfo is None:
        raise ProblemError(422, "naive_time", "as_of needs a time zone, e.g. 2026-04-01T00:00:00+09:00.",
                           "as_of にはタイムゾーンを付けてください（例: 2026-04-01T00:00:00+09:00）。")
    async with _engine(request).connect() as conn:
        return await audit.totals_as_of(conn, principal.tenant_id, fiscal_year, as_of)


@router.get("/methods", summary="Calculation methods (Scope 1, 2 and the 15 Scope 3 categories)")
async def methods(_: CurrentPrincipal) -> list[dict]:
    return [{"code": m.code, "name_ja": m.name_ja, "name_en": m.name_en, "formula": m.formula,
             "params": [{"name": n, "meaning": d} for n, d in m.params], "needs_factor": m.needs_factor}
            for m in METHODS.values()]


@router.get("/logic/{fiscal_year}", summary="Calculation logic of a fiscal year, with the factor in force per item")
async def get_logic(fiscal_year: int, request: Request, principal: CurrentPrincipal) -> dict:
    async with request.app.state.runtime.uow() as uow:
        items, version, copied_from = await logic.current_items(uow, principal.tenant_id, fiscal_year)
        out = []
        for item in items:
            factor = await resolve_factor(uow, principal.tenant_id, item.factor_code, fiscal_year) \
                if item.factor_code else None
            out.append({**item.model_dump(mode="json"), "factor_in_force": None if factor is None else {
                k: (str(v) if k == "value" else v) for k, v in factor.items()
                if k in ("factor_version_id", "value", "value_unit", "edition", "source_title_ja",
                         "source_title_en", "status")}})
    return {"fiscal_year": fiscal_year, "version": version, "copied_from": copied_from, "items": out}


class CopyLogic(BaseModel):
    copy_from: str = Field(description="'default' (built-in items) or a fiscal year such as '2024'")


@router.post("/logic/{fiscal_year}/copy", summary="Start the year's logic from the built-in items or another year")
async def copy(fiscal_year: int, body: CopyLogic, request: Request, principal: Principal = ADMIN) -> dict:
    async with request.app.state.runtime.uow() as uow:
        version = await logic.copy_logic(uow, principal, fiscal_year, body.copy_from)
    return {"fiscal_year": fiscal_year, "version": version}


@router.put("/logic/{fiscal_year}/items/{item_code}", summary="Add or change an item; affected lines are recomputed")
async def put_item(fiscal_year: int, item_code: str, item: LogicItem, request: Request,
                   principal: Principal = ADMIN) -> dict:
    if item.item_code != item_code:
        raise ProblemError(422, "code_mismatch", "item_code in the body must match the path.",
                           "本文の item_code とパスが一致しません。")
    async with request.app.state.runtime.uow() as uow:
        version = await logic.set_item(uow, principal, fiscal_year, item)
    return {"fiscal_year": fiscal_year, "version": version}


@router.delete("/logic/{fiscal_year}/items/{item_code}", summary="Remove an item; its lines are voided")
async def delete_item(fiscal_year: int, item_code: str, request: Request, principal: Principal = ADMIN) -> dict:
    async with request.app.state.runtime.uow() as uow:
        version = await logic.remove_item(uow, principal, fiscal_year, item_code)
    return {"fiscal_year": fiscal_year, "version": version}
