"""Read model and queries of machine clients (the secret hashes are written by the command handler)."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from tanso_events.projections import Projection

from . import tables

machine_client_list = Projection("machine_clients", [tables.machine_clients])

VIEW_COLUMNS = ("client_id", "name", "buyer_tenant_id", "callback_url", "status", "created_by", "created_at",
                "revoked_at")


@machine_client_list.on("MachineClientCreated")
async def _created(conn, e):
    d = e.data
    await conn.execute(insert(tables.machine_clients).values(
        client_id=d["client_id"], tenant_id=e.tenant_id, name=d["client_name"], buyer_tenant_id=d["buyer_tenant_id"],
        callback_url=d.get("callback_url"), status="active", created_by=d["created_by"], created_at=e.recorded_at))


@machine_client_list.on("MachineClientRevoked")
async def _revoked(conn, e):
    t = tables.machine_clients
    await conn.execute(update(t).where(t.c.tenant_id == e.tenant_id, t.c.client_id == e.data["client_id"])
                       .values(status="revoked", revoked_at=e.recorded_at))


async def list_clients(conn: AsyncConnection, tenant_id: str) -> list[dict]:
    t = tables.machine_clients
    rows = await conn.execute(select(*(t.c[c] for c in VIEW_COLUMNS)).where(t.c.tenant_id == tenant_id)
                              .order_by(t.c.created_at, t.c.client_id))
    return [dict(r._mapping) for r in rows]


async def get_client(conn: AsyncConnection, tenant_id: str, client_id: str) -> dict | None:
    t = tables.machine_clients
    row = (await conn.execute(select(*(t.c[c] for c in VIEW_COLUMNS)).where(
        t.c.tenant_id == tenant_id, t.c.client_id == client_id))).first()
    return dict(row._mapping) if row else None


async def login_record(conn: AsyncConnection, client_id: str) -> dict | None:
    """Everything a token needs, across tenants (the client id is all the caller tells us)."""
    m, s, ten = tables.machine_clients, tables.machine_client_secrets, tables.tenants
    row = (await conn.execute(
        select(m.c.client_id, m.c.tenant_id, m.c.buyer_tenant_id, m.c.callback_url, m.c.status, s.c.secret_hash,
               ten.c.company_name, ten.c.fiscal_year_start_month)
        .join(s, s.c.client_id == m.c.client_id)
        .join(ten, ten.c.tenant_id == m.c.tenant_id, isouter=True)
        .where(m.c.client_id == client_id))).first()
    return dict(row._mapping) if row else None
