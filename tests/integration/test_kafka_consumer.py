"""The shared Kafka consumer on a real Kafka-protocol broker: at-least-once, idempotent, poison-safe."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from tanso_devstack.broker import broker_for_tests
from tanso_events.catalog import TenantRegistered
from tanso_events.envelope import new_envelope
from tanso_events.kafka import EventConsumer, PoisonEvent, ensure_topics, make_broker
from tanso_events.store import add_messaging_tables
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.app import all_topics
from tanso_runtime.db import make_engine

pytestmark = pytest.mark.xdist_group("kafka")


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    with broker_for_tests(tmp_path_factory.mktemp("kafka")) as address:
        yield address


async def eventually(condition, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_failures_are_redelivered_duplicates_ignored_and_poison_parked(bootstrap, tmp_path):
    metadata = MetaData()
    tables = add_messaging_tables(metadata)
    seen = Table("seen", metadata, Column("event_id", String(64), primary_key=True),
                 Column("tenant_id", String(64)))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    failures = {"left": 2}

    async def on_tenant(event: TenantRegistered, meta, uow) -> None:
        if event.company_name == "flaky" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database briefly unavailable")
        if event.company_name == "poison":
            raise PoisonEvent("company name refused by the domain")
        await uow.conn.execute(insert(seen).values(event_id=meta.id, tenant_id=event.tenant_id))

    group = f"test-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(name=group, engine=engine, tables=tables,
                             uow_factory=lambda cid: UnitOfWork(engine, tables, [], causation_id=cid),
                             handlers={TenantRegistered: on_tenant}, retry_delay=0.05)
    await ensure_topics(bootstrap, all_topics(3))
    broker = make_broker(bootstrap, group)
    consumer.subscribe(broker)
    await broker.start()
    try:
        def envelope(name: str, tenant: str, event_id: str | None = None) -> bytes:
            event = TenantRegistered(tenant_id=tenant, company_name=name, fiscal_year_start_month=4)
            return new_envelope(event, subject=tenant, tenant_id=tenant, event_id=event_id,
                                time=datetime.now(UTC)).model_dump_json().encode()

        def with_future_field(payload: bytes) -> bytes:
            body = json.loads(payload)
            body["data"]["added_in_a_later_release"] = "ignored by this consumer"
            return json.dumps(body).encode()

        duplicate_id = str(uuid.uuid4())
        for payload, key in [
            (envelope("ok", "t1", duplicate_id), b"t1"),
            (envelope("ok", "t1", duplicate_id), b"t1"),  # the same event delivered twice
            (envelope("flaky", "t2"), b"t2"),              # fails twice, then succeeds
            (envelope("poison", "t3"), b"t3"),             # rejected by the domain
            (b"not json at all", b"t4"),                   # not an envelope
            (envelope("ok", "t5"), b"t5"),
            (with_future_field(envelope("ok", "t6")), b"t6"),  # a producer one version ahead
        ]:
            await broker.publish(payload, topic="tanso.identity.v1", key=key)

        async def applied() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(select(func.count()).select_from(seen))).scalar() >= 4

        await eventually(applied)
        await asyncio.sleep(1.0)  # give any wrongful redelivery a chance to show
        async with engine.connect() as conn:
            tenants = sorted(r[0] for r in await conn.execute(select(seen.c.tenant_id)))
            parked = (await conn.execute(select(tables.dead_letters.c.error))).scalars().all()
        assert tenants == ["t1", "t2", "t5", "t6"]
        assert failures["left"] == 0
        assert len(parked) == 2
        assert any("refused by the domain" in e for e in parked)
        assert any("not a CloudEvents envelope" in e for e in parked)
    finally:
        await broker.stop()
        await engine.dispose()
