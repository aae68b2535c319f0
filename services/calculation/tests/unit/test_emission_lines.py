"""Given activity and factor events, calculation computes lines with a chained audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_calculation.adapters import tables
from tanso_calculation.adapters.projections import PROJECTIONS
from tanso_calculation.domain.formula import GENESIS_HASH, calculate, chain_hash
from tanso_calculation.service_layer.handlers import EVENT_HANDLERS
from tanso_events import catalog
from tanso_events.envelope import Envelope, EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_ghg.units import UnitMismatchError
from tanso_runtime.db import make_engine

TENANT = "tenant-a"


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'calc.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield engine
    await engine.dispose()


async def deliver(engine, event, tenant=TENANT, event_id=None):
    """Deliver one integration event the way the Kafka consumer does (inbox claim + handler)."""
    meta = EnvelopeMeta(id=event_id or str(uuid.uuid4()), type=event.event_type(), subject="s",
                        tenant_id=tenant, time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if await claim(uow.conn, tables.messaging, "calculation", meta.id, meta.type):
            await EVENT_HANDLERS[type(event)](event, meta, uow)
    return meta.id


def electricity_factor(value="0.000416", edition="R6-actual", version_id="fv-1", supersedes=None):
    return catalog.FactorPublished(
        factor_version_id=version_id, factor_code="shk.electricity.substitute", name_ja="代替値", name_en="Substitute",
        category="electricity", scope=2, activity_unit="kWh", value=Decimal(value), value_unit="t-CO2/kWh",
        source_id="jp-electricity-shk-defaults", source_title_ja="電気事業者別排出係数", source_title_en="Electricity",
        edition=edition, valid_from_fy=2025, valid_to_fy=2025, status="VERIFIED",
        supersedes_version_id=supersedes, content_sha256="x")


def electricity_activity(amount="12000", unit="kWh", activity_id="act-1"):
    return catalog.ActivityRecorded(activity_id=activity_id, org_unit_id="site-1", item_code="electricity",
                                    period="2025-05", fiscal_year=2025, amount=Decimal(amount), unit=unit,
                                    recorded_by="u1")


async def lines(engine, include_market=False):
    """Emission lines; by default the primary (location-based) ones only."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.lines).order_by(tables.lines.c.line_id))).mappings().all()
    return [r for r in rows if include_market or r["scope2_method"] != "market"]


async def records(engine, include_market=False):
    async with engine.connect() as conn:
        rows = [r[0] for r in (await conn.execute(select(tables.audit_records.c.record)
                                                  .order_by(tables.audit_records.c.seq))).all()]
    return [r for r in rows if include_market or r["scope2_method"] != "market"]


async def outbox_events(engine, include_market=False):
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.messaging.outbox.c.payload)
                                   .order_by(tables.messaging.outbox.c.position))).all()
    events = [Envelope.model_validate_json(r[0]) for r in rows]
    return [e for e in events if include_market or e.data.get("scope2_method") != "market"]


def test_golden_a_heavy_oil_10_kl_under_the_current_list_is_27_5_t():
    assert calculate(Decimal(10), "kL", Decimal("2.75"), "t-CO2/kL").co2e_t == Decimal("27.5")


def test_litres_are_converted_to_kilolitres_exactly():
    assert calculate(Decimal(1500), "L", Decimal("2.58"), "t-CO2/kL").co2e_t == Decimal("3.87")


def test_a_unit_that_does_not_fit_the_factor_is_an_error_not_a_number():
    with pytest.raises(UnitMismatchError):
        calculate(Decimal(10), "kWh", Decimal("2.75"), "t-CO2/kL")


async def test_an_activity_with_its_factor_gives_one_line_one_record_and_one_event(engine):
    await deliver(engine, electricity_factor())
    await deliver(engine, electricity_activity())
    [line] = await lines(engine)
    assert (line["status"], line["co2e_t"], line["factor_version_id"]) == ("calculated", Decimal("4.992"), "fv-1")
    [record] = await records(engine)
    assert record["scope2_method"] == "location" and record["line_kind"] == "primary"
    assert record["formula"].startswith("12000 kWh × 1 (kWh→kWh) × 0.000416 t-CO2/kWh")
    assert record["factor"]["edition"] == "R6-actual" and record["activity"]["event_id"]
    assert record["hash"] == chain_hash(record["prev_hash"], record)
    [published] = await outbox_events(engine)
    assert published.type == "tanso.calculation.EmissionCalculated.v1"
    assert published.data["co2e_t"] == "4.992" and published.data["audit_record_id"] == record["audit_record_id"]


async def test_an_activity_before_its_factor_waits_and_is_computed_when_the_factor_arrives(engine):
    await deliver(engine, electricity_activity())
    assert [line["status"] for line in await lines(engine)] == ["pending_factor"]
    assert await outbox_events(engine) == []
    await deliver(engine, electricity_factor())
    assert [line["status"] for line in await lines(engine)] == ["calculated"]
    assert len(await outbox_events(engine)) == 1


