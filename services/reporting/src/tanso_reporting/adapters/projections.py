"""Analysis read models, folded from the reporting event store."""

from decimal import Decimal

from sqlalchemy import delete, insert, select, update
from tanso_events.projections import Projection

from . import tables

analysis = Projection("analysis", [tables.report_lines, tables.report_totals])


async def _add_to_total(conn, tenant_id: str, line: dict, sign: int) -> None:
    await add_to_total(conn, tenant_id, line, Decimal(line["co2e_t"]) * sign, sign)


async def add_to_total(conn, tenant_id: str, line: dict, amount: Decimal, lines: int) -> None:
    """Add ``amount`` t-CO2e and ``lines`` lines to the total that ``line`` counts in."""
    t = tables.report_totals
    fiscal_year, scope, org_unit_id, item_code, basis = total_key(line)
    key = (t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year, t.c.scope == scope,
           t.c.org_unit_id == org_unit_id, t.c.item_code == item_code, t.c.basis == basis)
    # FOR UPDATE (PostgreSQL): two reporting processes adding to one total must not both read the old value
    row = (await conn.execute(select(t.c.co2e_t, t.c.lines).where(*key).with_for_update())).first()
    if row is None:
        await conn.execute(insert(t).values(tenant_id=tenant_id, fiscal_year=fiscal_year, scope=scope,
                                            org_unit_id=org_unit_id, item_code=item_code, basis=basis,
                                            co2e_t=amount, lines=lines))
    else:
        await conn.execute(update(t).where(*key).values(co2e_t=row[0] + amount, lines=row[1] + lines))


def total_key(line: dict) -> tuple:
    """The fields of ``line`` that name its total (see ``report_totals``)."""
    return (line["fiscal_year"], line["scope"], line["org_unit_id"], line["item_code"], line.get("scope2_method") or "")


def line_row(tenant_id: str, data: dict) -> dict:
    """The ``report_lines`` row of a ``LineReported`` event's data."""
    return {"tenant_id": tenant_id, **{k: v for k, v in data.items() if k != "source_event_id"}}


@analysis.on("LineReported")
async def _line(conn, e):
    d = e.data
    t = tables.report_lines
    old = None if e.version == 1 else (await conn.execute(  # a stream's first event replaces no row
        select(t).where(t.c.tenant_id == e.tenant_id, t.c.line_id == d["line_id"]))).mappings().first()
    if old is not None:
        if old["status"] == "calculated":
            await _add_to_total(conn, e.tenant_id, dict(old), -1)
        await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.line_id == d["line_id"]))
    await conn.execute(insert(t).values(**line_row(e.tenant_id, d)))
    if d["status"] == "calculated":
        await _add_to_total(conn, e.tenant_id, d, +1)


organisation = Projection("organisation", [tables.org_units])


@organisation.on("OrgUnitKnown")
async def _org_unit(conn, e):
    await conn.execute(insert(tables.org_units).values(tenant_id=e.tenant_id, **e.data))


from .supplier_projections import intensity, suppliers

PROJECTIONS = [analysis, organisation, intensity, suppliers]
