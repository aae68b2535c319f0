"""F19 supplier analysis from granted disclosures; F23: only the buyer it was granted to ever sees one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tanso_devstack.testing import as_principal as as_
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.service_layer.handlers import (
    EVENT_HANDLERS,
    on_disclosure_granted,
    on_tenant_registered,
)

BUYER, SUPPLIER, SUPPLIER2, STRANGER = "t-buyer", "t-supplier", "t-supplier-2", "t-stranger"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def figure(kind: str, value: str, unit: str = "t-CO2e", **kw) -> catalog.DisclosedFigure:
    return catalog.DisclosedFigure(kind=kind, value=Decimal(value), unit=unit, **kw)


FIGURES = [
    figure("scope_total", "1200.5", scope=1, audit_hashes=["a" * 64]),
    figure("scope_total", "830", scope=2),
    figure("scope3_category", "15000.25", scope3_category=1),
    figure("scope3_category", "400", "kg-CO2e", scope3_category=4),
    figure("org_intensity", "2.5", "t-CO2e/百万円"),
    figure("product_footprint", "3.2", "kg-CO2e/個", product_id="bolt-m8"),
]


def granted(disclosure_id="d-1", *, supplier=SUPPLIER, buyer=BUYER, figures=FIGURES, supersedes=None,
            fiscal_year=2025) -> catalog.DisclosureGranted:
    return catalog.DisclosureGranted(
        disclosure_id=disclosure_id, supplier_tenant_id=supplier, buyer_tenant_id=buyer, fiscal_year=fiscal_year,
        figures=figures, supersedes_disclosure_id=supersedes, signature_jws=f"h.p-{disclosure_id}.s")


async def deliver(engine, event, *, event_id=None, tenant=None, at=T0) -> bool:
    subject = getattr(event, "disclosure_id", None) or event.tenant_id
    meta = EnvelopeMeta(id=event_id or str(uuid.uuid4()), type=event.event_type(), subject=subject,
                        tenant_id=tenant or getattr(event, "supplier_tenant_id", subject), time=at)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if not await claim(uow.conn, tables.messaging, "reporting", meta.id, meta.type):
            return False
        await EVENT_HANDLERS[type(event)](event, meta, uow)
    return True


async def analysis(client, tenant=BUYER, year=2025) -> dict:
    r = await client.get(f"/supplier-analysis/{year}", headers=as_(tenant, "viewer"))
    assert r.status_code == 200, r.text
    return r.json()


def test_reporting_consumes_disclosures_and_tenant_names():
    assert EVENT_HANDLERS[catalog.DisclosureGranted] is on_disclosure_granted
    assert EVENT_HANDLERS[catalog.TenantRegistered] is on_tenant_registered


async def test_the_buyer_sees_its_suppliers_disclosed_scopes_categories_intensity_and_products(client, engine):
    await deliver(engine, catalog.TenantRegistered(tenant_id=SUPPLIER, company_name="部品工業株式会社",
                                                   fiscal_year_start_month=4))
    await deliver(engine, granted())
    body = await analysis(client)
    [s] = body["suppliers"]
    assert (s["supplier_tenant_id"], s["company_name"], s["disclosure_ids"]) == (SUPPLIER, "部品工業株式会社", ["d-1"])
    assert s["scope_totals_t"] == {"1": "1200.5", "2": "830", "3": "15000.65"}  # scope 3 = sum of categories
    assert s["scope3_from_categories"] is True
    assert s["scope3_categories_t"] == {"1": "15000.25", "4": "0.4"}  # 400 kg → 0.4 t
    assert s["total_t"] == "17031.15"
    assert s["intensities"] == [{"value": "2.5", "unit": "t-CO2e/百万円"}]
    assert s["product_footprints"] == [{"product_id": "bolt-m8", "value": "3.2", "unit": "kg-CO2e/個",
                                        "disclosure_id": "d-1"}]
    assert s["disclosure_urls"] == ["/api/supplier-exchange/disclosures/d-1"]
    assert body["disclosed_totals_t"] == {"1": "1200.5", "2": "830", "3": "15000.65"}


async def test_f23_nobody_but_the_buyer_sees_a_disclosure(client, engine):
    await deliver(engine, granted())
    assert len((await analysis(client, BUYER))["suppliers"]) == 1
    assert (await analysis(client, SUPPLIER))["suppliers"] == []  # not the supplier that granted it
    assert (await analysis(client, STRANGER))["suppliers"] == []  # not a third tenant
    # An event whose tenantid is not the granting supplier is refused outright.
    await deliver(engine, granted("d-forged", supplier=SUPPLIER2, buyer=STRANGER), tenant=STRANGER)
    assert (await analysis(client, STRANGER))["suppliers"] == []


async def test_redelivery_changes_nothing(client, engine):
    event_id = str(uuid.uuid4())
    assert await deliver(engine, granted(), event_id=event_id)
    async with engine.connect() as conn:
        before = await checksum(conn, [*tables.READ_MODELS, tables.messaging.events])
    assert not await deliver(engine, granted(), event_id=event_id)  # same id: the inbox drops it
    assert await deliver(engine, granted())  # republished with a new id: the stream already exists
    tenant = catalog.TenantRegistered(tenant_id=SUPPLIER, company_name="部品工業", fiscal_year_start_month=4)
    assert await deliver(engine, tenant)
    async with engine.connect() as conn:
        before = await checksum(conn, [*tables.READ_MODELS, tables.messaging.events])
    assert await deliver(engine, tenant)  # a second copy of the tenant's registration
    async with engine.connect() as conn:
        assert await checksum(conn, [*tables.READ_MODELS, tables.messaging.events]) == before


@pytest.mark.parametrize("order", ["in order", "correction first"])
async def test_a_correction_replaces_the_disclosure_it_corrects(client, engine, order):
    original = granted("d-1")
    correction = granted("d-2", supersedes="d-1", figures=[figure("scope_total", "1100", scope=1),
                                                           figure("org_intensity", "2.25", "t-CO2e/百万円")])
    pairs = [(original, T0), (correction, T0 + timedelta(days=1))]
    for event, at in (pairs if order == "in order" else reversed(pairs)):
        await deliver(engine, event, at=at)
    [s] = (await analysis(client))["suppliers"]
    assert (s["disclosure_ids"], s["superseded_disclosure_ids"]) == (["d-2"], ["d-1"])
    assert (s["scope_totals_t"], s["intensities"]) == ({"1": "1100"}, [{"value": "2.25", "unit": "t-CO2e/百万円"}])


async def test_suppliers_and_years_are_kept_apart(client, engine):
    await deliver(engine, granted("d-1"))
    await deliver(engine, granted("d-2", supplier=SUPPLIER2, figures=[figure("scope_total", "10", scope=2)]))
    await deliver(engine, granted("d-3", fiscal_year=2024, figures=[figure("scope_total", "99", scope=1)]))
    body = await analysis(client)
    assert [s["supplier_tenant_id"] for s in body["suppliers"]] == [SUPPLIER, SUPPLIER2]
    assert body["suppliers"][1]["scope_totals_t"] == {"2": "10"} and body["suppliers"][1]["company_name"] is None
    assert body["disclosed_totals_t"]["2"] == "840"
    [y2024] = (await analysis(client, year=2024))["suppliers"]
    assert y2024["scope_totals_t"] == {"1": "99"}


async def test_replay_rebuilds_the_supplier_analysis_identically(client, engine):
    await deliver(engine, catalog.TenantRegistered(tenant_id=SUPPLIER, company_name="部品工業",
                                                   fiscal_year_start_month=4))
    await deliver(engine, granted("d-2", supersedes="d-1"), at=T0 + timedelta(days=1))
    await deliver(engine, granted("d-1"))
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live
