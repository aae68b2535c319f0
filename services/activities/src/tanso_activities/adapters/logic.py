"""Which activity items a tenant may enter in a fiscal year: its own logic, else the built-in items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from tanso_ghg.items import DEFAULT_ITEMS, ActivityItem

from . import tables


def _item(row) -> ActivityItem:
    return ActivityItem(row.item_code, row.name_ja, row.name_en, row.unit, row.scope, "", "", row.scope3_category)


async def items_by_year(conn: AsyncConnection, tenant_id: str) -> dict[int, list[ActivityItem]]:
    """The tenant's own items per fiscal year that has its own logic."""
    t = tables.logic_items
    years: dict[int, list[ActivityItem]] = {}
    for row in await conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.item_code)):
        years.setdefault(row.fiscal_year, []).append(_item(row))
    return years


async def items_for_year(conn: AsyncConnection, tenant_id: str, fiscal_year: int) -> list[ActivityItem]:
    t = tables.logic_items
    rows = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year)
                               .order_by(t.c.item_code))).all()
    return [_item(r) for r in rows] if rows else list(DEFAULT_ITEMS)
