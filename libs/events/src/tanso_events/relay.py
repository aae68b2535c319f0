"""Outbox relay: publishes committed outbox rows to Kafka, in order, at least once.

Rows are selected by ``published_at IS NULL`` (not by a position watermark), so a row that commits
late is never skipped. A crash between the broker's ack and the update republishes the batch;
consumers are idempotent (inbox). On start the relay can republish the rows of the last
``republish_window`` before the newest published row: a memory-only broker (Tansu) forgets
everything on restart, and this re-delivers what consumers may not have seen yet.

Tracing: each row is sent inside a PRODUCER span whose parent is the trace context stored in the
row's headers (the span that was current when the unit of work queued it); the ``traceparent``
sent to Kafka is that producer span's, so consumers continue the same trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .store import MessagingTables
from .tracing import context_from_headers, inject_traceparent, tracer

log = logging.getLogger(__name__)

#: publish(topic, key, payload, headers) -> awaitable that resolves once the broker acknowledged.
Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[Awaitable[object]]]

#: on_published(topic, event_type, count), called after the broker acknowledged a batch.
OnPublished = Callable[[str, str, int], None]


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        publish: Publish,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        republish_window: timedelta = timedelta(0),
        on_published: OnPublished | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = tables.outbox
        self.publish = publish
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.republish_window = republish_window
        self.on_published = on_published
        self.on_failure = on_failure
        self._wake = asyncio.Event()
        self.published_total = 0

    def wake(self) -> None:
        """Called after a commit that queued events: publish now instead of at the next poll."""
        self._wake.set()

    async def republish_recent(self) -> int:
        """Mark the outbox rows of the last window as unpublished again; returns how many."""
        if self.republish_window <= timedelta(0):
            return 0
        async with self.engine.begin() as conn:
            newest = (await conn.execute(select(func.max(self.outbox.c.published_at)))).scalar()
            if newest is None:
                return 0
            if newest.tzinfo is None:
                newest = newest.replace(tzinfo=UTC)
            since = newest - self.republish_window
            result = await conn.execute(
                update(self.outbox).where(self.outbox.c.published_at >= since).values(published_at=None)
            )
            return result.rowcount

    async def run_once(self) -> int:
        """Publish one batch of pending rows in position order; returns the number published.

        On PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED`` and the transaction is held
        while the broker acknowledges (row locks only). SQLite has one write lock per file, so there
        the rows are read and marked in two short transactions and nothing waits on the broker
        holding it; one relay per SQLite file is assumed.
        """
        if self.engine.dialect.name == "postgresql":
            async with self.engine.begin() as conn:
                rows = (await conn.execute(self._pending().with_for_update(skip_locked=True))).all()
                await self._send(rows)
                await self._mark(conn, rows)
        else:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(self._pending())).all()
            await self._send(rows)
            async with self.engine.begin() as conn:
                await self._mark(conn, rows)
        self.published_total += len(rows)
        if rows and self.on_published:
            counts: dict[tuple[str, str], int] = {}
            for r in rows:
                counts[(r.topic, r.type)] = counts.get((r.topic, r.type), 0) + 1
            for (topic, event_type), n in counts.items():
                self.on_published(topic, event_type, n)
        return len(rows)

    def _pending(self):
        o = self.outbox.c
        return (select(o.position, o.id, o.type, o.topic, o.aggregateid, o.payload, o.headers)
                .where(o.published_at.is_(None)).order_by(o.position).limit(self.batch_size))

    async def _send(self, rows) -> None:
        spans: list[trace.Span] = []
        try:
            acks = []
            for r in rows:
                headers = dict(r.headers)
                span = tracer().start_span(
                    f"{r.topic} publish", context=context_from_headers(headers), kind=SpanKind.PRODUCER,
                    attributes={"messaging.system": "kafka", "messaging.operation.type": "send",
                                "messaging.destination.name": r.topic, "messaging.message.id": r.id,
                                "cloudevents.event_type": r.type})
                spans.append(span)
                inject_traceparent(headers, trace.set_span_in_context(span))
                acks.append(await self.publish(r.topic, r.aggregateid.encode(), r.payload.encode(), headers))
            await asyncio.gather(*acks)
        except BaseException as exc:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            for span in spans:
                span.end()

    async def _mark(self, conn, rows) -> None:
        if rows:
            await conn.execute(update(self.outbox).where(self.outbox.c.position.in_([r.position for r in rows]))
                               .values(published_at=datetime.now(UTC)))

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set; errors are logged and retried with backoff."""
        backoff = self.poll_interval
        while not stop.is_set():
            self._wake.clear()  # before the batch, so a commit during it triggers another round
            try:
                while await self.run_once() == self.batch_size:
                    pass
                backoff = self.poll_interval
            except Exception as exc:  # broker or database down: keep the rows, try again later
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                if self.on_failure:
                    self.on_failure(exc)
                backoff = min(backoff * 2, 10.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            except TimeoutError:
                pass

    async def backlog(self) -> tuple[int, datetime | None]:
        """Number of unpublished rows and the creation time of the oldest one."""
        return await outbox_backlog(self.engine, self.outbox)


async def outbox_backlog(engine: AsyncEngine, outbox: Table) -> tuple[int, datetime | None]:
    """Unpublished rows of ``outbox`` and the creation time of the oldest, whoever relays them."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)))).one()
    return row[0], row[1]
