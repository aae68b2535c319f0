"""Idempotent consumption: an event id is recorded in the same transaction as its effect."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .store import MessagingTables


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
