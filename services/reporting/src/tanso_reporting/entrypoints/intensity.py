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
from ..domain.intensity import (
    ENTERED,
    divide,
    fmt,
    intensities,
    nested_pairs,
    subtrees,
    supplier_summary,
)
from ..service_layer.intensity import set_denominators

router = APIRouter(tags=["intensity", "supplier analysis"])
EDITORS = require_roles("admin", "editor")
FiscalYear = Field(ge=1990, le=2100)


class DenominatorsIn(BaseModel):
    """Send numbers as strings ("1250.5") to keep their digits; leave out what you do not know."""

    model_config = ConfigDict(extra="forbid")
    revenue_million_yen: str | int | None = Field(
        default=None, description="Not accepted here (422 revenue_in_identity): an admin records revenue in "
                                  "identity, PUT /api/identity/revenues/{fiscal_year}")
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
        f"No intensity denominators for fiscal year {fiscal_year} yet. An admin records the company's revenue "
        f"in identity with PUT /api/identity/revenues/{fiscal_year} {{\"revenue_million_yen\": \"1250.5\"}}; "
        f"an admin or editor enters employees, floor_area_m2 or production_volume with "
        f"PUT /api/reporting/intensity/{fiscal_year}/denominators.",
        f"{fiscal_year}年度の原単位の分母がまだありません。売上高（百万円）は管理者が identity の "
        f"PUT /api/identity/revenues/{fiscal_year} に {{\"revenue_million_yen\": \"1250.5\"}} を送って登録します。"
        f"従業員数・延床面積・生産量は管理者または編集者が PUT /api/reporting/intensity/{fiscal_year}/denominators "
        "で登録します。")


def _record_revenue_hint(fiscal_year: int, org_unit_id: str | None) -> tuple[str, str]:
    body = '{"revenue_million_yen": "…"' + (f', "org_unit_id": "{org_unit_id}"' if org_unit_id else "") + "}"
    return (f"an admin records it in identity with PUT /api/identity/revenues/{fiscal_year} {body}",
            f"管理者が identity の PUT /api/identity/revenues/{fiscal_year} に {body} を送って登録してください")


async def _denominators(conn, tenant_id: str, fiscal_year: int) -> dict | None:
    t = tables.intensity_denominators
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year))
           ).mappings().first()
    return dict(row) if row else None


async def _revenues(conn, tenant_id: str, fiscal_year: int) -> dict[str | None, dict]:
    """The revenues in force from identity, by org unit id (None: the whole company)."""
    t = tables.revenues
    rows = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year))
            ).mappings().all()
    return {r["org_unit_id"]: dict(r) for r in rows}


def _revenue_out(row: dict, name_ja: str | None = None) -> dict:
    return {"org_unit_id": row["org_unit_id"], **({"name_ja": name_ja} if name_ja else {}),
            "revenue_million_yen": fmt(row["revenue_million_yen"]), "revision": row["revision"],
            "recorded_by": row["recorded_by"]}


def _denominators_out(fiscal_year: int, row: dict | None, revenue: Decimal | None) -> dict:
    """Revenue (from identity) and the entered denominators (from reporting's own API) of a fiscal year."""
    row = row or {}
    return {"fiscal_year": fiscal_year, "revenue_million_yen": fmt(revenue),
            **{d.key: fmt(row.get(d.key)) for d in ENTERED},
            "production_unit": row.get("production_unit"), "version": row.get("version"),
            "set_by": row.get("set_by"), "set_at": row.get("set_at"),
            "revenue_source": f"identity: GET /api/identity/revenues?fiscal_year={fiscal_year}"}


@router.put("/intensity/{fiscal_year}/denominators",
            summary="Set a fiscal year's intensity denominators: employees, floor area, production (admin, "
                    "editor). Revenue is recorded in identity: PUT /api/identity/revenues/{fiscal_year}")
async def put_denominators(fiscal_year: int, body: DenominatorsIn, request: Request,
                           principal: Principal = EDITORS) -> dict:
    _year(fiscal_year)
    values = {k: (str(v) if isinstance(v, int) else v) for k, v in body.model_dump().items()}
    async with request.app.state.runtime.uow() as uow:
        changed = await set_denominators(uow, principal, fiscal_year, values)
    async with request.app.state.runtime.engine.connect() as conn:
        row = await _denominators(conn, principal.tenant_id, fiscal_year)
        company = (await _revenues(conn, principal.tenant_id, fiscal_year)).get(None)
    revenue = company["revenue_million_yen"] if company else None
    return {**_denominators_out(fiscal_year, row, revenue), "changed": changed}


@router.get("/intensity/{fiscal_year}/denominators",
            summary="A fiscal year's intensity denominators: the company's revenue (from identity) and the "
                    "entered ones")
async def get_denominators(fiscal_year: int, request: Request, principal: CurrentPrincipal) -> dict:
    async with request.app.state.runtime.engine.connect() as conn:
        row = await _denominators(conn, principal.tenant_id, fiscal_year)
        company = (await _revenues(conn, principal.tenant_id, fiscal_year)).get(None)
    if row is None and company is None:
        raise _no_denominators(fiscal_year)
    return _denominators_out(fiscal_year, row, company["revenue_million_yen"] if company else None)


