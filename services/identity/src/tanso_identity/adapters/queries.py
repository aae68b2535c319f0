"""Read-side queries on the projection tables; every one is filtered by tenant except sign-in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables


async def get_tenant(conn: AsyncConnection, tenant_id: str) -> dict | None:
    row = (await conn.execute(select(tables.tenants).where(tables.tenants.c.tenant_id == tenant_id))).first()
    return dict(row._mapping) if row else None


async def list_org_units(conn: AsyncConnection, tenant_id: str) -> list[dict]:
    t = tables.org_units
    rows = await conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.created_at, t.c.org_unit_id))
    return [dict(r._mapping) for r in rows]


async def get_org_unit(conn: AsyncConnection, tenant_id: str, org_unit_id: str) -> dict | None:
    t = tables.org_units
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.org_unit_id == org_unit_id))).first()
    return dict(row._mapping) if row else None


async def list_revenues(conn: AsyncConnection, tenant_id: str, fiscal_year: int | None = None) -> list[dict]:
    """The revenues in force, the company's first (``org_unit_id`` None), then per org unit."""
    t = tables.revenues
    query = select(t).where(t.c.tenant_id == tenant_id)
    if fiscal_year is not None:
        query = query.where(t.c.fiscal_year == fiscal_year)
    rows = await conn.execute(query.order_by(t.c.fiscal_year, t.c.org_unit_id.is_not(None), t.c.org_unit_id))
    return [dict(r._mapping) for r in rows]


async def get_revenue(conn: AsyncConnection, tenant_id: str, revenue_id: str) -> dict | None:
    t = tables.revenues
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.revenue_id == revenue_id))).first()
    return dict(row._mapping) if row else None


async def list_users(conn: AsyncConnection, tenant_id: str) -> list[dict]:
    t = tables.users
    rows = await conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.created_at, t.c.email))
    return [dict(r._mapping) for r in rows]


async def get_user(conn: AsyncConnection, tenant_id: str, user_id: str) -> dict | None:
    t = tables.users
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.user_id == user_id))).first()
    return dict(row._mapping) if row else None


async def email_taken(conn: AsyncConnection, email: str) -> bool:
    row = (await conn.execute(select(tables.users.c.user_id).where(tables.users.c.email == email))).first()
    return row is not None


async def login_record(conn: AsyncConnection, email: str) -> dict | None:
    """User and password hash for a (normalised) email, across tenants: sign-in knows no tenant yet."""
    u, c = tables.users, tables.credentials
    row = (await conn.execute(
        select(u.c.user_id, u.c.tenant_id, u.c.roles, u.c.status, c.c.password_hash)
        .join(c, c.c.user_id == u.c.user_id).where(u.c.email == email))).first()
    return dict(row._mapping) if row else None
