"""Audit-trail queries: chain verification and figures "as of" a past moment.

Audit records are never changed; a record's ``computed_at`` says when it became the figure of its
line. The figure of a line at time T is therefore its newest record computed at or before T —
event sourcing gives every past state of the totals, not only the current one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..adapters import tables
from ..domain.formula import GENESIS_HASH, chain_hash, fmt


async def verify_chain(conn: AsyncConnection, tenant_id: str) -> dict:
    """Recompute every hash of the tenant's trail in order; name the first record that does not fit."""
    t = tables.audit_records
    prev_hash, count = GENESIS_HASH, 0
    result = await conn.stream(select(t.c.seq, t.c.record, t.c.hash).where(t.c.tenant_id == tenant_id)
                               .order_by(t.c.seq))
    async for seq, record, stored_hash in result:
        count += 1
        problem = None
        if seq != count:
            problem = f"sequence gap: expected {count}, found {seq}"
        elif record.get("prev_hash") != prev_hash:
            problem = "prev_hash does not match the previous record's hash"
        elif record.get("hash") != stored_hash or chain_hash(prev_hash, record) != stored_hash:
            problem = "the record's content does not match its hash"
        if problem:
            return {"valid": False, "records_checked": count, "first_broken_seq": seq,
                    "audit_record_id": record.get("audit_record_id"), "problem": problem}
        prev_hash = stored_hash
    return {"valid": True, "records_checked": count, "head_hash": prev_hash}


async def totals_as_of(conn: AsyncConnection, tenant_id: str, fiscal_year: int, as_of: datetime | None) -> dict:
    """Totals by scope (location-based Scope 2) from the records in force at ``as_of`` (now if None)."""
    t = tables.audit_records
    rows = (await conn.execute(select(t.c.line_id, t.c.record).where(t.c.tenant_id == tenant_id)
                               .order_by(t.c.seq))).all()
    current: dict[str, dict] = {}
    for line_id, record in rows:
        if record["activity"]["fiscal_year"] != fiscal_year:
            continue
        if as_of is not None and datetime.fromisoformat(record["computed_at"]) > as_of:
            break  # seq order is commit order within the tenant
        current[line_id] = record
    by_scope: dict[int, Decimal] = defaultdict(Decimal)
    records = []
    for line_id, record in sorted(current.items()):
        if record["status"] != "calculated" or record.get("scope2_method") == "market":
            continue
        by_scope[record["scope"]] += Decimal(record["result_t"])
        records.append({"line_id": line_id, "audit_record_id": record["audit_record_id"],
                        "scope": record["scope"], "co2e_t": record["result_t"]})
    return {"fiscal_year": fiscal_year, "as_of": as_of.isoformat() if as_of else None,
            "total_t": fmt(sum(by_scope.values(), Decimal(0))),
            "by_scope": {str(s): fmt(v) for s, v in sorted(by_scope.items())}, "records": records}
