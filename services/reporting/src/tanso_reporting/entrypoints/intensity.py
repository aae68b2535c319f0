"""HTTP API of F10 (organisation-based intensity) and F19 (supplier analysis).

Every query is filtered by the caller's tenant from the token: a disclosure is only ever read by the
buyer it was granted to (F23); the supplier that granted it and every other tenant get nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError

from ..adapters import tables
from ..domain.intensity import DENOMINATORS, divide, fmt, intensities, supplier_summary
from ..service_layer.intensity import set_denominators

router = APIRouter(tags=["intensity", "supplier analysis"])
EDITORS = require_roles("admin", "editor")
FiscalYear = Field(ge=1990, le=2100)


class DenominatorsIn(BaseModel):
    """Send numbers as strings ("1250.5") to keep their digits; leave out what you do not know."""

    model_config = ConfigDict(extra="forbid")
    revenue_million_yen: str | int | None = Field(default=None, description="Revenue in million yen (百万円)")
    employees: str | int | None = Field(default=None, description="Employees (人), e.g. at fiscal-year end")
    floor_area_m2: str | int | None = Field(default=None, description="Total floor area in m²")
    production_volume: str | int | None = Field(default=None, description="Production volume in production_unit")
    production_unit: str | None = Field(default=None, description="Unit of the production volume, e.g. t or 台")


def _year(fiscal_year: int) -> None:
    if not 1990 <= fiscal_year <= 2100:
        raise ProblemError(422, "bad_fiscal_year", f"{fiscal_year} is not a fiscal year; use e.g. 2025.",
                           f"{fiscal_year} は年度として使えません。2025 のように指定してください。")


def _no_denominators(fiscal_year: int) -> ProblemError:
    return ProblemError(
        404, "no_denominators",
        f"No intensity denominators for fiscal year {fiscal_year} yet; an admin or editor enters them with "
        f"PUT /api/reporting/intensity/{fiscal_year}/denominators (revenue_million_yen, employees, "
        "floor_area_m2, production_volume).",
        f"{fiscal_year}年度の原単位の分母がまだありません。管理者または編集者が "
        f"PUT /api/reporting/intensity/{fiscal_year}/denominators で売上高（百万円）・従業員数・延床面積・"
        "生産量を登録してください。")


async def _denominators(conn, tenant_id: str, fiscal_year: int) -> dict | None:
    t = tables.intensity_denominators
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year))
           ).mappings().first()
    return dict(row) if row else None


def _denominators_out(row: dict) -> dict:
    return {"fiscal_year": row["fiscal_year"], **{d.key: fmt(row[d.key]) for d in DENOMINATORS},
            "production_unit": row["production_unit"], "version": row["version"], "set_by": row["set_by"],
            "set_at": row["set_at"]}


@router.put("/intensity/{fiscal_year}/denominators",
            summary="Set a fiscal year's intensity denominators: revenue (百万円), employees, floor area, "
                    "production (admin, editor)")
async def put_denominators(fiscal_year: int, body: DenominatorsIn, request: Request,
                           principal: Principal = EDITORS) -> dict:
    _year(fiscal_year)
    values = {k: (str(v) if isinstance(v, int) else v) for k, v in body.model_dump().items()}
    async with request.app.state.runtime.uow() as uow:
        changed = await set_denominators(uow, principal, fiscal_year, values)
    async with request.app.state.runtime.engine.connect() as conn:
        row = await _denominators(conn, principal.tenant_id, fiscal_year)
    return {**_denominators_out(row), "changed": changed}


@router.get("/intensity/{fiscal_year}/denominators", summary="A fiscal year's intensity denominators")
async def get_denominators(fiscal_year: int, request: Request, principal: CurrentPrincipal) -> dict:
    async with request.app.state.runtime.engine.connect() as conn:
        row = await _denominators(conn, principal.tenant_id, fiscal_year)
    if row is None:
        raise _no_denominators(fiscal_year)
    return _denominators_out(row)


@router.get("/intensity/{fiscal_year}",
            summary="Organisation-based intensity (F10): emissions of a boundary ÷ revenue, employees, floor "
                    "area or production, by scope")
async def intensity(fiscal_year: int, request: Request, principal: CurrentPrincipal,
                    scopes: Annotated[list[int] | None, Query(description="Scopes in the boundary (default: "
                                                                      "1, 2 and 3)")] = None,
                    scope3_categories: Annotated[list[int] | None, Query(
                        description="Scope 3 categories in the boundary (default: all)")] = None,
                    scope2_basis: str = Query(default="location", pattern="^(location|market)$")) -> dict:
    scopes = scopes or [1, 2, 3]
    bad = [s for s in scopes if s not in (1, 2, 3)] + [c for c in scope3_categories or [] if not 1 <= c <= 15]
    if bad or not scopes:
        raise ProblemError(422, "bad_boundary", "scopes must be 1, 2 or 3 and scope3_categories 1 to 15, "
                           "e.g. ?scopes=1&scopes=2&scopes=3&scope3_categories=1.",
                           "scopes は 1・2・3、scope3_categories は 1〜15 で指定してください"
                           "（例: ?scopes=1&scopes=2&scopes=3&scope3_categories=1）。")
    t = tables.report_lines
    excluded = "market" if scope2_basis == "location" else "location"
    query = select(t.c.scope, t.c.scope3_category, t.c.co2e_t).where(
        t.c.tenant_id == principal.tenant_id, t.c.fiscal_year == fiscal_year, t.c.status == "calculated",
        t.c.scope.in_(sorted(set(scopes))), (t.c.scope2_method.is_(None)) | (t.c.scope2_method != excluded))
    async with request.app.state.runtime.engine.connect() as conn:
        denominators = await _denominators(conn, principal.tenant_id, fiscal_year)
        if denominators is None:
            raise _no_denominators(fiscal_year)
        lines = (await conn.execute(query)).all()
    by_scope: dict[int, Decimal] = {s: Decimal(0) for s in sorted(set(scopes))}
    for scope, category, co2e in lines:
        if scope == 3 and scope3_categories is not None and category not in scope3_categories:
            continue
        by_scope[scope] += co2e
    total = sum(by_scope.values(), Decimal(0))
    rows = intensities(total, by_scope, denominators)
    revenue = denominators["revenue_million_yen"]
    return {
        "fiscal_year": fiscal_year,
        "boundary": {"scopes": sorted(set(scopes)),
                     "scope3_categories": sorted(set(scope3_categories)) if scope3_categories is not None else None,
                     "scope2_basis": scope2_basis},
        "emissions": {"unit": "t-CO2e", "total_t": fmt(total),
                      "by_scope": {str(s): fmt(v) for s, v in by_scope.items()}},
        "denominators": _denominators_out(denominators),
        "intensities": rows,
        # The figure a supplier grants its buyers as its organisation intensity (POST
        # /api/supplier-exchange/requests/{id}/grant); the buyers' factors use it for Scope 3 cat. 1/2.
        "disclosable_figure": None if revenue is None else {
            "kind": "org_intensity", "value": fmt(divide(total, revenue)), "unit": "t-CO2e/百万円"},
    }


@router.get("/supplier-analysis/{fiscal_year}",
            summary="Supplier analysis (F19): what your suppliers disclosed to you for a fiscal year")
async def supplier_analysis(fiscal_year: int, request: Request, principal: CurrentPrincipal) -> dict:
    t, n = tables.supplier_disclosures, tables.tenant_names
    async with request.app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(select(t).where(
            t.c.tenant_id == principal.tenant_id, t.c.fiscal_year == fiscal_year)
            .order_by(t.c.supplier_tenant_id, t.c.granted_at, t.c.disclosure_id))).mappings().all()
        ids = sorted({r["supplier_tenant_id"] for r in rows})
        names = {r.tenant_id: r.company_name for r in await conn.execute(
            select(n.c.tenant_id, n.c.company_name).where(n.c.tenant_id.in_(ids)))} if ids else {}
    current: dict[str, list[dict]] = defaultdict(list)
    superseded: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["superseded_by"] is None:
            current[r["supplier_tenant_id"]].append({"disclosure_id": r["disclosure_id"],
                                                     "granted_at": r["granted_at"],
                                                     "figures": json.loads(r["figures"])})
        else:
            superseded[r["supplier_tenant_id"]].append(r["disclosure_id"])
    suppliers, totals = [], defaultdict(Decimal)
    for supplier in ids:
        summary = supplier_summary(current[supplier])
        for scope, value in summary["scope_totals_t"].items():
            totals[scope] += Decimal(value)
        suppliers.append({
            "supplier_tenant_id": supplier, "company_name": names.get(supplier),
            "disclosure_ids": [d["disclosure_id"] for d in current[supplier]],
            "superseded_disclosure_ids": superseded[supplier],
            "latest_granted_at": max((d["granted_at"] for d in current[supplier]), default=None),
            **summary,
            "disclosure_urls": [f"/api/supplier-exchange/disclosures/{d['disclosure_id']}" for d in current[supplier]],
        })
    return {"fiscal_year": fiscal_year, "unit": "t-CO2e", "suppliers": suppliers,
            "disclosed_totals_t": {s: fmt(v) for s, v in sorted(totals.items())}}
