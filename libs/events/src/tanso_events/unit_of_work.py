"""One database transaction in which a service changes state.

Inside it a handler appends domain events (projections follow in the same transaction) and
queues integration events in the outbox. Nothing reaches Kafka until the transaction commits;
the relay publishes afterwards (no dual writes). Outbox rows and event metadata carry the
``traceparent`` of the span that is current when they are written (the request's server span, or
the consumer span of the event being handled).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .catalog import topic_for
from .envelope import IntegrationEvent, new_envelope
from .projections import Projection, apply
from .store import EventStore, MessagingTables, NewEvent, StoredEvent
from .tracing import current_traceparent

log = logging.getLogger(__name__)


class DomainEvent(BaseModel):
    """Base of a service's internal events (stored, projected; not the public contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str] = ""

    @classmethod
    def type_name(cls) -> str:
        return cls.name or cls.__name__


class UnitOfWork:
    """Async context manager around one transaction of one service database."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        projections: Sequence[Projection],
        *,
        on_commit: Callable[[], None] | None = None,
        causation_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.store = EventStore(tables)
        self.projections = projections
        self._on_commit = on_commit
        self.causation_id = causation_id
        self.now = datetime.now(UTC)
        self._published = 0
        self._after_commit: list[Callable[[], None]] = []
        self._joined: AsyncConnection | None = None
        #: Values a handler may reuse within this transaction (e.g. a chain head it just moved).
        self.cache: dict = {}
        self.conn: AsyncConnection

    def join(self, conn: AsyncConnection) -> Self:
        """Work inside ``conn``'s open transaction instead of starting one.

        The owner of that transaction commits it and then calls :meth:`committed` (the event
        consumer handles a batch of events in one transaction this way).
        """
        self._joined = conn
        return self

    async def __aenter__(self) -> Self:
        if self._joined is not None:
            self.conn = self._joined
            return self
        self._ctx = self.engine.begin()
        self.conn = await self._ctx.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._joined is not None:
            return
        await self._ctx.__aexit__(*exc)
        if exc[0] is None:
            self.committed()

    def committed(self) -> None:
        """Run what waits for the commit: wake the relay, the after-commit callbacks."""
        if self._published and self._on_commit:
            self._on_commit()
        for callback in self._after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback %r failed", callback)

    def wrote_outbox_rows(self, count: int) -> None:
        """Count outbox rows written in bulk on this connection, so the relay is woken after the commit."""
        self._published += count

    @contextlib.contextmanager
    def caused_by(self, event_id: str) -> Iterator[Self]:
        """Stamp what is appended inside the block with ``event_id`` as its cause: a batch handler
        handing one event of its run to a per-event handler, in the run's unit of work."""
        outer, self.causation_id = self.causation_id, event_id
        try:
            yield self
        finally:
            self.causation_id = outer

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (not at all if it rolls back).

        For effects outside the database that must not count a rolled-back attempt, such as
        metrics (``tanso_runtime.metrics``).
        """
        self._after_commit.append(callback)

    async def load(self, stream_id: str) -> list[StoredEvent]:
        return await self.store.load(self.conn, stream_id)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        tenant_id: str,
        events: Sequence[DomainEvent],
        *,
        actor: str | None = None,
    ) -> list[StoredEvent]:
        """Append domain events and run the projections on them, in this transaction."""
        meta = self._event_meta(self.causation_id, actor)
        new = [
            NewEvent(str(uuid.uuid4()), e.type_name(), e.model_dump(mode="json"), meta) for e in events
        ]
        stored = await self.store.append(
            self.conn,
            stream_id=stream_id,
            expected_version=expected_version,
            tenant_id=tenant_id,
            events=new,
            recorded_at=self.now,
        )
        for event in stored:
            await apply(self.conn, self.projections, event)
        return stored

    async def publish(
        self,
        event: IntegrationEvent,
        *,
        subject: str,
        tenant_id: str,
        aggregate_type: str,
        topic: str | None = None,
        event_id: str | None = None,
    ) -> str:
        """Queue an integration event in the outbox; returns its event id."""
        row = self.outbox_row(event, subject=subject, tenant_id=tenant_id, aggregate_type=aggregate_type,
                              topic=topic, event_id=event_id)
        await self.conn.execute(insert(self.tables.outbox).values(**row))
        self._published += 1
        return row["id"]

    # Rows for handlers that write many events at once (``tanso_runtime.bulk``); then call
    # ``wrote_outbox_rows`` so the relay is woken after the commit.

    def event_row(self, stream_id: str, version: int, tenant_id: str, event: DomainEvent, *,
                  causation_id: str | None = None, actor: str | None = None) -> dict[str, Any]:
        """The event-store row :meth:`append` would write for ``event`` at ``version`` (``position``
        is the database's: rows inserted in list order keep their order)."""
        return {"event_id": str(uuid.uuid4()), "stream_id": stream_id, "version": version, "type": event.type_name(),
                "data": event.model_dump(mode="json"), "meta": self._event_meta(causation_id, actor),
                "tenant_id": tenant_id, "recorded_at": self.now}

    def outbox_row(self, event: IntegrationEvent, *, subject: str, tenant_id: str, aggregate_type: str,
                   topic: str | None = None, event_id: str | None = None) -> dict[str, Any]:
        """The outbox row :meth:`publish` writes for ``event``."""
        envelope = new_envelope(event, subject=subject, tenant_id=tenant_id, event_id=event_id, time=self.now)
        headers = {"content-type": "application/cloudevents+json"}
        if tp := current_traceparent():
            headers["traceparent"] = tp
        return {"id": envelope.id, "aggregatetype": aggregate_type, "aggregateid": subject, "type": envelope.type,
                "topic": topic or topic_for(event.producer, event.version), "payload": envelope.model_dump_json(),
                "headers": headers, "created_at": self.now, "published_at": None}

    @staticmethod
    def _event_meta(causation_id: str | None, actor: str | None) -> dict[str, Any]:
        return {"traceparent": current_traceparent(), "causation_id": causation_id, "actor": actor}
