"""Reporting keeps exact totals from the current figure of each emission line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.service_layer.handlers import on_emission_calculated


def line(line_id="l1", revision=1, co2e="4.992", status="calculated", scope=2, org_unit="site-1"):
    return catalog.EmissionCalculated(
        line_id=line_id, line_revision=revision, activity_id=line_id, org_unit_id=org_unit, fiscal_year=2025,
        period="2025-05", item_code="electricity", scope=scope, co2e_t=Decimal(co2e), status=status,
        reason="r", audit_record_id=f"ar-{line_id}-{revision}")


async def deliver(engine, event, event_id=None, tenant="t1"):
    meta = EnvelopeMeta(id=event_id or str(uuid.uuid4()), type=event.event_type(), subject=event.line_id,
                        tenant_id=tenant, time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if await claim(uow.conn, tables.messaging, "reporting", meta.id, meta.type):
            await on_emission_calculated(event, meta, uow)
    return meta.id


async def totals(engine, tenant="t1"):
    t = tables.report_totals
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.c.scope, t.c.org_unit_id, t.c.co2e_t, t.c.lines)
                                   .where(t.c.tenant_id == tenant).order_by(t.c.scope, t.c.org_unit_id))).all()
    return [tuple(r) for r in rows]


async def test_a_newer_revision_replaces_the_line_in_the_totals(engine):
    await deliver(engine, line(co2e="4.992"))
    await deliver(engine, line("l2", co2e="0.1", scope=1))
    await deliver(engine, line(revision=2, co2e="5.424"))
    assert await totals(engine) == [(1, "site-1", Decimal("0.1"), 1), (2, "site-1", Decimal("5.424"), 1)]


async def test_a_stale_revision_arriving_late_is_ignored(engine):
    await deliver(engine, line(revision=2, co2e="5.424"))
    await deliver(engine, line(revision=1, co2e="4.992"))
    assert await totals(engine) == [(2, "site-1", Decimal("5.424"), 1)]


async def test_a_voided_line_leaves_the_totals(engine):
    await deliver(engine, line(co2e="4.992"))
    await deliver(engine, line(revision=2, co2e="0", status="voided"))
    assert await totals(engine) == [(2, "site-1", Decimal(0), 0)]


async def test_redelivery_changes_nothing_and_tenants_never_mix(engine):
    first = await deliver(engine, line(co2e="1.5"))
    await deliver(engine, line(co2e="9"), tenant="t2")
    await deliver(engine, line(co2e="1.5"), event_id=first)
    assert await totals(engine) == [(2, "site-1", Decimal("1.5"), 1)]
    assert await totals(engine, "t2") == [(2, "site-1", Decimal(9), 1)]


async def test_replay_rebuilds_the_totals_identically(engine):
    for i in range(10):
        await deliver(engine, line(f"l{i}", co2e=f"{i}.125", org_unit=f"site-{i % 3}"))
    await deliver(engine, line("l3", revision=2, co2e="0.001"))
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live


async def test_org_unit_names_are_recorded_once_per_unit(engine):
    from tanso_reporting.service_layer.handlers import on_org_unit_registered

    unit = catalog.OrgUnitRegistered(org_unit_id="site-1", parent_id="co", kind="site", name_ja="東京工場",
                                     name_en="Tokyo Plant")
    for _ in range(2):  # a republished copy (new event id) changes nothing
        meta = EnvelopeMeta(id=str(uuid.uuid4()), type=unit.event_type(), subject="site-1", tenant_id="t1",
                            time=datetime.now(UTC))
        async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
            await on_org_unit_registered(unit, meta, uow)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.org_units.c.name_ja, tables.org_units.c.name_en))).all()
    assert [tuple(r) for r in rows] == [("東京工場", "Tokyo Plant")]


async def test_breakdowns_and_trend_over_the_http_api(engine):
    import httpx
    from fastapi import FastAPI
    from tanso_reporting.entrypoints.http import router
    from tanso_runtime.auth import Principal, current_principal

    await deliver(engine, catalog.EmissionCalculated(**{**line("l1", co2e="4.992").model_dump(),
                                                        "scope2_method": "location"}))
    await deliver(engine, catalog.EmissionCalculated(**{**line("l1m", co2e="5.424").model_dump(),
                                                        "scope2_method": "market"}))
    await deliver(engine, catalog.EmissionCalculated(**{**line("l2", co2e="1.5", scope=3).model_dump(),
                                                        "scope3_category": 6, "period": "2025-07"}))
    await deliver(engine, catalog.EmissionCalculated(**{**line("l0", co2e="5").model_dump(), "fiscal_year": 2024}))
    app = FastAPI()
    app.include_router(router)
    app.state.runtime = type("Runtime", (), {"engine": engine})()
    app.dependency_overrides[current_principal] = lambda: Principal("u", "t1", frozenset({"viewer"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
        months = (await client.get("/reports/2025/breakdown", params={"by": "month"})).json()["rows"]
        categories = (await client.get("/reports/2025/breakdown", params={"by": "scope3_category"})).json()["rows"]
        market = (await client.get("/reports/2025/breakdown", params={"by": "scope",
                                                                      "scope2_basis": "market"})).json()["rows"]
        trend = (await client.get("/reports/trend", params={"from_year": 2024, "to_year": 2025})).json()["years"]
    assert months == [{"key": "2025-05", "co2e_t": "4.992"}, {"key": "2025-07", "co2e_t": "1.5"}]
    assert categories == [{"key": 6, "co2e_t": "1.5"}, {"key": None, "co2e_t": "4.992"}]
    assert market == [{"key": 2, "co2e_t": "5.424"}, {"key": 3, "co2e_t": "1.5"}]
    assert [(y["total_t"], y["change_from_previous_percent"]) for y in trend] == [("5", None), ("6.492", "29.84")]
