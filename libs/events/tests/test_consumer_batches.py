"""A fetched batch is applied in one transaction, or one record at a time when any record fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from tanso_events.catalog import TenantRegistered
from tanso_events.envelope import new_envelope
from tanso_events.kafka import EventConsumer, PoisonEvent
from tanso_events.store import add_messaging_tables
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.db import make_engine


@dataclass
class Record:
    """The fields of an aiokafka ``ConsumerRecord`` the consumer reads."""

    value: bytes
    offset: int
    topic: str = "tanso.identity.v1"
    partition: int = 0
    headers: list = field(default_factory=list)


def record(name: str, offset: int, tenant: str | None = None) -> Record:
    tenant = tenant or f"t{offset}"
    event = TenantRegistered(tenant_id=tenant, company_name=name, fiscal_year_start_month=4)
    envelope = new_envelope(event, subject=tenant, tenant_id=tenant, time=datetime.now(UTC))
    return Record(envelope.model_dump_json().encode(), offset)


@pytest.fixture
async def consumer(database_url):
    metadata = MetaData()
    tables = add_messaging_tables(metadata)
    seen = Table("seen", metadata, Column("tenant_id", String(64), primary_key=True),
                 Column("connection", String(64)))
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    commits: list[str] = []

    async def on_tenant(event: TenantRegistered, meta, uow: UnitOfWork) -> None:
        if event.company_name == "poison":
            raise PoisonEvent("refused by the domain")
        await uow.conn.execute(insert(seen).values(tenant_id=event.tenant_id, connection=str(id(uow.conn))))
        uow.after_commit(lambda: commits.append(event.tenant_id))

    consumer = EventConsumer(name="batches", engine=engine, tables=tables,
                             uow_factory=lambda cid: UnitOfWork(engine, tables, [], causation_id=cid),
                             handlers={TenantRegistered: on_tenant})
    by_type = {e.event_type(): (e, h) for e, h in consumer.handlers.items()}
    yield consumer, by_type, seen, commits
    await engine.dispose()


async def rows(consumer: EventConsumer, table: Table) -> list:
    async with consumer.engine.connect() as conn:
        return (await conn.execute(select(table).order_by(*table.primary_key.columns))).all()


async def test_a_clean_batch_is_applied_in_one_transaction_and_callbacks_run_after_it(consumer):
    consumer, by_type, seen, commits = consumer
    await consumer.process_batch([record("ok", i) for i in range(5)], by_type)
    applied = await rows(consumer, seen)
    assert [r.tenant_id for r in applied] == [f"t{i}" for i in range(5)]
    assert len({r.connection for r in applied}) == 1  # one connection, one transaction
    assert commits == [f"t{i}" for i in range(5)]


async def test_a_poison_record_is_parked_alone_and_the_others_are_applied(consumer):
    consumer, by_type, seen, commits = consumer
    batch = [record("ok", 0), record("poison", 1), Record(b"not json", 2), record("ok", 3)]
    await consumer.process_batch(batch, by_type)
    await consumer.process_batch(batch, by_type)  # the whole batch redelivered: nothing changes
    assert [r.tenant_id for r in await rows(consumer, seen)] == ["t0", "t3"]
    assert commits == ["t0", "t3"]
    async with consumer.engine.connect() as conn:
        parked = (await conn.execute(select(consumer.tables.dead_letters.c.kafka_offset)
                                     .order_by(consumer.tables.dead_letters.c.kafka_offset))).scalars().all()
        claimed = (await conn.execute(select(func.count()).select_from(consumer.tables.inbox))).scalar()
    assert parked == [1, 2]
    assert claimed == 2


async def test_a_redelivered_batch_changes_nothing(consumer):
    consumer, by_type, seen, commits = consumer
    batch = [record("ok", i) for i in range(3)]
    await consumer.process_batch(batch, by_type)
    await consumer.process_batch(batch, by_type)
    assert len(await rows(consumer, seen)) == 3
    assert commits == ["t0", "t1", "t2"]


@pytest.fixture
def with_batch_handler(consumer):
    """The consumer with a set-based handler of TenantRegistered that records each call's events."""
    consumer, by_type, seen, _ = consumer
    calls: list[list[str]] = []

    async def on_tenants(items, uow: UnitOfWork) -> None:
        calls.append([event.tenant_id for event, _ in items])
        for event, meta in items:
            if event.company_name == "fails together":
                raise RuntimeError("the set-based path cannot take this one")
            await uow.conn.execute(insert(seen).values(tenant_id=event.tenant_id, connection=meta.id))

    consumer.batch_handlers = {TenantRegistered: on_tenants}
    return consumer, by_type, seen, calls


async def test_a_run_of_one_type_goes_to_its_batch_handler_in_one_call_and_only_once(with_batch_handler):
    consumer, by_type, seen, calls = with_batch_handler
    batch = [record("ok", i) for i in range(4)]
    await consumer.process_batch(batch[:2], by_type)
    await consumer.process_batch(batch, by_type)  # two of them redelivered
    await consumer.process_batch(batch, by_type)  # all of them redelivered
    assert calls == [["t0", "t1"], ["t2", "t3"]]  # the batch handler never sees an event twice
    applied = await rows(consumer, seen)
    assert [r.tenant_id for r in applied] == ["t0", "t1", "t2", "t3"]
    async with consumer.engine.connect() as conn:
        claimed = (await conn.execute(select(func.count()).select_from(consumer.tables.inbox))).scalar()
    assert claimed == 4


async def test_a_failing_batch_handler_falls_back_to_one_event_at_a_time(with_batch_handler):
    consumer, by_type, seen, calls = with_batch_handler
    batch = [record("ok", 0), record("fails together", 1), record("poison", 2), record("ok", 3)]
    await consumer.process_batch(batch, by_type)
    assert calls == [["t0", "t1", "t2", "t3"]]  # rolled back, then the per-event handler for each
    assert [r.tenant_id for r in await rows(consumer, seen)] == ["t0", "t1", "t3"]
    async with consumer.engine.connect() as conn:
        parked = (await conn.execute(select(consumer.tables.dead_letters.c.kafka_offset))).scalars().all()
    assert parked == [2]


async def test_two_copies_of_one_event_in_a_run_reach_the_batch_handler_once(with_batch_handler):
    consumer, by_type, seen, calls = with_batch_handler
    first, other = record("ok", 0), record("ok", 1)
    copy = Record(first.value, 2)  # the same envelope again, e.g. republished by a relay after a lost ack
    await consumer.process_batch([first, other, copy], by_type)
    assert calls == [["t0", "t1"]]
    assert [r.tenant_id for r in await rows(consumer, seen)] == ["t0", "t1"]
