"""A run of EmissionCalculated events handled set-based leaves what one event at a time leaves.

Same database state, the same run handled both ways in a transaction rolled back after reading:
one event per unit of work (``on_emission_calculated``) and the whole run in one
(``on_emissions_calculated``). Event-store rows (new ids by order of appearance), report lines and
totals must be equal, and a replay of the event store must rebuild the same read models.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tanso_devstack.testing import engine_with_schema
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.service_layer.handlers import on_emission_calculated, on_emissions_calculated

NOW = datetime(2026, 4, 1, 9, 0, 0, 123456, tzinfo=UTC)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
async def engine(database_url):  # both databases (the folder's conftest gives SQLite only)
    async with engine_with_schema(database_url, tables.metadata) as engine:
        yield engine


def line(line_id, co2e, revision=1, status="calculated", scope=2, org="site-1", method=None, item="electricity"):
    return catalog.EmissionCalculated(
        line_id=line_id, line_revision=revision, activity_id=line_id.split(":")[0], org_unit_id=org,
        fiscal_year=2025, period="2025-05", item_code=item, scope=scope, scope2_method=method, co2e_t=Decimal(co2e),
        status=status, reason="r", audit_record_id=f"ar-{line_id}-{revision}")


def meta_for(event, tenant) -> EnvelopeMeta:
    return EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject=event.line_id, tenant_id=tenant,
                        time=NOW)


async def history(engine):
    for event in (line("old-1", "1.25"), line("old-1:market", "1.5", method="market"), line("gas", "2", scope=1)):
        async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
            await on_emission_calculated(event, meta_for(event, "t1"), uow)


RUN = [
    (line("a", "4.992", method="location"), "t1"),
    (line("a:market", "5.2", method="market"), "t1"),
    (line("old-1", "1.75", revision=2, method="location"), "t1"),  # a known line, recomputed
    (line("b", "0.000000123456789", method="location"), "t1"),
    (line("gas", "2", revision=1, scope=1), "t1"),  # a stale copy: ignored
    (line("c", "0", status="voided", method="location"), "t1"),
    (line("d", "10.50", scope=1, org="site-2", item="city_gas"), "t1"),
    (line("a", "3", method="location"), "t2"),  # another tenant, same line id
    (line("e", "0.5", scope=1, org="site-2", item="city_gas"), "t1"),
    (line("d", "11.25", revision=2, scope=1, org="site-2", item="city_gas"), "t1"),  # new in this run, revised
]


class _Rollback(Exception):
    pass


async def handle_and_read(engine, path) -> dict:
    metas = [meta_for(event, tenant) for event, tenant in RUN]
    try:
        async with engine.begin() as conn:
            before = (await conn.execute(select(func.coalesce(func.max(tables.messaging.events.c.position), 0)))
                      ).scalar()
            if path == "one_by_one":
                for (event, _), meta in zip(RUN, metas, strict=True):
                    async with UnitOfWork(engine, tables.messaging, PROJECTIONS, causation_id=meta.id).join(conn) as uow:
                        uow.now = NOW
                        await on_emission_calculated(event, meta, uow)
            else:
                async with UnitOfWork(engine, tables.messaging, PROJECTIONS, causation_id=metas[0].id).join(
                        conn) as uow:
                    uow.now = NOW
                    await on_emissions_calculated([(e, m) for (e, _), m in zip(RUN, metas, strict=True)], uow)
            events = (await conn.exec_driver_sql(
                "SELECT event_id, stream_id, version, type, CAST(data AS TEXT), CAST(meta AS TEXT), tenant_id, "
                f"recorded_at FROM event_store WHERE position > {before} ORDER BY position")).all()
            lines = (await conn.execute(select(tables.report_lines).order_by(
                tables.report_lines.c.tenant_id, tables.report_lines.c.line_id))).all()
            totals = (await conn.execute(select(tables.report_totals).order_by(
                *tables.report_totals.primary_key.columns))).all()
            raise _Rollback
    except _Rollback:
        pass
    text = repr([tuple(r) for r in events])
    for n, meta in enumerate(metas):
        text = text.replace(meta.id, f"<event-{n}>")
    names: dict[str, str] = {}
    text = UUID.sub(lambda m: names.setdefault(m.group(0), f"<new-{len(names)}>"), text)
    # totals as stored text too: Decimal("6.7420") == Decimal("6.742") would hide a difference
    return {"events": text, "lines": repr([tuple(r) for r in lines]), "totals": [tuple(r) for r in totals],
            "totals_text": repr([tuple(map(str, r)) for r in totals])}


async def test_a_run_handled_together_leaves_what_one_event_at_a_time_leaves(engine):
    await history(engine)
    reference = await handle_and_read(engine, "one_by_one")
    together = await handle_and_read(engine, "together")
    assert reference["events"].count("LineReported") == 9  # the stale copy adds nothing
    for part in ("events", "lines", "totals_text"):
        assert together[part] == reference[part], part
    t1_site1_location = [t for t in together["totals"] if t[0] == "t1" and t[3] == "site-1" and t[5] == "location"]
    assert [(t[6], t[7]) for t in t1_site1_location] == [(Decimal("6.742000123456789"), 3)]  # a, old-1 r2, b


async def test_the_read_models_written_in_bulk_are_what_a_replay_of_the_events_builds(engine):
    await history(engine)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await on_emissions_calculated([(e, meta_for(e, t)) for e, t in RUN], uow)
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live
