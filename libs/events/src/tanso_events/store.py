"""Event store, outbox, inbox and dead-letter tables, added to each service's own MetaData.

The event store's unique ``(stream_id, version)`` *is* optimistic concurrency: two writers that
loaded the same version cannot both append. ``position`` orders all events of the service for
replay. Outbox columns follow Debezium's outbox router so a CDC connector could replace the relay.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

#: INTEGER PRIMARY KEY on SQLite (rowid alias), BIGINT identity elsewhere.
Position = BigInteger().with_variant(Integer(), "sqlite")


class ConcurrencyError(Exception):
    """Another writer appended to the stream first; reload the aggregate and retry."""


@dataclass(frozen=True)
class MessagingTables:
    events: Table
    outbox: Table
    inbox: Table
    dead_letters: Table


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Define the standard messaging tables on a service's MetaData."""
    events = Table(
        "event_store",
        metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("stream_id", String(200), nullable=False),
        Column("version", Integer, nullable=False),
        Column("type", String(200), nullable=False),
        Column("data", JSON, nullable=False),
        Column("meta", JSON, nullable=False),
        Column("tenant_id", String(64), nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("stream_id", "version", name="uq_event_store_stream_version"),
    )
    outbox = Table(
        "outbox",
        metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("aggregatetype", String(100), nullable=False),
        Column("aggregateid", String(200), nullable=False),
        Column("type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("kafka_partition", Integer, nullable=True),
        Column("kafka_offset", BigInteger, nullable=True),
        Column("event_id", String(200), nullable=True),
        Column("payload", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
    )
    return MessagingTables(events, outbox, inbox, dead_letters)


@dataclass(frozen=True)
class NewEvent:
    """A domain event to append: its type name and JSON-ready data."""

    event_id: str
    type: str
    data: dict[str, Any]
    meta: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    position: int
    event_id: str
    stream_id: str
    version: int
    type: str
    data: dict[str, Any]
    meta: dict[str, Any]
    tenant_id: str
    recorded_at: datetime


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        position=row.position,
        event_id=row.event_id,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        data=row.data,
        meta=row.meta,
        tenant_id=row.tenant_id,
        recorded_at=row.recorded_at,
    )


class EventStore:
    """Append-only streams of domain events in a service's own database."""

    def __init__(self, tables: MessagingTables) -> None:
        self.table = tables.events

    async def append(
        self,
        conn: AsyncConnection,
        *,
        stream_id: str,
        expected_version: int,
        tenant_id: str,
        events: list[NewEvent],
        recorded_at: datetime,
    ) -> list[StoredEvent]:
        """Append ``events`` after ``expected_version`` (0 for a new stream).

        Raises :class:`ConcurrencyError` when the stream moved on since it was loaded. The caller's
        transaction must then be rolled back (PostgreSQL aborts it on the unique violation).
        """
        rows = [
            {
                "event_id": e.event_id,
                "stream_id": stream_id,
                "version": expected_version + i,
                "type": e.type,
                "data": e.data,
                "meta": e.meta,
                "tenant_id": tenant_id,
                "recorded_at": recorded_at,
            }
            for i, e in enumerate(events, start=1)
        ]
        stored: list[StoredEvent] = []
        try:
            for row in rows:
                result = await conn.execute(insert(self.table).values(**row).returning(self.table.c.position))
                stored.append(StoredEvent(position=result.scalar_one(), **row))
        except IntegrityError as exc:
            raise ConcurrencyError(
                f"stream {stream_id!r} is past version {expected_version}; reload and retry"
            ) from exc
        return stored

    async def load(self, conn: AsyncConnection, stream_id: str) -> list[StoredEvent]:
        result = await conn.execute(
            select(self.table).where(self.table.c.stream_id == stream_id).order_by(self.table.c.version)
        )
        return [_stored(r) for r in result]

    async def read_all(
        self, conn: AsyncConnection, *, after_position: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of every stream in commit order, for replaying projections."""
        result = await conn.execute(
            select(self.table)
            .where(self.table.c.position > after_position)
            .order_by(self.table.c.position)
            .limit(limit)
        )
        return [_stored(r) for r in result]


#: Values per ``IN (…)`` list: under SQLite's default limit of bound parameters.
IN_CHUNK = 500


async def present(conn: AsyncConnection, column: Any, values: Sequence[Any], *where: Any) -> set[Any]:
    """Which of ``values`` occur in ``column`` (in rows matching ``where``); chunked ``IN`` lists."""
    found: set[Any] = set()
    for start in range(0, len(values), IN_CHUNK):
        found.update((await conn.execute(select(column).where(
            column.in_(values[start:start + IN_CHUNK]), *where).distinct())).scalars())
    return found


def canonical_json(value: Any) -> str:
    """Stable JSON text: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
