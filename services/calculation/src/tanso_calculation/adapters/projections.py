"""Read models of the calculation service, folded from its own event store."""

from sqlalchemy import delete, insert, select
from tanso_events.projections import Projection

from . import tables

inputs = Projection("inputs", [tables.activity_inputs, tables.factor_versions])
logic = Projection("logic", [tables.logic_versions, tables.logic_items])
trail = Projection("trail", [tables.lines, tables.audit_records])


async def _bump_version(conn, tenant_id: str, fiscal_year: int, version: int, copied_from: str | None = None):
    t = tables.logic_versions
    key = (t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year)
    await conn.execute(delete(t).where(*key))
    if copied_from is None:
        copied_from = "default"
    await conn.execute(insert(t).values(tenant_id=tenant_id, fiscal_year=fiscal_year, version=version,
                                        copied_from=copied_from))


async def _set_item(conn, tenant_id: str, fiscal_year: int, item: dict) -> None:
    t = tables.logic_items
    await conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.fiscal_year == fiscal_year,
                                       t.c.item_code == item["item_code"]))
    await conn.execute(insert(t).values(tenant_id=tenant_id, fiscal_year=fiscal_year, item_code=item["item_code"],
                                        definition=item))


@logic.on("LogicAdopted")
async def _adopted(conn, e):
    d = e.data
    t = tables.logic_items
    await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.fiscal_year == d["fiscal_year"]))
    for item in d["items"]:
        await _set_item(conn, e.tenant_id, d["fiscal_year"], item)
    await _bump_version(conn, e.tenant_id, d["fiscal_year"], e.version, d["copied_from"])


async def _current_origin(conn, tenant_id: str, fiscal_year: int) -> str:
    t = tables.logic_versions
    return (await conn.execute(select(t.c.copied_from).where(t.c.tenant_id == tenant_id,
                                                             t.c.fiscal_year == fiscal_year))).scalar() or "default"


@logic.on("LogicItemSet")
async def _item_set(conn, e):
    d = e.data
    await _set_item(conn, e.tenant_id, d["fiscal_year"], d["item"])
    await _bump_version(conn, e.tenant_id, d["fiscal_year"], e.version,
                        await _current_origin(conn, e.tenant_id, d["fiscal_year"]))


@logic.on("LogicItemRemoved")
async def _item_removed(conn, e):
    d = e.data
    t = tables.logic_items
    await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.fiscal_year == d["fiscal_year"],
                                       t.c.item_code == d["item_code"]))
    await _bump_version(conn, e.tenant_id, d["fiscal_year"], e.version,
                        await _current_origin(conn, e.tenant_id, d["fiscal_year"]))


@inputs.on("ActivityInput")
async def _activity(conn, e):
    t = tables.activity_inputs
    d = dict(e.data)
    if e.version > 1:  # the stream's first event (version 1) has no row to replace
        await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.activity_id == d["activity_id"]))
    await conn.execute(insert(t).values(**activity_row(e.tenant_id, d)))


@inputs.on("FactorInput")
async def _factor(conn, e):
    d = {k: v for k, v in e.data.items() if k != "supersedes_version_id"}
    await conn.execute(insert(tables.factor_versions).values(seq=e.position, **d))


@trail.on("LineComputed")
async def _line(conn, e):
    r = e.data["record"]
    await conn.execute(insert(tables.audit_records).values(**audit_row(e.tenant_id, r)))
    if r["line_revision"] > 1:  # a line's first record has no row to replace
        t = tables.lines
        await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.line_id == r["line_id"]))
    await conn.execute(insert(tables.lines).values(**line_row(e.tenant_id, r)))


def activity_row(tenant_id: str, data: dict) -> dict:
    """The ``activity_inputs`` row of an ``ActivityInput`` event's data."""
    return {"tenant_id": tenant_id, **data}


def audit_row(tenant_id: str, r: dict) -> dict:
    """The ``audit_records`` row of audit record ``r``."""
    return {"audit_record_id": r["audit_record_id"], "tenant_id": tenant_id, "seq": r["seq"], "line_id": r["line_id"],
            "line_revision": r["line_revision"], "supersedes": r["supersedes_audit_record_id"], "record": r,
            "prev_hash": r["prev_hash"], "hash": r["hash"]}


def line_row(tenant_id: str, r: dict) -> dict:
    """The ``emission_lines`` row of the line's audit record ``r``."""
    a, logic = r["activity"], r["logic"]
    return {
        "tenant_id": tenant_id, "line_id": r["line_id"], "activity_id": a["activity_id"],
        "activity_revision": a["revision"], "line_revision": r["line_revision"], "status": r["status"],
        "fiscal_year": a["fiscal_year"], "period": a["period"], "org_unit_id": a["org_unit_id"],
        "item_code": a["item_code"], "scope": r["scope"], "scope3_category": r.get("scope3_category"),
        "scope2_method": r.get("scope2_method"), "energy_type": logic.get("energy_type"), "method": logic["method"],
        "logic_version": logic["version"], "factor_code": logic["factor_code"],
        "factor_version_id": (r.get("factor") or {}).get("factor_version_id"), "co2e_t": r["result_t"],
        "audit_record_id": r["audit_record_id"], "message": r.get("message")}


PROJECTIONS = [inputs, logic, trail]
