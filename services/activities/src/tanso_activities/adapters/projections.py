"""Read models of the activities service, folded from its own event store."""

from datetime import datetime

from sqlalchemy import delete, insert, update
from tanso_events.projections import Projection

from . import tables

reference = Projection("reference", [tables.tenants, tables.org_units])
activity_list = Projection("activities", [tables.activities])
csv_imports = Projection("csv_imports", [tables.csv_imports])


@reference.on("TenantKnown")
async def _tenant(conn, e):
    await conn.execute(insert(tables.tenants).values(
        tenant_id=e.tenant_id, fiscal_year_start_month=e.data["fiscal_year_start_month"]))


@reference.on("OrgUnitKnown")
async def _org_unit(conn, e):
    d = e.data
    await conn.execute(insert(tables.org_units).values(
        tenant_id=e.tenant_id, org_unit_id=d["org_unit_id"], kind=d["kind"], name_ja=d["name_ja"],
        name_en=d.get("name_en")))


def _facts(d: dict) -> dict:
    return {k: d.get(k) for k in ("org_unit_id", "item_code", "period", "fiscal_year", "amount", "unit", "note")}


@activity_list.on("ActivityRecorded")
async def _recorded(conn, e):
    await conn.execute(insert(tables.activities).values(
        tenant_id=e.tenant_id, activity_id=e.data["activity_id"], revision=e.version, status="active",
        updated_by=e.meta.get("actor"), **_facts(e.data)))


@activity_list.on("ActivityCorrected")
async def _corrected(conn, e):
    t = tables.activities
    await conn.execute(update(t).where(t.c.tenant_id == e.tenant_id, t.c.activity_id == e.data["activity_id"])
                       .values(revision=e.version, updated_by=e.meta.get("actor"), **_facts(e.data)))


@activity_list.on("ActivityVoided")
async def _voided(conn, e):
    t = tables.activities
    await conn.execute(update(t).where(t.c.tenant_id == e.tenant_id, t.c.activity_id == e.data["activity_id"])
                       .values(revision=e.version, status="voided", updated_by=e.meta.get("actor")))


@csv_imports.on("ActivitiesImported")
async def _imported(conn, e):
    d = e.data
    await conn.execute(insert(tables.csv_imports).values(
        tenant_id=e.tenant_id, import_id=d["import_id"], file_sha256=d["file_sha256"], filename=d.get("filename"),
        encoding=d["encoding"], row_count=d["row_count"], skipped_rows=d["skipped_rows"],
        fiscal_years=",".join(str(y) for y in d["fiscal_years"]), imported_by=d["imported_by"],
        imported_at=datetime.fromisoformat(d["imported_at"])))


logic = Projection("logic", [tables.logic_items])


@logic.on("LogicKnown")
async def _logic(conn, e):
    t = tables.logic_items
    fy = e.data["fiscal_year"]
    await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.fiscal_year == fy))
    for item in e.data["items"]:
        await conn.execute(insert(t).values(tenant_id=e.tenant_id, fiscal_year=fy, **item))


PROJECTIONS = [logic, reference, activity_list, csv_imports]
