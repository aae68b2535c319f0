"""F5: a granted disclosure's organisation intensity becomes a factor of the buyer it was granted to."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import Envelope, EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_factors.adapters import tables
from tanso_factors.service_layer.handlers import EVENT_HANDLERS
from tanso_factors.service_layer.supplier_intensity import (
    on_disclosure_granted,
    supplier_factor_code,
)

BUYER, SUPPLIER, STRANGER = "tenant-buyer", "tenant-supplier", "tenant-stranger"
CODE = supplier_factor_code(SUPPLIER)
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def disclosure(disclosure_id: str = "d-1", *, value="2.5", unit="t-CO2e/百万円", fiscal_year=2025,
               supersedes: str | None = None, intensity: bool = True) -> catalog.DisclosureGranted:
    figures = [catalog.DisclosedFigure(kind="scope_total", scope=1, value=Decimal("1200.5"), unit="t-CO2e")]
    if intensity:
        figures.append(catalog.DisclosedFigure(kind="org_intensity", value=Decimal(value), unit=unit))
    return catalog.DisclosureGranted(
        disclosure_id=disclosure_id, supplier_tenant_id=SUPPLIER, buyer_tenant_id=BUYER, fiscal_year=fiscal_year,
        figures=figures, supersedes_disclosure_id=supersedes, signature_jws=f"header.payload-{disclosure_id}.sig")


async def deliver(uow, event, *, event_id: str | None = None, tenant: str = SUPPLIER, at: datetime = T0) -> bool:
    """As the consumer does it: inbox claim + handler in one transaction; False for a duplicate id."""
    meta = EnvelopeMeta(id=event_id or str(uuid.uuid4()), type=event.event_type(), subject=event.disclosure_id,
                        tenant_id=tenant, time=at)
    async with uow() as u:
        if not await claim(u.conn, tables.messaging, "factors", meta.id, meta.type):
            return False
        await on_disclosure_granted(event, meta, u)
    return True


async def versions(engine, tenant: str = BUYER) -> list[dict]:
    t = tables.factor_versions
    async with engine.connect() as conn:
        rows = await conn.execute(select(t).where(t.c.tenant_scope == tenant, t.c.code == CODE)
                                  .order_by(t.c.stream_version))
        return [dict(r._mapping) for r in rows]


async def published(engine) -> list[Envelope]:
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o.c.payload).order_by(o.c.position))).scalars().all()
    return [Envelope.model_validate_json(p) for p in rows]


def test_the_factors_service_consumes_disclosure_granted():
    assert EVENT_HANDLERS == {catalog.DisclosureGranted: on_disclosure_granted}


async def test_the_intensity_becomes_a_buyer_private_factor_with_the_disclosure_as_source(uow, engine):
    event = disclosure()
    await deliver(uow, event)
    [v] = await versions(engine)
    sha = hashlib.sha256(event.signature_jws.encode()).hexdigest()
    assert (v["value"], v["value_unit"], v["activity_unit"], v["scope"], v["scope3_category"]) == (
        Decimal("2.5"), "t-CO2e/百万円", "百万円", 3, 1)
    assert (v["source_id"], v["edition"], v["valid_from_fy"], v["valid_to_fy"], v["status"]) == (
        "disclosure-d-1", "2025", 2025, 2025, "VERIFIED")
    assert v["sources"] == f"disclosure:d-1;jws-sha256:{sha}" and sha in v["note"]
    [envelope] = await published(engine)
    assert (envelope.type, envelope.tenantid, envelope.subject) == (
        catalog.FactorPublished.event_type(), BUYER, CODE)
    fact = catalog.FactorPublished.model_validate(envelope.data)
    assert (fact.factor_code, fact.value, fact.edition, fact.factor_version_id) == (
        CODE, Decimal("2.5"), "2025", v["factor_version_id"])
    # Nobody else has it: not the supplier, not a third tenant.
    assert await versions(engine, SUPPLIER) == [] and await versions(engine, STRANGER) == []


async def test_redelivery_changes_nothing(uow, engine):
    event = disclosure()
    first = str(uuid.uuid4())
    assert await deliver(uow, event, event_id=first)
    async with engine.connect() as conn:
        before = await checksum(conn, [tables.factor_versions, tables.messaging.outbox])
    assert not await deliver(uow, event, event_id=first)  # same event id: the inbox drops it
    assert await deliver(uow, event)  # a republished copy with a new id: the stream already has it
    async with engine.connect() as conn:
        assert await checksum(conn, [tables.factor_versions, tables.messaging.outbox]) == before
    assert len(await versions(engine)) == 1 and len(await published(engine)) == 1


async def test_a_correction_supersedes_the_earlier_version(uow, engine):
    await deliver(uow, disclosure("d-1", value="2.5"))
    await deliver(uow, disclosure("d-2", value="2.25", supersedes="d-1"), at=T0 + timedelta(days=1))
    old, new = await versions(engine)
    assert (old["value"], old["superseded_by"]) == (Decimal("2.5"), new["factor_version_id"])
    assert (new["value"], new["supersedes"], new["superseded_by"], new["source_id"]) == (
        Decimal("2.25"), old["factor_version_id"], None, "disclosure-d-2")
    assert "correcting d-1" in new["note"]


async def test_a_correction_arriving_first_is_not_overridden_by_the_disclosure_it_corrects(uow, engine):
    # Disclosures are keyed by their own ids, so the two may arrive in either order.
    await deliver(uow, disclosure("d-2", value="2.25", supersedes="d-1"), at=T0 + timedelta(days=1))
    await deliver(uow, disclosure("d-1", value="2.5"), at=T0)
    [only] = await versions(engine)
    assert (only["value"], only["source_id"]) == (Decimal("2.25"), "disclosure-d-2")


async def test_a_correction_of_a_correction_arriving_first_wins_over_the_original(uow, engine):
    await deliver(uow, disclosure("d-3", value="2.0", supersedes="d-2"), at=T0 + timedelta(days=2))
    await deliver(uow, disclosure("d-1", value="2.5"), at=T0)
    await deliver(uow, disclosure("d-2", value="2.25", supersedes="d-1"), at=T0 + timedelta(days=1))
    assert [v["value"] for v in await versions(engine)] == [Decimal("2.0")]


async def test_fiscal_years_are_separate_editions_and_do_not_supersede_each_other(uow, engine):
    await deliver(uow, disclosure("d-24", value="3", fiscal_year=2024))
    await deliver(uow, disclosure("d-25", value="2.5", fiscal_year=2025), at=T0 + timedelta(days=1))
    rows = await versions(engine)
    assert [(v["edition"], v["valid_from_fy"], v["valid_to_fy"], v["superseded_by"]) for v in rows] == [
        ("2024", 2024, 2024, None), ("2025", 2025, 2025, None)]


async def test_money_intensities_in_other_units_are_converted_exactly(uow, engine):
    await deliver(uow, disclosure(value="0.0025", unit="kg-CO2e/円"))
    [v] = await versions(engine)
    # 0.0025 kg per yen = 2.5 t per million yen
    assert (v["value"], v["value_unit"], v["status"]) == (Decimal("2.5"), "t-CO2e/百万円", "DERIVED")


async def test_no_factor_without_a_money_intensity(uow, engine):
    await deliver(uow, disclosure("d-1", intensity=False))
    await deliver(uow, disclosure("d-2", value="3.1", unit="t-CO2e/人"))  # per employee: not a spend factor
    assert await versions(engine) == [] and await published(engine) == []


async def test_an_event_not_addressed_to_its_supplier_is_ignored(uow, engine):
    await deliver(uow, disclosure(), tenant=STRANGER)
    assert await versions(engine) == [] and await versions(engine, STRANGER) == []


async def test_replay_rebuilds_the_factor_read_model_identically(uow, engine):
    await deliver(uow, disclosure("d-1", value="2.5"))
    await deliver(uow, disclosure("d-2", value="2.25", supersedes="d-1"), at=T0 + timedelta(days=1))
    async with engine.connect() as conn:
        live = await checksum(conn, [tables.factor_versions])
    from tanso_factors.adapters.projections import PROJECTIONS

    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, [tables.factor_versions]) == live
