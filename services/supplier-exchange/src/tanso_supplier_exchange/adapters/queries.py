"""Read queries; every one is filtered by the caller's tenant on the buyer or the supplier side."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import status
from . import pact_mapping, tables

STATUSES = ("requested", "viewed", "overdue", "granted", "declined")


def _request_out(row, disclosure_ids: list[str]) -> dict:
    out = dict(row)
    out["deadline"] = row["deadline"].isoformat()
    out["status"] = status(row["state"], row["deadline"])
    out["overdue"] = out["status"] == "overdue"
    out["disclosure_ids"] = disclosure_ids
    return out


async def _disclosure_ids(conn: AsyncConnection, request_ids: list[str]) -> dict[str, list[str]]:
    d = tables.disclosures
    out: dict[str, list[str]] = {}
    if request_ids:
        rows = await conn.execute(select(d.c.request_id, d.c.disclosure_id).where(
            d.c.request_id.in_(request_ids)).order_by(d.c.granted_at))
        for request_id, disclosure_id in rows:
            out.setdefault(request_id, []).append(disclosure_id)
    return out


async def list_requests(conn: AsyncConnection, tenant_id: str, role: str | None) -> list[dict]:
    t = tables.requests
    side = {"buyer": t.c.buyer_tenant_id == tenant_id, "supplier": t.c.supplier_tenant_id == tenant_id,
            None: or_(t.c.buyer_tenant_id == tenant_id, t.c.supplier_tenant_id == tenant_id)}[role]
    rows = (await conn.execute(select(t).where(side).order_by(t.c.requested_at, t.c.request_id))).mappings().all()
    ids = await _disclosure_ids(conn, [r["request_id"] for r in rows])
    return [_request_out(r, ids.get(r["request_id"], [])) for r in rows]


async def get_request(conn: AsyncConnection, tenant_id: str, request_id: str) -> dict | None:
    t = tables.requests
    row = (await conn.execute(select(t).where(t.c.request_id == request_id, or_(
        t.c.buyer_tenant_id == tenant_id, t.c.supplier_tenant_id == tenant_id)))).mappings().first()
    if row is None:
        return None
    return _request_out(row, (await _disclosure_ids(conn, [request_id])).get(request_id, []))


async def progress(conn: AsyncConnection, buyer_tenant_id: str) -> list[dict]:
    """Per supplier of the buyer: number of requests by status (overdue counted instead of requested/viewed)."""
    r = tables.relationships
    suppliers = (await conn.execute(select(r.c.supplier_tenant_id, r.c.since).where(
        r.c.buyer_tenant_id == buyer_tenant_id).order_by(r.c.supplier_tenant_id))).all()
    out = {s: {"supplier_tenant_id": s, "since": since, "total": 0, "counts": dict.fromkeys(STATUSES, 0)}
           for s, since in suppliers}
    for req in await list_requests(conn, buyer_tenant_id, "buyer"):
        entry = out.setdefault(req["supplier_tenant_id"], {"supplier_tenant_id": req["supplier_tenant_id"],
                                                           "since": None, "total": 0,
                                                           "counts": dict.fromkeys(STATUSES, 0)})
        entry["counts"][req["status"]] += 1
        entry["total"] += 1
    return list(out.values())


def _disclosure_out(row, superseded_by: str | None) -> dict:
    return {**row["payload"], "signature_jws": row["signature_jws"], "kid": row["kid"],
            "superseded_by": superseded_by, "pact_readiness": pact_mapping.readiness(row["payload"])}


async def get_disclosure(conn: AsyncConnection, tenant_id: str, disclosure_id: str) -> dict | None:
    d = tables.disclosures
    row = (await conn.execute(select(d).where(d.c.disclosure_id == disclosure_id, or_(
        d.c.buyer_tenant_id == tenant_id, d.c.supplier_tenant_id == tenant_id)))).mappings().first()
    if row is None:
        return None
    newer = (await conn.execute(select(d.c.disclosure_id).where(
        d.c.supersedes_disclosure_id == disclosure_id))).scalar()
    return _disclosure_out(row, newer)


async def list_disclosures(conn: AsyncConnection, tenant_id: str, role: str | None) -> list[dict]:
    d = tables.disclosures
    side = {"buyer": d.c.buyer_tenant_id == tenant_id, "supplier": d.c.supplier_tenant_id == tenant_id,
            None: or_(d.c.buyer_tenant_id == tenant_id, d.c.supplier_tenant_id == tenant_id)}[role]
    rows = (await conn.execute(select(d).where(side).order_by(d.c.granted_at, d.c.disclosure_id))).mappings().all()
    superseded = {r["supersedes_disclosure_id"]: r["disclosure_id"] for r in rows if r["supersedes_disclosure_id"]}
    return [_disclosure_out(r, superseded.get(r["disclosure_id"])) for r in rows]


async def list_invitations(conn: AsyncConnection, tenant_id: str, role: str) -> list[dict]:
    t = tables.invitations
    if role == "buyer":
        where = t.c.buyer_tenant_id == tenant_id
    else:  # addressed to this tenant, or accepted by it
        where = or_(t.c.supplier_tenant_id == tenant_id, t.c.accepted_by_tenant_id == tenant_id)
    rows = (await conn.execute(select(t).where(where).order_by(t.c.issued_at))).mappings().all()
    # The supplier side never sees a code that was not addressed to it; the buyer sees its own codes.
    return [dict(r) for r in rows]
