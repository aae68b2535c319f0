"""The CSV template of a fiscal year: one pre-filled row per site × item × month, amount left blank.

CSV has one sheet, so there is no separate list of sites and items: each row carries the site's
name and the item's name beside their ids (reference columns, ignored on import) and the item's
unit. Users fill the amount of the rows they have and may leave the rest blank (skipped on import)
or delete them. The items are the fiscal year's calculation logic (today ``DEFAULT_ITEMS`` for
every year); the sites are the tenant's sites and lines (every org unit when it has none).
UTF-8 with BOM by default (Excel detects it); ``cp932`` for older Excel, where characters CP932
cannot hold (only possible in names) become ``?``. Cells that could run as formulas get a ``'``.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from tanso_ghg.fiscal import fiscal_year_months, fiscal_year_of

from ..adapters import tables
from ..adapters.logic import items_for_year
from ..domain.csv_format import COLUMNS, escape_cell
from .csv_import import reference_facts

_KIND_ORDER = {"site": 0, "line": 1, "division": 2, "company": 3}


async def template_csv(conn: AsyncConnection, tenant_id: str, fiscal_year: int | None,
                       encoding: str = "utf-8") -> tuple[bytes, int]:
    """The template's bytes and its fiscal year."""
    start_month, _ = await reference_facts(conn, tenant_id)
    fy = fiscal_year or fiscal_year_of(date.today(), start_month)
    t = tables.org_units
    units = (await conn.execute(select(t.c.org_unit_id, t.c.kind, t.c.name_ja)
                                .where(t.c.tenant_id == tenant_id))).all()
    units = sorted(units, key=lambda u: (_KIND_ORDER.get(u.kind, 9), u.name_ja, u.org_unit_id))
    if any(u.kind in ("site", "line") for u in units):
        units = [u for u in units if u.kind in ("site", "line")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    months = fiscal_year_months(fy, start_month)
    items = await items_for_year(conn, tenant_id, fy)
    for unit in units:
        for item in items:
            for month in months:
                writer.writerow([escape_cell(v) for v in (
                    unit.org_unit_id, unit.name_ja, item.code, item.name_ja, month, "", item.unit, "")])
    text = out.getvalue()
    if encoding == "cp932":
        return text.encode("cp932", errors="replace"), fy
    return ("\ufeff" + text).encode("utf-8"), fy
