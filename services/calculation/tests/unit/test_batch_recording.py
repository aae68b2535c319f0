"""A run of ActivityRecorded events handled set-based writes what one event at a time writes.

The consumer gives calculation an import's backlog as runs of ``ActivityRecorded``
(``handlers.on_activities_recorded``). The same run is handled both ways on the same database
state, each in a transaction rolled back after its rows were read: one event per unit of work (the
per-event handler, as before), and the whole run in one unit of work. New ids and hashes are
replaced by their order of appearance; everything else — event-store rows, audit records, outbox
payloads, emission lines, activity inputs — must be equal. SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from tanso_calculation.adapters import tables
from tanso_calculation.adapters.projections import PROJECTIONS
from tanso_calculation.domain.logic import LogicItem
from tanso_calculation.service_layer import audit, handlers, logic
from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal

A, B = "tenant-a", "tenant-b"
NOW = datetime(2026, 4, 1, 9, 0, 0, 123456, tzinfo=UTC)


def factor(code, value, value_unit, version_id, activity_unit):
    return catalog.FactorPublished(
        factor_version_id=version_id, factor_code=code, name_ja="係数", name_en="Factor", category="test", scope=2,
        activity_unit=activity_unit, value=Decimal(value), value_unit=value_unit, source_id="test-source",
        source_title_ja="テスト「出典」", source_title_en="Test \"source\"", edition="R6", valid_from_fy=2025,
        valid_to_fy=2025, status="VERIFIED", content_sha256="x")


def recorded(activity_id, amount, unit="kWh", item="electricity", fy=2025, org="本社"):
    return catalog.ActivityRecorded(activity_id=activity_id, org_unit_id=org, item_code=item, period=f"{fy}-05",
                                    fiscal_year=fy, amount=Decimal(amount), unit=unit, recorded_by="u1")


def meta_for(event, tenant) -> EnvelopeMeta:
    return EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject="s", tenant_id=tenant, time=NOW)


async def deliver(engine, event, tenant):
    meta = meta_for(event, tenant)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if await claim(uow.conn, tables.messaging, "calculation", meta.id, meta.type):
            await handlers.EVENT_HANDLERS[type(event)](event, meta, uow)


async def history(engine):
    await deliver(engine, factor("shk.electricity.substitute", "0.000416", "t-CO2/kWh", "fv-e", "kWh"),
                  PLATFORM_TENANT)
    await deliver(engine, factor("test.electricity.upstream", "0.00005", "t-CO2/kWh", "fv-up", "kWh"),
                  PLATFORM_TENANT)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:  # B: electricity with a cat3 line
        item = LogicItem(item_code="electricity", name_ja="電気", name_en="Electricity", unit="kWh", scope=2,
                         energy_type="electricity", method="purchased_energy",
                         factor_code="shk.electricity.substitute", upstream_factor_code="test.electricity.upstream")
        await logic.set_item(uow, Principal("admin", B, frozenset({"admin"})), 2025, item)
    await deliver(engine, recorded("known-1", "100"), A)


def run_of_recordings() -> list[tuple[catalog.ActivityRecorded, str]]:
    """New activities in every state a first recording can give, and one activity already known."""
    return [
        (recorded("a-1", "12000"), A),
        (recorded("a-2", "1.5", unit="MWh"), A),
        (recorded("a-9", "123456789.123456789"), A),
        (recorded("known-1", "100"), A),  # a late copy of an activity recorded before: changes nothing
        (recorded("b-1", "2000"), B),  # tenant logic: location, market and cat3 lines
        (recorded("a-litres", "10", unit="L"), A),  # unit does not fit the factor: error line
        (recorded("a-2026", "300", fy=2026), A),  # no factor version for FY2026 yet: pending
        (recorded("a-unknown", "5", unit="kL", item="no_such_item"), A),  # not in the logic: error
        (recorded("a-gas", "2", unit="千m3", item="city_gas"), A),  # its factor is not published: pending
        (recorded("a-3", "0", org="site-2"), A),
        (recorded("b-2", "3000"), B),
        (recorded("a-1", "999"), A),  # a second recording of an activity of this run: changes nothing
    ]


class _Rollback(Exception):
    pass


async def handle_and_read(engine, run, path, written) -> dict:
    metas = [meta_for(event, tenant) for event, tenant in run]
    try:
        async with engine.begin() as conn:
            before = await written.mark(conn)
            if path == "one_by_one":
                for (event, _), meta in zip(run, metas, strict=True):
                    async with UnitOfWork(engine, tables.messaging, PROJECTIONS, causation_id=meta.id).join(conn) as uow:
                        uow.now = NOW
                        await handlers.on_activity_recorded(event, meta, uow)
            else:
                async with UnitOfWork(engine, tables.messaging, PROJECTIONS, causation_id=metas[0].id).join(
                        conn) as uow:
                    uow.now = NOW
                    await handlers.on_activities_recorded([(e, m) for (e, _), m in zip(run, metas, strict=True)], uow)
            snapshot = await written.rows(conn, before)
            snapshot["inputs"] = (await conn.execute(select(tables.activity_inputs).order_by(
                tables.activity_inputs.c.tenant_id, tables.activity_inputs.c.activity_id))).all()
            chains = {t: await audit.verify_chain(conn, t) for t in (A, B)}
            assert all(c["valid"] for c in chains.values()), chains
            snapshot["chains"] = {t: c["records_checked"] for t, c in chains.items()}
            raise _Rollback
    except _Rollback:
        pass
    # the event ids differ between the runs; each row names its own, so put them in order of appearance
    for part in ("events", "audits", "outbox", "lines"):
        for n, meta in enumerate(metas):
            snapshot[part] = snapshot[part].replace(meta.id, f"<event-{n}>")
    snapshot["inputs"] = repr([tuple(r) for r in snapshot["inputs"]])
    for n, meta in enumerate(metas):
        snapshot["inputs"] = snapshot["inputs"].replace(meta.id, f"<event-{n}>")
    return snapshot


async def test_a_run_handled_together_writes_what_one_event_at_a_time_writes(engine, written):
    await history(engine)
    run = run_of_recordings()
    reference = await handle_and_read(engine, run, "one_by_one", written)
    assert reference["count"] == 20  # A: 6 electricity activities × 2 lines, 2 with one line; B: 2 × 3
    together = await handle_and_read(engine, run, "together", written)
    for part in ("events", "audits", "outbox", "lines", "inputs", "chains"):
        assert together[part] == reference[part], part


async def test_a_run_records_each_new_activity_once_in_event_order_with_its_figures(engine):
    await history(engine)
    run = run_of_recordings()
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await handlers.on_activities_recorded([(e, meta_for(e, t)) for e, t in run], uow)
    async with engine.connect() as conn:
        records = (await conn.execute(select(tables.audit_records.c.line_id).where(
            tables.audit_records.c.tenant_id == A).order_by(tables.audit_records.c.seq))).scalars().all()
        lines = {r.line_id: r for r in (await conn.execute(select(tables.lines))).all()}
        assert (await audit.verify_chain(conn, A))["valid"]
    assert records[:3] == ["known-1", "known-1:market", "a-1"]  # the late copy of known-1 added nothing
    assert records.count("a-1") == 1
    assert lines["a-1"].co2e_t == Decimal("4.992") and lines["a-2"].co2e_t == Decimal("0.624")
    assert lines["a-litres"].status == "error" and lines["a-2026"].status == "pending_factor"
    assert lines["a-unknown"].status == "error" and lines["b-1:cat3"].co2e_t == Decimal("0.1")
