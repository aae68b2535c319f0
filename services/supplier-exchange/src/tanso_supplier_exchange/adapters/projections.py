"""Read models folded from the supplier-exchange event store."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update
from tanso_events.projections import Projection

from . import tables

exchange = Projection("exchange", tables.READ_MODELS)
#: Owns no table to empty: a rebuild replays into ``disclosures`` and only checks existing rows.
ledger = Projection("disclosures", [])


@exchange.on("InvitationIssued")
async def _issued(conn, e):
    d = e.data
    await conn.execute(insert(tables.invitations).values(
        code=d["code"], buyer_tenant_id=d["buyer_tenant_id"], supplier_tenant_id=d["supplier_tenant_id"],
        state="pending", issued_at=d["issued_at"]))


@exchange.on("InvitationAccepted")
async def _accepted(conn, e):
    d = e.data
    t = tables.invitations
    await conn.execute(update(t).where(t.c.code == d["code"]).values(
        state="accepted", accepted_by_tenant_id=d["supplier_tenant_id"], accepted_at=d["accepted_at"]))
    r = tables.relationships
    exists = (await conn.execute(select(r.c.since).where(r.c.buyer_tenant_id == d["buyer_tenant_id"],
                                                         r.c.supplier_tenant_id == d["supplier_tenant_id"]))).first()
    if exists is None:
        await conn.execute(insert(r).values(buyer_tenant_id=d["buyer_tenant_id"],
                                            supplier_tenant_id=d["supplier_tenant_id"],
                                            invitation_code=d["code"], since=d["accepted_at"]))


@exchange.on("DisclosureRequested")
async def _requested(conn, e):
    d = e.data
    await conn.execute(insert(tables.requests).values(
        request_id=d["request_id"], buyer_tenant_id=d["buyer_tenant_id"], supplier_tenant_id=d["supplier_tenant_id"],
        what=d["what"], fiscal_year=d["fiscal_year"], deadline=date.fromisoformat(d["deadline"]),
        message=d["message"], state="requested", requested_at=d["requested_at"]))


@exchange.on("RequestViewed")
async def _viewed(conn, e):
    t = tables.requests
    await conn.execute(update(t).where(t.c.request_id == e.data["request_id"]).values(
        state="viewed", viewed_at=e.data["viewed_at"]))


@exchange.on("RequestGranted")
async def _granted(conn, e):
    t = tables.requests
    await conn.execute(update(t).where(t.c.request_id == e.data["request_id"]).values(
        state="granted", answered_at=e.data["granted_at"], disclosure_id=e.data["disclosure_id"]))


@exchange.on("RequestDeclined")
async def _declined(conn, e):
    t = tables.requests
    await conn.execute(update(t).where(t.c.request_id == e.data["request_id"]).values(
        state="declined", answered_at=e.data["declined_at"], decline_reason=e.data["reason"]))


@ledger.on("DisclosureIssued")
async def _disclosure(conn, e):
    d, p = e.data, e.data["payload"]
    t = tables.disclosures
    existing = (await conn.execute(select(t.c.signature_jws).where(t.c.disclosure_id == d["disclosure_id"]))).first()
    if existing is not None:
        if existing[0] != d["signature_jws"]:
            raise RuntimeError(f"disclosure {d['disclosure_id']} in the ledger differs from its event")
        return
    await conn.execute(insert(t).values(
        disclosure_id=d["disclosure_id"], request_id=p["request_id"], supplier_tenant_id=p["supplier_tenant_id"],
        buyer_tenant_id=p["buyer_tenant_id"], fiscal_year=p["fiscal_year"], granted_at=p["granted_at"],
        granted_by=d["granted_by"], supersedes_disclosure_id=p["supersedes_disclosure_id"], payload=p,
        signature_jws=d["signature_jws"], kid=d["kid"]))


PROJECTIONS = [exchange, ledger]
