"""Read models of F10 (intensity denominators) and F19 (supplier analysis), folded from reporting's events.

Every row belongs to one tenant: the denominators to the tenant that entered them, revenues to the tenant
identity recorded them for, a disclosure to the
buyer it was granted to (never to the supplier or anyone else, F23).
"""

import json

from sqlalchemy import delete, insert, select, update
from tanso_events.projections import Projection

from . import tables

intensity = Projection("intensity", [tables.intensity_denominators, tables.revenues])
suppliers = Projection("suppliers", [tables.supplier_disclosures, tables.tenant_names])

_DENOMINATORS = ("revenue_million_yen", "employees", "floor_area_m2", "production_volume", "production_unit")


@intensity.on("IntensityDenominatorsSet")
async def _denominators(conn, e):
    d, t = e.data, tables.intensity_denominators
    await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.fiscal_year == d["fiscal_year"]))
    await conn.execute(insert(t).values(tenant_id=e.tenant_id, fiscal_year=d["fiscal_year"], version=e.version,
                                        set_by=d["set_by"], set_at=d["set_at"],
                                        **{k: d.get(k) for k in _DENOMINATORS}))


@intensity.on("RevenueKnown")
async def _revenue(conn, e):
    d, t = e.data, tables.revenues
    await conn.execute(delete(t).where(t.c.tenant_id == e.tenant_id, t.c.revenue_id == d["revenue_id"]))
    await conn.execute(insert(t).values(tenant_id=e.tenant_id, **{k: d.get(k) for k in (
        "revenue_id", "fiscal_year", "org_unit_id", "revenue_million_yen", "revision", "recorded_by",
        "source_event_id")}))


@suppliers.on("SupplierDisclosureReceived")
async def _disclosure(conn, e):
    d, t = e.data, tables.supplier_disclosures
    mine = (t.c.tenant_id == e.tenant_id)
    # A correction may have arrived first (disclosures are keyed by their own ids).
    newer = (await conn.execute(select(t.c.disclosure_id).where(
        mine, t.c.supersedes_disclosure_id == d["disclosure_id"]).order_by(t.c.disclosure_id))).scalar()
    await conn.execute(insert(t).values(
        tenant_id=e.tenant_id, disclosure_id=d["disclosure_id"], supplier_tenant_id=d["supplier_tenant_id"],
        fiscal_year=d["fiscal_year"], figures=json.dumps(d["figures"], sort_keys=True, ensure_ascii=False),
        supersedes_disclosure_id=d.get("supersedes_disclosure_id"), superseded_by=newer,
        signature_jws=d["signature_jws"], granted_at=d["granted_at"]))
    if d.get("supersedes_disclosure_id"):
        await conn.execute(update(t).where(mine, t.c.disclosure_id == d["supersedes_disclosure_id"])
                           .values(superseded_by=d["disclosure_id"]))


@suppliers.on("TenantKnown")
async def _tenant(conn, e):
    await conn.execute(insert(tables.tenant_names).values(tenant_id=e.data["tenant_id"],
                                                          company_name=e.data["company_name"]))
