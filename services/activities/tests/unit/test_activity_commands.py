"""Recording, correcting and voiding activities: rules, history and the events they queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_activities.adapters import tables
from tanso_activities.adapters.projections import PROJECTIONS
from tanso_activities.domain.commands import CorrectActivity, RecordActivity, VoidActivity
from tanso_activities.service_layer import handlers
from tanso_events import catalog
from tanso_events.envelope import Envelope, EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.db import make_engine
from tanso_runtime.errors import ProblemError

EDITOR = Principal(subject="user-1", tenant_id="t1", roles=frozenset({"editor"}))
OTHER_TENANT = Principal(subject="user-9", tenant_id="t2", roles=frozenset({"admin"}))


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'act.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type="x", subject="t1", tenant_id="t1", time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await handlers.on_tenant_registered(catalog.TenantRegistered(
            tenant_id="t1", company_name="c", fiscal_year_start_month=4), meta, uow)
        await handlers.on_org_unit_registered(catalog.OrgUnitRegistered(
            org_unit_id="site-1", parent_id=None, kind="site", name_ja="東京工場"), meta, uow)
    yield engine
    await engine.dispose()


async def run(engine, fn, *args):
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        return await fn(*args, uow)


def electricity(**overrides):
    return RecordActivity(**{"org_unit_id": "site-1", "item_code": "electricity", "period": "2026-02",
                             "amount": Decimal(12000), "unit": "kWh", **overrides})


async def published(engine):
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.messaging.outbox.c.payload)
                                   .order_by(tables.messaging.outbox.c.position))).all()
    return [Envelope.model_validate_json(r[0]) for r in rows]


async def test_recording_derives_the_fiscal_year_and_queues_activity_recorded(engine):
    activity = await run(engine, handlers.record_activity, electricity(), EDITOR)
    [event] = await published(engine)
    assert event.type == "tanso.activities.ActivityRecorded.v1" and event.subject == activity.activity_id
    assert event.data["fiscal_year"] == 2025 and event.data["amount"] == "12000" and event.tenantid == "t1"


async def test_unknown_site_item_or_unit_is_refused_with_a_clear_error(engine):
    for bad, code in ((electricity(org_unit_id="nope"), "not_found"), (electricity(item_code="coal"), "unknown_item"),
                      (electricity(unit="kL"), "unit_mismatch")):
        with pytest.raises(ProblemError) as err:
            await run(engine, handlers.record_activity, bad, EDITOR)
        assert err.value.code == code and err.value.detail_ja
    assert await published(engine) == []


async def test_correction_and_void_keep_history_and_a_voided_activity_stays_voided(engine):
    activity = await run(engine, handlers.record_activity, electricity(), EDITOR)
    await run(engine, handlers.correct_activity, activity.activity_id,
              CorrectActivity(amount=Decimal(11000), reason="meter re-read"), EDITOR)
    await run(engine, handlers.void_activity, activity.activity_id, VoidActivity(reason="duplicate"), EDITOR)
    with pytest.raises(ProblemError):
        await run(engine, handlers.void_activity, activity.activity_id, VoidActivity(reason="again"), EDITOR)
    types = [e.type.split(".")[2] for e in await published(engine)]
    assert types == ["ActivityRecorded", "ActivityCorrected", "ActivityVoided"]
    async with engine.connect() as conn:
        row = (await conn.execute(select(tables.activities))).mappings().one()
    assert (row["status"], row["revision"], row["amount"]) == ("voided", 3, Decimal(11000))


async def test_another_tenant_cannot_touch_the_activity(engine):
    activity = await run(engine, handlers.record_activity, electricity(), EDITOR)
    with pytest.raises(ProblemError) as err:
        await run(engine, handlers.void_activity, activity.activity_id, VoidActivity(reason="x"), OTHER_TENANT)
    assert err.value.status == 404


async def test_items_come_from_the_fiscal_years_calculation_logic_when_the_tenant_has_one(engine):
    logic = catalog.CalculationLogicChanged(
        logic_id="t1:2025", fiscal_year=2025, logic_version=2, copied_from="default",
        items=[catalog.LogicItemSummary(item_code="air_domestic", name_ja="国内線", name_en="Domestic air",
                                        unit="円", scope=3, scope3_category=6)])
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type=logic.event_type(), subject="t1:2025", tenant_id="t1",
                        time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await handlers.on_logic_changed(logic, meta, uow)
    air = electricity(item_code="air_domestic", unit="円", amount=Decimal(1000000), period="2025-06")
    recorded = await run(engine, handlers.record_activity, air, EDITOR)
    assert recorded.facts.item_code == "air_domestic"
    with pytest.raises(ProblemError) as err:  # FY2025 has its own logic without electricity
        await run(engine, handlers.record_activity, electricity(period="2025-06"), EDITOR)
    assert err.value.code == "unknown_item" and "FY2025" in err.value.detail
    await run(engine, handlers.record_activity, electricity(period="2024-06"), EDITOR)  # built-in items