async def _org_boundary(conn, tenant_id: str, fiscal_year: int, chosen: list[str],
                        revenues: dict[str | None, dict]) -> tuple[set[str], list[dict]]:
    """The org units of a boundary (the chosen ones and everything below them) and the revenue rows of the
    chosen units; refuses unknown or nested units and units without revenue, saying what to do."""
    o = tables.org_units
    units = {r.org_unit_id: r for r in await conn.execute(
        select(o.c.org_unit_id, o.c.parent_id, o.c.kind, o.c.name_ja).where(o.c.tenant_id == tenant_id))}
    unknown = [u for u in chosen if u not in units]
    if unknown:
        raise ProblemError(
            404, "unknown_org_unit",
            f"Org unit(s) {', '.join(unknown)} are not known in your tenant; take ids from "
            "GET /api/identity/org-units (a unit registered just now may take a moment to arrive).",
            f"組織 {', '.join(unknown)} はこのテナントにありません。GET /api/identity/org-units の ID を指定して"
            "ください（登録直後の組織は反映まで少しかかることがあります）。", org_unit_ids=unknown)
    tree = {u: r.parent_id for u, r in units.items()}
    nested = nested_pairs(tree, chosen)
    if nested:
        inner, outer = nested[0]
        raise ProblemError(
            422, "nested_org_units",
            f"Org unit {units[inner].name_ja} ({inner}) lies below {units[outer].name_ja} ({outer}), which already "
            "includes it; choose one of them so that no emissions or revenue count twice.",
            f"組織 {units[inner].name_ja}（{inner}）は {units[outer].name_ja}（{outer}）に含まれています。"
            "排出量と売上高が二重に数えられないよう、どちらか一方を指定してください。",
            nested=[{"org_unit_id": i, "inside": o_} for i, o_ in nested])
    rows, missing = [], []
    for unit in chosen:
        row = revenues.get(None if units[unit].kind == "company" else unit)
        if row is None:
            missing.append(unit)
        else:
            rows.append(_revenue_out(row, units[unit].name_ja) | {"org_unit_id": unit})
    if missing:
        names = ", ".join(f"{units[u].name_ja} ({u})" for u in missing)
        how_en, how_ja = _record_revenue_hint(fiscal_year, None if len(missing) > 1 else missing[0])
        raise ProblemError(
            404, "no_revenue",
            f"No revenue is recorded for fiscal year {fiscal_year} for org unit(s) {names}, so their intensity "
            f"cannot be computed; {how_en} for each of them.",
            f"{fiscal_year}年度の売上高が組織 {names} に登録されていないため、原単位を計算できません。それぞれについて"
            f"{how_ja}。", org_unit_ids=missing)
    return subtrees(tree, chosen), rows


def _org_unit_ids(values: list[str] | None) -> list[str]:
    """``org_units=a,b`` or ``org_units=a&org_units=b``, in the given order, without repeats."""
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


@router.get("/intensity/{fiscal_year}",
            summary="Organisation-based intensity (F10): emissions of a boundary ÷ revenue, employees, floor "
                    "area or production, by scope")
async def intensity(fiscal_year: int, request: Request, principal: CurrentPrincipal,
                    scopes: Annotated[list[int] | None, Query(description="Scopes in the boundary (default: "
                                                                      "1, 2 and 3)")] = None,
                    scope3_categories: Annotated[list[int] | None, Query(
                        description="Scope 3 categories in the boundary (default: all)")] = None,
                    scope2_basis: str = Query(default="location", pattern="^(location|market)$"),
                    org_units: Annotated[list[str] | None, Query(
                        description="Org unit ids, comma-separated (org_units=<id>,<id>): the emissions of these "
                                    "units and everything below them ÷ the sum of their revenues (default: the "
                                    "whole company ÷ the company's revenue)")] = None) -> dict:
    scopes = scopes or [1, 2, 3]
    chosen = _org_unit_ids(org_units)
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
        revenues = await _revenues(conn, principal.tenant_id, fiscal_year)
        if chosen:
            boundary_units, revenue_rows = await _org_boundary(conn, principal.tenant_id, fiscal_year, chosen,
                                                               revenues)
            query = query.where(t.c.org_unit_id.in_(sorted(boundary_units)))
            revenue = sum((Decimal(r["revenue_million_yen"]) for r in revenue_rows), Decimal(0))
            entered = None  # employees, floor area and production are company-wide: not for a part of it
        else:
            entered = await _denominators(conn, principal.tenant_id, fiscal_year)
            company = revenues.get(None)
            revenue_rows = [_revenue_out(company)] if company else []
            revenue = company["revenue_million_yen"] if company else None
            if entered is None and revenue is None:
                raise _no_denominators(fiscal_year)
        lines = (await conn.execute(query)).all()
    by_scope: dict[int, Decimal] = {s: Decimal(0) for s in sorted(set(scopes))}
    for scope, category, co2e in lines:
        if scope == 3 and scope3_categories is not None and category not in scope3_categories:
            continue
        by_scope[scope] += co2e
    total = sum(by_scope.values(), Decimal(0))
    denominators = {**(entered or {}), "revenue_million_yen": revenue}
    rows = intensities(total, by_scope, denominators)
    return {
        "fiscal_year": fiscal_year,
        "boundary": {"scopes": sorted(set(scopes)),
                     "scope3_categories": sorted(set(scope3_categories)) if scope3_categories is not None else None,
                     "scope2_basis": scope2_basis, "org_units": chosen or None},
        "emissions": {"unit": "t-CO2e", "total_t": fmt(total),
                      "by_scope": {str(s): fmt(v) for s, v in by_scope.items()}},
        "denominators": _denominators_out(fiscal_year, entered, revenue),
        # The revenue rows recorded in identity that make up the revenue denominator.
        "revenues": revenue_rows,
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
