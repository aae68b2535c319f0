"""HTTP API of the reporting service: totals and breakdowns with a path to every audit record."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from tanso_runtime.auth import CurrentPrincipal
from tanso_runtime.errors import ProblemError

from ..adapters import tables

router = APIRouter(tags=["reports"])


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


@router.get("/reports/trend", summary="Totals per fiscal year with the change from the year before")
async def trend(request: Request, principal: CurrentPrincipal, from_year: int = Query(ge=1990),
                to_year: int = Query(le=2100),
                scope2_basis: str = Query(default="location", pattern="^(location|market)$")) -> dict:
    if to_year < from_year or to_year - from_year > 50:
        raise ProblemError(422, "bad_range", "Give from_year ≤ to_year, at most 50 years apart.",
                           "from_year ≤ to_year（50年以内）で指定してください。")
    years = list(range(from_year, to_year + 1))
    totals: dict[int, dict[int, Decimal]] = {y: defaultdict(Decimal) for y in years}
    for line in await _lines(request, principal.tenant_id, years, scope2_basis):
        totals[line["fiscal_year"]][line["scope"]] += line["co2e_t"]
    out, previous = [], None
    for year in years:
        total = sum(totals[year].values(), Decimal(0))
        change = None if not previous else _fmt(((total - previous) / previous * 100).quantize(Decimal("0.01")))
        out.append({"fiscal_year": year, "total_t": _fmt(total),
                    "by_scope": {str(s): _fmt(v) for s, v in sorted(totals[year].items())},
                    "change_from_previous_percent": change})
        previous = total
    return {"scope2_basis": scope2_basis, "unit": "t-CO2e", "years": out}


@router.get("/reports/{fiscal_year}", summary="Totals of a fiscal year by scope, org unit and item (t-CO2e)")
async def fiscal_year_report(fiscal_year: int, request: Request, principal: CurrentPrincipal) -> dict:
    t, o = tables.report_totals, tables.org_units
    async with request.app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(select(t).where(t.c.tenant_id == principal.tenant_id,
                                                   t.c.fiscal_year == fiscal_year))).mappings().all()
        names = {r.org_unit_id: (r.name_ja, r.name_en) for r in await conn.execute(
            select(o.c.org_unit_id, o.c.name_ja, o.c.name_en).where(o.c.tenant_id == principal.tenant_id))}
    total, by_scope = Decimal(0), defaultdict(Decimal)
    by_unit: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    by_item: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    scope2_market, lines = Decimal(0), 0
    for r in rows:
        if r["basis"] == "market":
            scope2_market += r["co2e_t"]
            continue
        total += r["co2e_t"]
        by_scope[r["scope"]] += r["co2e_t"]
        by_unit[(r["org_unit_id"], r["scope"])] += r["co2e_t"]
        by_item[(r["item_code"], r["scope"])] += r["co2e_t"]
        lines += r["lines"]
    return {
        "fiscal_year": fiscal_year,
        "unit": "t-CO2e",
        "total_t": _fmt(total),
        "lines": lines,
        "by_scope": {str(s): _fmt(v) for s, v in sorted(by_scope.items())},
        "basis": "Scope 2 location-based (basic factors); market-based below",
        "scope2_market_based_t": _fmt(scope2_market),
        "total_market_based_t": _fmt(total - by_scope.get(2, Decimal(0)) + scope2_market),
        "by_org_unit": [{"org_unit_id": u, "name_ja": names.get(u, (None, None))[0],
                         "name_en": names.get(u, (None, None))[1], "scope": s, "co2e_t": _fmt(v)}
                        for (u, s), v in sorted(by_unit.items())],
        "by_item": [{"item_code": i, "scope": s, "co2e_t": _fmt(v)} for (i, s), v in sorted(by_item.items())],
        "lines_url": f"/api/reporting/reports/{fiscal_year}/lines",
    }


@router.get("/reports/{fiscal_year}/lines", summary="The lines under a total, each linked to its audit record")
async def report_lines(fiscal_year: int, request: Request, principal: CurrentPrincipal, scope: int | None = None,
                       org_unit_id: str | None = None, item_code: str | None = None,
                       scope2_basis: str = Query(default="location", pattern="^(location|market)$"),
                       limit: int = Query(default=1000, le=10000), offset: int = Query(default=0, ge=0)) -> list[dict]:
    t = tables.report_lines
    query = select(t).where(t.c.tenant_id == principal.tenant_id, t.c.fiscal_year == fiscal_year,
                            t.c.status == "calculated")
    excluded = "market" if scope2_basis == "location" else "location"
    query = query.where((t.c.scope2_method.is_(None)) | (t.c.scope2_method != excluded))
    for column, value in ((t.c.scope, scope), (t.c.org_unit_id, org_unit_id), (t.c.item_code, item_code)):
        if value is not None:
            query = query.where(column == value)
    async with request.app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(t.c.period, t.c.line_id).limit(limit).offset(offset))).mappings()
        return [{**{k: v for k, v in r.items() if k not in ("tenant_id", "co2e_t")}, "co2e_t": _fmt(r["co2e_t"]),
                 "audit_record_url": f"/api/calculation/audit-records/{r['audit_record_id']}"} for r in rows]


BREAKDOWNS = {"scope": "scope", "scope3_category": "scope3_category", "energy_type": "energy_type",
              "month": "period", "org_unit": "org_unit_id", "item": "item_code"}


async def _lines(request: Request, tenant_id: str, fiscal_years: list[int], basis: str) -> list[dict]:
    t = tables.report_lines
    excluded = "market" if basis == "location" else "location"
    query = select(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year.in_(fiscal_years), t.c.status == "calculated",
                            (t.c.scope2_method.is_(None)) | (t.c.scope2_method != excluded))
    async with request.app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


@router.get("/reports/{fiscal_year}/breakdown", summary="Totals broken down by scope, Scope 3 category, energy "
            "type, month, org unit or item")
async def breakdown(fiscal_year: int, request: Request, principal: CurrentPrincipal,
                    by: str = Query(pattern="^(scope|scope3_category|energy_type|month|org_unit|item)$"),
                    scope2_basis: str = Query(default="location", pattern="^(location|market)$")) -> dict:
    groups: dict = defaultdict(Decimal)
    for line in await _lines(request, principal.tenant_id, [fiscal_year], scope2_basis):
        groups[line[BREAKDOWNS[by]]] += line["co2e_t"]
    rows = sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
    return {"fiscal_year": fiscal_year, "by": by, "scope2_basis": scope2_basis, "unit": "t-CO2e",
            "rows": [{"key": k, "co2e_t": _fmt(v)} for k, v in rows]}


