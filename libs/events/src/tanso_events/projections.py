"""Projections: read models folded from the event store, rebuildable by replay.

A projection names the tables it owns and one handler per domain-event type. The unit of work
runs the handlers in the same transaction as the append, so a read model is never behind its
own service's events. ``rebuild`` empties the tables and replays every event in position order;
``checksum`` proves a rebuild byte-identical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .store import EventStore, StoredEvent, canonical_json

ProjectionHandler = Callable[[AsyncConnection, StoredEvent], Awaitable[None]]


@dataclass
class Projection:
    name: str
    tables: list[Table]
    handlers: dict[str, ProjectionHandler] = field(default_factory=dict)

    def on(self, event_type: str) -> Callable[[ProjectionHandler], ProjectionHandler]:
        """Decorator registering the handler of one domain-event type."""

        def register(fn: ProjectionHandler) -> ProjectionHandler:
            self.handlers[event_type] = fn
            return fn

        return register


async def apply(conn: AsyncConnection, projections: Iterable[Projection], event: StoredEvent) -> None:
    for projection in projections:
        handler = projection.handlers.get(event.type)
        if handler is not None:
            await handler(conn, event)


async def rebuild(
    engine: AsyncEngine,
    store: EventStore,
    projections: list[Projection],
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Empty the projections' tables and replay the whole event store into them. Returns events read."""
    count = 0
    async with engine.begin() as conn:
        for projection in projections:
            for table in reversed(projection.tables):
                await conn.execute(delete(table))
        position = 0
        while True:
            batch = await store.read_all(conn, after_position=position, limit=batch_size)
            if not batch:
                break
            for event in batch:
                await apply(conn, projections, event)
            position = batch[-1].position
            count += len(batch)
            if progress:
                progress(count)
    return count


async def checksum(conn: AsyncConnection, tables: Iterable[Table]) -> str:
    """SHA-256 over every row of ``tables`` in primary-key order (columns in declared order)."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(table.name.encode())
        order = list(table.primary_key.columns) or list(table.columns)
        result = await conn.execute(select(table).order_by(*order))
        for row in result:
            digest.update(canonical_json(list(row)).encode())
    return digest.hexdigest()
