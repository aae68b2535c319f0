"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .store import MessagingTables, present


async def claim(conn: AsyncConnection, tables: MessagingTables, consumer: str, event_id: str, type_: str) -> bool:
    """Record ``event_id`` for ``consumer``; False when it was already processed (redelivery)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(tables.inbox)
        .values(consumer=consumer, event_id=event_id, type=type_, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
    )
    result = await conn.execute(stmt)
    return result.rowcount == 1


async def claim_many(conn: AsyncConnection, tables: MessagingTables, consumer: str,
                     events: Sequence[tuple[str, str]]) -> set[str]:
    """Record the ``(event_id, type)`` pairs not yet processed by ``consumer``; returns the ids claimed now.

    A plain INSERT (no ``ON CONFLICT``): if another member of the group claims one of them at the same
    time, the insert fails and the caller's transaction rolls back rather than applying an event twice.
    """
    t = tables.inbox
    seen = await present(conn, t.c.event_id, [event_id for event_id, _ in events], t.c.consumer == consumer)
    now = datetime.now(UTC)
    claimed: set[str] = set()
    rows = []
    for event_id, type_ in events:
        if event_id not in seen and event_id not in claimed:
            claimed.add(event_id)
            rows.append({"consumer": consumer, "event_id": event_id, "type": type_, "processed_at": now})
    if rows:
        await conn.execute(insert(t), rows)
    return claimed
