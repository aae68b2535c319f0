"""Event store, outbox and inbox behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from tanso_events.catalog import TenantRegistered
from tanso_events.envelope import Envelope
from tanso_events.inbox import claim
from tanso_events.projections import Projection, checksum, rebuild
from tanso_events.relay import OutboxRelay
from tanso_events.store import ConcurrencyError, EventStore, add_messaging_tables
from tanso_events.unit_of_work import DomainEvent, UnitOfWork
from tanso_runtime.db import make_engine


class Counted(DomainEvent):
    n: int


def build():
    metadata = MetaData()
    tables = add_messaging_tables(metadata)
    totals = Table("totals", metadata, Column("stream_id", String(50), primary_key=True),
                   Column("total", Integer, nullable=False))
    projection = Projection("totals", [totals])

    @projection.on("Counted")
    async def _count(conn, e):
        row = (await conn.execute(select(totals.c.total).where(totals.c.stream_id == e.stream_id))).scalar()
        if row is None:
            await conn.execute(insert(totals).values(stream_id=e.stream_id, total=e.data["n"]))
        else:
            await conn.execute(update(totals).where(totals.c.stream_id == e.stream_id).values(total=row + e.data["n"]))

    return metadata, tables, totals, projection


@pytest.fixture
async def env(database_url):
    metadata, tables, totals, projection = build()
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine, tables, totals, projection
    await engine.dispose()


async def test_appended_events_load_in_version_order_and_feed_projections(env):
    engine, tables, totals, projection = env
    async with UnitOfWork(engine, tables, [projection]) as uow:
        await uow.append("s-1", 0, "t1", [Counted(n=2), Counted(n=3)])
    async with UnitOfWork(engine, tables, [projection]) as uow:
        events = await uow.load("s-1")
        await uow.append("s-1", len(events), "t1", [Counted(n=5)])
    async with engine.connect() as conn:
        loaded = await EventStore(tables).load(conn, "s-1")
        total = (await conn.execute(select(totals.c.total))).scalar()
    assert [e.version for e in loaded] == [1, 2, 3]
    assert [e.data["n"] for e in loaded] == [2, 3, 5]
    assert total == 10


async def test_appending_at_a_stale_version_is_a_conflict_and_writes_nothing(env):
    engine, tables, totals, projection = env
    async with UnitOfWork(engine, tables, [projection]) as uow:
        await uow.append("s-1", 0, "t1", [Counted(n=1)])
    with pytest.raises(ConcurrencyError):
        async with UnitOfWork(engine, tables, [projection]) as uow:
            await uow.publish(TenantRegistered(tenant_id="t1", company_name="x", fiscal_year_start_month=4),
                              subject="t1", tenant_id="t1", aggregate_type="tenant")
            await uow.append("s-1", 0, "t1", [Counted(n=100)])
    async with engine.connect() as conn:
        assert (await conn.execute(select(totals.c.total))).scalar() == 1
        assert (await conn.execute(select(func.count()).select_from(tables.outbox))).scalar() == 0


async def test_concurrent_writers_of_one_stream_one_wins_the_other_conflicts(env):
    engine, tables, totals, projection = env
    async with UnitOfWork(engine, tables, [projection]) as uow:
        await uow.append("s-1", 0, "t1", [Counted(n=1)])
    barrier = asyncio.Barrier(2)

    async def writer(n: int) -> str:
        try:
            async with UnitOfWork(engine, tables, [projection]) as uow:
                version = len(await uow.load("s-1"))
                await barrier.wait() if engine.dialect.name == "postgresql" else None
                await uow.append("s-1", version, "t1", [Counted(n=n)])
            return "ok"
        except ConcurrencyError:
            return "conflict"

    outcomes = sorted(await asyncio.gather(writer(10), writer(20)))
    async with engine.connect() as conn:
        versions = [e.version for e in await EventStore(tables).load(conn, "s-1")]
    if engine.dialect.name == "postgresql":
        assert outcomes == ["conflict", "ok"]
        assert versions == [1, 2]
    else:  # SQLite's BEGIN IMMEDIATE serialises the two writers: both succeed, in order
        assert outcomes == ["ok", "ok"]
        assert versions == [1, 2, 3]


async def test_inbox_claims_an_event_id_once_per_consumer(env):
    engine, tables, *_ = env
    async with engine.begin() as conn:
        first = await claim(conn, tables, "calculation", "e-1", "T")
        again = await claim(conn, tables, "calculation", "e-1", "T")
        other = await claim(conn, tables, "reporting", "e-1", "T")
    assert (first, again, other) == (True, False, True)


async def test_relay_publishes_each_outbox_row_once_in_order_with_key_and_trace(env):
    engine, tables, *_ = env
    for i in range(3):
        async with UnitOfWork(engine, tables, []) as uow:
            await uow.publish(TenantRegistered(tenant_id=f"t{i}", company_name="c", fiscal_year_start_month=4),
                              subject=f"t{i}", tenant_id=f"t{i}", aggregate_type="tenant")
    sent = []

    async def publish(topic, key, payload, headers):
        sent.append((topic, key, Envelope.model_validate_json(payload), headers))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    relay = OutboxRelay(engine, tables, publish)
    assert await relay.run_once() == 3
    assert await relay.run_once() == 0
    assert [s[1] for s in sent] == [b"t0", b"t1", b"t2"]
    assert sent[0][0] == "tanso.identity.v1"
    assert sent[0][2].type == "tanso.identity.TenantRegistered.v1" and sent[0][2].tenantid == "t0"
    assert (await relay.backlog())[0] == 0


async def test_relay_keeps_rows_when_the_broker_fails_and_sends_them_later(env):
    engine, tables, *_ = env
    async with UnitOfWork(engine, tables, []) as uow:
        await uow.publish(TenantRegistered(tenant_id="t", company_name="c", fiscal_year_start_month=4),
                          subject="t", tenant_id="t", aggregate_type="tenant")

    async def failing(*_):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        await OutboxRelay(engine, tables, failing).run_once()
    assert (await OutboxRelay(engine, tables, failing).backlog())[0] == 1


async def test_republish_window_marks_recent_rows_for_another_delivery(env):
    from datetime import timedelta

    engine, tables, *_ = env
    async with UnitOfWork(engine, tables, []) as uow:
        await uow.publish(TenantRegistered(tenant_id="t", company_name="c", fiscal_year_start_month=4),
                          subject="t", tenant_id="t", aggregate_type="tenant")

    async def ok(*_):
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    relay = OutboxRelay(engine, tables, ok, republish_window=timedelta(minutes=5))
    assert await relay.run_once() == 1
    assert await relay.republish_recent() == 1
    assert await relay.run_once() == 1


async def test_rebuilding_a_projection_by_replay_gives_the_same_checksum(env):
    engine, tables, totals, projection = env
    for s in range(5):
        async with UnitOfWork(engine, tables, [projection]) as uow:
            await uow.append(f"s-{s}", 0, "t1", [Counted(n=s), Counted(n=s * 2)])
    async with engine.connect() as conn:
        live = await checksum(conn, [totals])
    replayed = await rebuild(engine, EventStore(tables), [projection])
    async with engine.connect() as conn:
        again = await checksum(conn, [totals])
    assert replayed == 10
    assert again == live
