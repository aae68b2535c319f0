"""Read-side queries; every one sees platform rows plus the caller's own tenant rows only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from tanso_events.catalog import PLATFORM_TENANT

from ..domain.search import search_key, search_terms
from . import tables

fv = tables.factor_versions


def _visible(table, tenant_id: str):
    return table.c.tenant_scope.in_([PLATFORM_TENANT, tenant_id])


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FactorFilter:
    q: str | None = None
    source_id: str | None = None
    edition: str | None = None
    category: str | None = None
    scope: int | None = None
    scope3_category: int | None = None
    unit: str | None = None
    fiscal_year: int | None = None
    status: str | None = None
    current_only: bool = False
    #: Only the caller's own (tenant-private) factors.
    tenant_only: bool = False

    def where(self, tenant_id: str) -> list:
        c = fv.c
        clauses = [column == value for column, value in (
            (c.source_id, self.source_id), (c.edition, self.edition), (c.category, self.category),
            (c.scope, self.scope), (c.scope3_category, self.scope3_category),
            (c.status, self.status)) if value is not None]
        # every term must occur (AND) in the NFKC-normalised, case-folded code/names/source titles
        clauses += [c.search_text.like(f"%{_like_escape(term)}%", escape="\\") for term in search_terms(self.q)]
        if self.unit:
            clauses.append(or_(c.activity_unit == self.unit, c.value_unit == self.unit))
        if self.fiscal_year is not None:
            clauses += [c.valid_from_fy <= self.fiscal_year,
                        or_(c.valid_to_fy.is_(None), c.valid_to_fy >= self.fiscal_year)]
        if self.current_only:
            clauses.append(c.superseded_by.is_(None))
        if self.tenant_only:
            clauses.append(c.tenant_scope == tenant_id)
        return clauses

    def order_by(self) -> list:
        """Exact code match first, then names starting with the first word, then current versions,
        then code, then the newest edition."""
        c = fv.c
        order = []
        if terms := search_terms(self.q):
            order.append(case((func.lower(c.code) == search_key(self.q or ""), 0),
                              (c.name_key.like(f"%\n{_like_escape(terms[0])}%", escape="\\"), 1), else_=2))
        return [*order, case((c.superseded_by.is_(None), 0), else_=1), c.code,
                c.valid_from_fy.desc(), c.stream_version.desc(), c.factor_version_id]


async def search_factors(conn: AsyncConnection, tenant_id: str, flt: FactorFilter, *, limit: int,
                         offset: int) -> tuple[int, list[dict]]:
    """(total matching, one page) in :meth:`FactorFilter.order_by` order."""
    where = [_visible(fv, tenant_id), *flt.where(tenant_id)]
    total = (await conn.execute(select(func.count()).select_from(fv).where(*where))).scalar_one()
    rows = await conn.execute(select(fv).where(*where).order_by(*flt.order_by()).limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


async def get_factor(conn: AsyncConnection, tenant_id: str, factor_version_id: str) -> dict | None:
    row = (await conn.execute(select(fv).where(_visible(fv, tenant_id),
                                               fv.c.factor_version_id == factor_version_id))).first()
    return dict(row._mapping) if row else None


async def versions_of(conn: AsyncConnection, tenant_id: str, code: str) -> list[dict]:
    """Every version of ``code`` in publication order (oldest first)."""
    rows = await conn.execute(select(fv).where(_visible(fv, tenant_id), fv.c.code == code)
                              .order_by(fv.c.stream_version))
    return [dict(r._mapping) for r in rows]


async def get_own_source(conn: AsyncConnection, tenant_id: str, source_id: str) -> dict | None:
    """The tenant's own source ``source_id`` (never a platform one)."""
    s = tables.sources
    row = (await conn.execute(select(s).where(s.c.tenant_scope == tenant_id, s.c.source_id == source_id))).first()
    return dict(row._mapping) if row else None


async def list_sources(conn: AsyncConnection, tenant_id: str) -> list[dict]:
    """Platform sources then the tenant's own, each with its editions (newest first)."""
    s, e = tables.sources, tables.editions
    own_last = case((s.c.tenant_scope == PLATFORM_TENANT, 0), else_=1)
    sources = [dict(r._mapping) for r in await conn.execute(
        select(s).where(_visible(s, tenant_id)).order_by(own_last, s.c.source_id))]
    by_key = {(src["tenant_scope"], src["source_id"]): {**src, "editions": []} for src in sources}
    if by_key:
        rows = await conn.execute(select(e).where(_visible(e, tenant_id))
                                  .order_by(e.c.source_id, e.c.valid_from_fy.desc(), e.c.edition.desc()))
        for row in rows:
            if (key := (row.tenant_scope, row.source_id)) in by_key:
                by_key[key]["editions"].append(dict(row._mapping))
    return list(by_key.values())
