"""Kafka wiring with FastStream: topics, the broker, and at-least-once event consumers.

A consumer commits an offset only after its handler's transaction committed
(``AckPolicy.NACK_ON_ERROR``: success → commit, exception → seek back and redeliver). The event id
is claimed in the inbox in that same transaction, so a redelivery changes nothing. An event that can
never be processed (undecodable, failing its schema, or rejected by the domain as
:class:`PoisonEvent`) is parked in the ``dead_letters`` table and skipped, so one bad event cannot
stop a partition.

Tracing: every event a consumer handles is processed inside a CONSUMER span whose parent is the
``traceparent`` of the Kafka record (the relay's producer span), so the handler's database work and
the outbox rows it queues belong to the trace of the request that caused the event. Each record's
fate (applied, duplicate, parked, failed, ignored) and duration go to ``EventConsumer.observe``.

Batches: the records of one fetch are applied in one transaction. A run of consecutive records of a
type with a *batch handler* (e.g. the activities of a CSV import arriving at calculation) is claimed
in the inbox in bulk and applied by one call, which writes its rows set-based; its one CONSUMER span
links to every record's producer span.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .envelope import Envelope, EnvelopeMeta, IntegrationEvent
from .inbox import claim, claim_many
from .store import ConcurrencyError, MessagingTables
from .tracing import context_from_headers, tracer
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EventHandler = Callable[[Any, EnvelopeMeta, UnitOfWork], Awaitable[None]]
#: Applies many events of one type at once, in order, in one unit of work (set-based writes).
BatchHandler = Callable[[list[tuple[Any, EnvelopeMeta]], UnitOfWork], Awaitable[None]]


class PoisonEvent(Exception):
    """Raised by a handler for an event that no retry can ever make valid."""


#: What became of a record: ``applied`` (handler committed), ``duplicate`` (already in the inbox),
#: ``parked`` (dead letter), ``failed`` (exception: redelivered), ``ignored`` (no handler here).
OUTCOMES = ("applied", "duplicate", "parked", "failed", "ignored")


@dataclass(frozen=True)
class Handled:
    """One record's fate, for metrics (``event_type`` is ``unknown`` for an undecodable record)."""

    topic: str
    event_type: str
    outcome: str
    seconds: float
    tenant_id: str | None = None


async def ensure_topics(bootstrap_servers: str, topics: Mapping[str, int], *, replication_factor: int = 1) -> None:
    """Create topics with explicit partition counts; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="tanso-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, num_partitions=n, replication_factor=replication_factor)
                   for t, n in topics.items() if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def make_broker(bootstrap_servers: str, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        linger_ms=1,
        logger=logging.getLogger("tanso.kafka"),
        log_level=logging.DEBUG,
    )


def make_publish(broker: KafkaBroker):
    """Adapter for :class:`~tanso_events.relay.OutboxRelay`: send without waiting, return the ack."""

    async def publish(topic: str, key: bytes, payload: bytes, headers: dict[str, str]):
        return await broker.publish(payload, topic=topic, key=key, headers=headers, no_confirm=True)

    return publish


def record_headers(record: Any) -> dict[str, str]:
    """A Kafka record's headers as text."""
    return {key: value.decode() for key, value in (record.headers or ())}


def _typed(model: type[IntegrationEvent], envelope: Envelope) -> IntegrationEvent:
    # Fields this consumer does not know yet are dropped, not refused: producers may add optional
    # fields (docs/events.md), and consumers may be deployed after producers.
    return model.model_validate({k: v for k, v in envelope.data.items() if k in model.model_fields})


def _meta(envelope: Envelope, headers: Mapping[str, str]) -> EnvelopeMeta:
    return EnvelopeMeta(id=envelope.id, type=envelope.type, subject=envelope.subject,
                        tenant_id=envelope.tenantid, time=envelope.time, traceparent=headers.get("traceparent"))


