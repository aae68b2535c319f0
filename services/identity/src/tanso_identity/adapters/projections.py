"""Read models of the identity service, folded from its own event store."""

from sqlalchemy import delete, insert, update
from tanso_events.projections import Projection

from . import tables

tenant_list = Projection("tenants", [tables.tenants])
org_unit_tree = Projection("org_units", [tables.org_units])
user_list = Projection("users", [tables.users])
revenue_list = Projection("revenues", [tables.revenues])


@tenant_list.on("TenantCreated")
async def _tenant(conn, e):
    d = e.data
    await conn.execute(insert(tables.tenants).values(
        tenant_id=d["tenant_id"], company_name=d["company_name"], industry_code=d.get("industry_code"),
        fiscal_year_start_month=d["fiscal_year_start_month"], created_at=e.recorded_at))


@org_unit_tree.on("OrgUnitCreated")
async def _org_unit(conn, e):
    d = e.data
    await conn.execute(insert(tables.org_units).values(
        tenant_id=e.tenant_id, created_at=e.recorded_at,
        **{k: d.get(k) for k in ("org_unit_id", "parent_id", "kind", "name_ja", "name_en", "prefecture",
                                 "floor_area_m2", "building_use")}))


@user_list.on("UserCreated")
async def _user(conn, e):
    d = e.data
    await conn.execute(insert(tables.users).values(
        user_id=d["user_id"], tenant_id=e.tenant_id, email=d["email"], display_name=d["display_name"],
        roles=d["roles"], status="active", created_at=e.recorded_at))


@user_list.on("UserDeactivated")
async def _deactivated(conn, e):
    t = tables.users
    await conn.execute(update(t).where(t.c.tenant_id == e.tenant_id, t.c.user_id == e.data["user_id"])
                       .values(status="deactivated", deactivated_at=e.recorded_at))


@revenue_list.on("RevenueRecorded")
async def _revenue(conn, e):
    """The value in force: a correction (a later event of the stream) replaces the row."""
    t, d = tables.revenues, e.data
    revenue_id = e.stream_id.removeprefix("revenue-")
    await conn.execute(delete(t).where(t.c.revenue_id == revenue_id))
    await conn.execute(insert(t).values(
        revenue_id=revenue_id, tenant_id=e.tenant_id, fiscal_year=d["fiscal_year"], org_unit_id=d.get("org_unit_id"),
        revenue_million_yen=d["revenue_million_yen"], revision=e.version, recorded_by=d["recorded_by"],
        recorded_at=e.recorded_at))


PROJECTIONS = [tenant_list, org_unit_tree, user_list, revenue_list]