async def test_a_new_factor_version_recomputes_exactly_the_lines_that_used_the_old_one(engine):
    await deliver(engine, electricity_factor())
    await deliver(engine, electricity_activity(activity_id="act-1"))
    await deliver(engine, electricity_activity(activity_id="act-2", amount="1000"))
    other_year = catalog.ActivityRecorded(**{**electricity_activity(activity_id="act-3").model_dump(),
                                             "fiscal_year": 2024, "period": "2024-05"})
    await deliver(engine, other_year)
    await deliver(engine, electricity_factor(value="0.000452", edition="R6-actual-rev", version_id="fv-2",
                                             supersedes="fv-1"))
    by_id = {line["line_id"]: line for line in await lines(engine)}
    assert by_id["act-1"]["co2e_t"] == Decimal("5.424") and by_id["act-1"]["line_revision"] == 2
    assert by_id["act-2"]["co2e_t"] == Decimal("0.452")
    assert by_id["act-3"]["status"] == "pending_factor" and by_id["act-3"]["line_revision"] == 1
    first, second = [r for r in await records(engine) if r["line_id"] == "act-1"]
    assert second["supersedes_audit_record_id"] == first["audit_record_id"]
    assert second["reason"].startswith("new factor version")
    trail = await records(engine, include_market=True)
    assert [r["seq"] for r in trail] == list(range(1, len(trail) + 1))
    assert all(trail[i]["prev_hash"] == trail[i - 1]["hash"] for i in range(1, len(trail)))


async def test_correcting_and_voiding_an_activity_recompute_its_line(engine):
    await deliver(engine, electricity_factor())
    await deliver(engine, electricity_activity())
    corrected = catalog.ActivityCorrected(activity_id="act-1", revision=2, org_unit_id="site-1",
                                          item_code="electricity", period="2025-05", fiscal_year=2025,
                                          amount=Decimal(10), unit="MWh", corrected_by="u1", reason="invoice fix")
    await deliver(engine, corrected)
    assert (await lines(engine))[0]["co2e_t"] == Decimal("4.16")
    await deliver(engine, catalog.ActivityVoided(activity_id="act-1", revision=3, voided_by="u1", reason="dup"))
    [line] = await lines(engine)
    assert (line["status"], line["co2e_t"], line["line_revision"]) == ("voided", Decimal(0), 3)
    statuses = [e.data["status"] for e in await outbox_events(engine)]
    assert statuses == ["calculated", "calculated", "voided"]


async def test_every_event_delivered_twice_changes_nothing(engine):
    events = [electricity_factor(), electricity_activity(), electricity_factor(value="0.0005", version_id="fv-2",
                                                                              edition="rev")]
    ids = [await deliver(engine, e) for e in events]
    async with engine.connect() as conn:
        before = await checksum(conn, tables.READ_MODELS + [tables.messaging.outbox])
    for event, event_id in zip(events, ids):
        await deliver(engine, event, event_id=event_id)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS + [tables.messaging.outbox]) == before


async def test_replaying_the_event_store_rebuilds_lines_and_trail_identically(engine):
    await deliver(engine, electricity_factor())
    for i in range(5):
        await deliver(engine, electricity_activity(activity_id=f"act-{i}", amount=str(1000 + i)))
    await deliver(engine, electricity_factor(value="0.0005", version_id="fv-2", edition="rev"))
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live


async def test_scope_2_gives_a_market_based_line_beside_the_location_based_one(engine):
    await deliver(engine, electricity_factor())
    await deliver(engine, electricity_activity())
    location, market = await lines(engine, include_market=True)
    assert (location["line_id"], location["scope2_method"]) == ("act-1", "location")
    assert (market["line_id"], market["scope2_method"]) == ("act-1:market", "market")
    assert market["co2e_t"] == location["co2e_t"] == Decimal("4.992")
    [market_record] = [r for r in await records(engine, include_market=True) if r["line_id"] == "act-1:market"]
    assert "no market instrument" in market_record["message"]
    trail = await records(engine, include_market=True)
    assert trail[0]["prev_hash"] == GENESIS_HASH
    assert all(trail[i]["prev_hash"] == trail[i - 1]["hash"] for i in range(1, len(trail)))


async def test_a_tampered_audit_record_is_detected_and_named(engine):
    from sqlalchemy import update
    from tanso_calculation.service_layer.audit import verify_chain

    await deliver(engine, electricity_factor())
    for i in range(3):
        await deliver(engine, electricity_activity(activity_id=f"act-{i}"))
    async with engine.connect() as conn:
        assert (await verify_chain(conn, TENANT))["valid"] is True
        victim = (await conn.execute(select(tables.audit_records.c.seq, tables.audit_records.c.record)
                                     .where(tables.audit_records.c.seq == 3))).one()
    forged = {**victim.record, "result_t": "0.001"}
    async with engine.begin() as conn:
        await conn.execute(update(tables.audit_records).where(tables.audit_records.c.seq == 3)
                           .values(record=forged))
    async with engine.connect() as conn:
        report = await verify_chain(conn, TENANT)
    assert (report["valid"], report["first_broken_seq"]) == (False, 3)
    assert "does not match its hash" in report["problem"]


async def test_totals_as_of_a_past_moment_show_the_figures_then_in_force(engine):
    from datetime import timedelta

    from tanso_calculation.service_layer.audit import totals_as_of

    await deliver(engine, electricity_factor())
    await deliver(engine, electricity_activity())
    async with engine.connect() as conn:
        before_update = datetime.fromisoformat((await conn.execute(select(tables.audit_records.c.record)
                                                                   .order_by(tables.audit_records.c.seq.desc()))
                                                ).scalars().first()["computed_at"]) + timedelta(microseconds=1)
    await deliver(engine, electricity_factor(value="0.000452", version_id="fv-2", edition="rev"))
    async with engine.connect() as conn:
        then = await totals_as_of(conn, TENANT, 2025, before_update)
        now = await totals_as_of(conn, TENANT, 2025, None)
    assert (then["total_t"], now["total_t"]) == ("4.992", "5.424")
    assert then["records"][0]["audit_record_id"] != now["records"][0]["audit_record_id"]