@dataclass
class EventConsumer:
    """Dispatches the events of the topics a service subscribes to, by CloudEvents type."""

    name: str
    engine: AsyncEngine
    tables: MessagingTables
    uow_factory: Callable[[str], UnitOfWork]
    handlers: dict[type[IntegrationEvent], EventHandler]
    #: Optional set-based handlers: a run of two or more consecutive records of such a type in one
    #: fetch is claimed and applied with one call; must leave the same state as ``handlers`` would.
    batch_handlers: dict[type[IntegrationEvent], BatchHandler] = field(default_factory=dict)
    retry_delay: float = 0.5
    fetch_max_wait_ms: int = 20
    #: Most records handled (and committed) together; a backlog drains in batches of this size.
    max_batch: int = 500
    observe: Callable[[Handled], None] | None = None
    subscriber: Any = field(default=None, init=False, repr=False)

    @property
    def topics(self) -> set[str]:
        from .catalog import topic_for

        return {topic_for(e.producer, e.version) for e in self.handlers}

    def subscribe(self, broker: KafkaBroker) -> None:
        by_type = {e.event_type(): (e, h) for e, h in self.handlers.items()}

        async def on_batch(body: Any, msg: KafkaMessage) -> None:  # body unused: we decode raw bytes
            await self.process_batch(msg.raw_message, by_type)

        # One consumer for all topics: one group member per process, so a start is one rebalance.
        # Batches: the offsets of a whole fetch are committed once, after every record of it is
        # applied; a failure rewinds each partition to its earliest record of the batch.
        self.subscriber = broker.subscriber(
            *sorted(self.topics),
            group_id=self.name,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_poll_interval_ms=300_000,
            batch=True,
            max_records=self.max_batch,
            batch_timeout_ms=self.fetch_max_wait_ms,
        )
        self.subscriber(on_batch)

    async def process_batch(self, records: Sequence[Any], by_type: dict) -> None:
        """Handle the records of one fetch.

        All of them in one transaction when each decodes and applies cleanly (a backlog costs one
        commit per batch, not per event); otherwise one at a time, each in its own transaction, so
        that a poison event is parked alone and a failure redelivers from the failing record on.
        """
        if len(records) > 1 and await self._apply_together(records, by_type):
            return
        for record in records:
            await self.process(record.value or b"", record_headers(record), record, by_type)

    async def _apply_together(self, records: Sequence[Any], by_type: dict) -> bool:
        items = []
        for record in records:
            try:
                envelope = Envelope.model_validate_json(record.value or b"")
                entry = by_type.get(envelope.type)
                event = None if entry is None else _typed(entry[0], envelope)
            except ValidationError:
                return False  # parked by the one-at-a-time path
            items.append((record, envelope, event, entry))
        outcomes: list[tuple[Any, Envelope, str, float]] = []
        committed: list[UnitOfWork] = []
        batch_by_type = {e.event_type(): h for e, h in self.batch_handlers.items()}
        try:
            async with self.engine.begin() as conn:
                i = 0
                while i < len(items):
                    record, envelope, event, entry = items[i]
                    run_end = i + 1
                    if entry is not None and envelope.type in batch_by_type:
                        while run_end < len(items) and items[run_end][1].type == envelope.type:
                            run_end += 1
                    if run_end - i > 1:
                        await self._apply_run(conn, items[i:run_end], batch_by_type[envelope.type], outcomes,
                                              committed)
                        i = run_end
                        continue
                    i += 1
                    started = time.perf_counter()
                    if entry is None:
                        outcomes.append((record, envelope, "ignored", started))
                        continue
                    headers = record_headers(record)
                    with self._span(record.topic, headers, record, envelope.type, envelope.id) as span:
                        async with self.uow_factory(envelope.id).join(conn) as uow:
                            outcome = "duplicate"
                            if await claim(conn, self.tables, self.name, envelope.id, envelope.type):
                                await entry[1](event, _meta(envelope, headers), uow)
                                outcome = "applied"
                                committed.append(uow)
                        span.set_attribute("tanso.outcome", outcome)
                    outcomes.append((record, envelope, outcome, started))
        except Exception as exc:  # noqa: BLE001 — nothing was committed; retried one by one
            log.info("%s: a batch of %d events did not apply together (%r); one at a time instead",
                     self.name, len(records), exc)
            return False
        for uow in committed:
            uow.committed()
        for record, envelope, outcome, started in outcomes:
            self._observe(record.topic, envelope.type, outcome, started, envelope.tenantid)
        return True

    async def _apply_run(self, conn: Any, run: list[tuple], handler: BatchHandler, outcomes: list,
                         committed: list[UnitOfWork]) -> None:
        """Claim a run of same-type records in bulk and hand the new ones to ``handler`` in one call.

        One CONSUMER span covers the run: a child of the first record's producer span (so the
        trace of a request whose events arrive together stays whole) and linked to every record's
        producer span, OpenTelemetry's batch-processing shape (the SDK keeps 128 links by default).
        What the handler writes carries that span's ``traceparent``.
        """
        started = time.perf_counter()
        first_record, first_envelope = run[0][0], run[0][1]
        headers = [record_headers(r) for r, *_ in run]
        links = [trace.Link(ctx) for h in headers
                 if (ctx := trace.get_current_span(context_from_headers(h)).get_span_context()).is_valid]
        with tracer().start_as_current_span(
                f"{first_record.topic} process", context=context_from_headers(headers[0]), kind=SpanKind.CONSUMER,
                links=links,
                attributes={"messaging.system": "kafka", "messaging.operation.type": "process",
                            "messaging.destination.name": first_record.topic,
                            "messaging.consumer.group.name": self.name, "cloudevents.event_type": first_envelope.type,
                            "messaging.batch.message_count": len(run)}):
            unclaimed = await claim_many(conn, self.tables, self.name, [(e.id, e.type) for _, e, *_ in run])
            fresh, run_outcomes = [], []
            for (record, envelope, event, _), h in zip(run, headers, strict=True):
                outcome = "duplicate"
                if envelope.id in unclaimed:  # a second copy in the same fetch is a duplicate too
                    unclaimed.discard(envelope.id)
                    fresh.append((event, _meta(envelope, h)))
                    outcome = "applied"
                run_outcomes.append((record, envelope, outcome, started))
            if fresh:
                async with self.uow_factory(fresh[0][1].id).join(conn) as uow:
                    await handler(fresh, uow)
                committed.append(uow)
        outcomes.extend(run_outcomes)

    async def unconsumed(self, timeout: float = 2.0) -> int:
        """Records of this process's partitions whose effects are not committed yet: the broker's end
        offsets now minus the group's committed offsets (committed after the batch's transaction), so
        records fetched or being handled count too. :meth:`partition_lag` is the cheap, staler view."""
        consumer = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return 0
        assigned = sorted(consumer.assignment())
        if not assigned:
            return 0
        ends, committed, beginnings = await asyncio.wait_for(asyncio.gather(
            consumer.end_offsets(assigned), asyncio.gather(*(consumer.committed(tp) for tp in assigned)),
            consumer.beginning_offsets(assigned)), timeout)
        # nothing committed by the group yet: from the beginning (auto_offset_reset=earliest)
        return sum(max(ends[tp] - (beginnings[tp] if done is None else done), 0)
                   for tp, done in zip(assigned, committed, strict=True))

    async def partition_lag(self, timeout: float = 0.5) -> list[tuple[str, int, int]]:
        """``(topic, partition, lag)`` of the partitions assigned to this process right now.

        Lag is the broker's highwater (known from the last fetch response; no request is made)
        minus the consumer's position, like Kafka's ``records-lag``. Partitions not fetched yet are
        left out.
        """
        consumer = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return []
        lags = []
        for tp in sorted(consumer.assignment()):
            try:
                high = consumer.highwater(tp)
                if high is None:
                    continue
                position = await asyncio.wait_for(consumer.position(tp), timeout)
            except Exception as exc:  # noqa: BLE001 — unassigned during a rebalance, or no position yet
                log.debug("%s: no lag for %s: %r", self.name, tp, exc)
                continue
            lags.append((tp.topic, tp.partition, max(high - position, 0)))
        return lags

    async def process(self, raw: bytes, headers: dict[str, str], record: Any, by_type: dict) -> None:
        started = time.perf_counter()
        topic = getattr(record, "topic", "")
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            with self._span(topic, headers, record, "unknown", None):
                await self.park(raw, record, None, f"not a CloudEvents envelope: {exc}")
            self._observe(topic, "unknown", "parked", started, None)
            return
        entry = by_type.get(envelope.type)
        if entry is None:
            self._observe(topic, envelope.type, "ignored", started, envelope.tenantid)
            return  # another consumer's event on a shared topic
        outcome = "failed"
        try:
            with self._span(topic, headers, record, envelope.type, envelope.id) as span:
                outcome = await self._handle(envelope, entry, raw, headers, record)
                span.set_attribute("tanso.outcome", outcome)
        finally:
            self._observe(topic, envelope.type, outcome, started, envelope.tenantid)

    async def _handle(self, envelope: Envelope, entry: tuple, raw: bytes, headers: dict[str, str],
                      record: Any) -> str:
        model, handler = entry
        try:
            event = _typed(model, envelope)
        except ValidationError as exc:
            await self.park(raw, record, envelope.id, f"{envelope.type} fails its schema: {exc}")
            return "parked"
        meta = _meta(envelope, headers)
        for attempt in range(5):
            try:
                async with self.uow_factory(envelope.id) as uow:
                    if not await claim(uow.conn, self.tables, self.name, envelope.id, envelope.type):
                        return "duplicate"  # redelivery: already applied
                    await handler(event, meta, uow)
                return "applied"
            except ConcurrencyError:
                log.info("%s: concurrent write while handling %s, retry %d", self.name, envelope.id, attempt + 1)
            except PoisonEvent as exc:
                await self.park(raw, record, envelope.id, str(exc))
                return "parked"
            except Exception:
                log.exception("%s: handler for %s failed; will be redelivered", self.name, envelope.type)
                await asyncio.sleep(self.retry_delay)  # no hot loop against a failing dependency
                raise
        raise RuntimeError(f"{self.name}: gave up on {envelope.id} after repeated concurrency conflicts")

    @contextlib.contextmanager
    def _span(self, topic: str, headers: Mapping[str, str], record: Any, event_type: str,
              event_id: str | None) -> Iterator[trace.Span]:
        """The CONSUMER span of one record, child of the producer span named by its headers."""
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": self.name,
            "cloudevents.event_type": event_type,
        }
        if (partition := getattr(record, "partition", None)) is not None:
            attributes["messaging.destination.partition.id"] = str(partition)
        if (offset := getattr(record, "offset", None)) is not None:
            attributes["messaging.kafka.offset"] = offset
        if event_id:
            attributes["messaging.message.id"] = event_id
        with tracer().start_as_current_span(f"{topic} process", context=context_from_headers(headers),
                                            kind=SpanKind.CONSUMER, attributes=attributes) as span:
            yield span

    def _observe(self, topic: str, event_type: str, outcome: str, started: float, tenant_id: str | None) -> None:
        if self.observe is not None:
            self.observe(Handled(topic, event_type, outcome, time.perf_counter() - started, tenant_id))

    async def park(self, raw: bytes, record: Any, event_id: str | None, error: str) -> None:
        d = self.tables.dead_letters
        topic, partition, offset = (getattr(record, "topic", ""), getattr(record, "partition", None),
                                    getattr(record, "offset", None))
        async with self.engine.begin() as conn:
            if offset is not None and (await conn.execute(select(d.c.position).where(
                    d.c.consumer == self.name, d.c.topic == topic, d.c.kafka_partition == partition,
                    d.c.kafka_offset == offset))).first():
                return  # parked before: a batch it was in is being redelivered
            log.error("%s: parking event %s: %s", self.name, event_id, error)
            await conn.execute(
                insert(self.tables.dead_letters).values(
                    consumer=self.name,
                    topic=getattr(record, "topic", ""),
                    kafka_partition=getattr(record, "partition", None),
                    kafka_offset=getattr(record, "offset", None),
                    event_id=event_id,
                    payload=raw.decode("utf-8", errors="replace"),
                    error=error[:4000],
                    parked_at=datetime.now(UTC),
                )
            )
