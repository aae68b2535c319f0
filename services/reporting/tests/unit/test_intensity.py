"""F10: revenue from identity (RevenueRecorded), the other denominators entered in reporting, and emissions of
a boundary (scopes, categories, org units) ÷ denominator by scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_devstack.testing import as_principal as as_
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.service_layer.handlers import EVENT_HANDLERS, on_emission_calculated


async def deliver(engine, event, tenant: str = "t1", event_id: str | None = None) -> bool:
    """One Kafka delivery as the consumer runs it: inbox claim and handler in one transaction."""
    meta = EnvelopeMeta(id=event_id or str(uuid.uuid4()), type=event.event_type(), subject="s", tenant_id=tenant,
                        time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if not await claim(uow.conn, tables.messaging, "reporting", meta.id, meta.type):
            return False
        await EVENT_HANDLERS[type(event)](event, meta, uow)
    return True


def revenue(amount: str, *, org_unit: str | None = None, revision: int = 1, tenant: str = "t1",
            fiscal_year: int = 2025) -> catalog.RevenueRecorded:
    return catalog.RevenueRecorded(
        revenue_id=f"{tenant}:{fiscal_year}:{org_unit or 'company'}", revision=revision, tenant_id=tenant,
        fiscal_year=fiscal_year, org_unit_id=org_unit, revenue_million_yen=Decimal(amount),
        recorded_by=f"admin-of-{tenant}")


async def line(engine, line_id: str, co2e: str, scope: int, *, category: int | None = None,
               method: str | None = None, tenant: str = "t1", fiscal_year: int = 2025,
               org_unit: str = "site-1") -> None:
    event = catalog.EmissionCalculated(
        line_id=line_id, line_revision=1, activity_id=line_id, org_unit_id=org_unit, fiscal_year=fiscal_year,
        period="2025-05", item_code="x", scope=scope, scope3_category=category, scope2_method=method,
        co2e_t=Decimal(co2e), status="calculated", reason="r", audit_record_id=f"ar-{line_id}")
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject=line_id, tenant_id=tenant,
                        time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        assert await claim(uow.conn, tables.messaging, "reporting", meta.id, meta.type)
        await on_emission_calculated(event, meta, uow)


async def emissions(engine) -> None:
    await line(engine, "s1", "100", 1)
    await line(engine, "s2l", "50", 2, method="location")
    await line(engine, "s2m", "70", 2, method="market")
    await line(engine, "c1", "300", 3, category=1)
    await line(engine, "c6", "25", 3, category=6)
    await line(engine, "other-tenant", "999", 1, tenant="t2")
    await line(engine, "other-year", "999", 1, fiscal_year=2024)


DENOMINATORS = {"employees": 200, "floor_area_m2": "5000", "production_volume": "120.5", "production_unit": "t"}


async def test_intensity_per_revenue_employee_floor_area_and_production_by_scope(client, engine):
    await emissions(engine)
    await deliver(engine, revenue("1000"))
    r = await client.put("/intensity/2025/denominators", headers=as_("t1", "editor"), json=DENOMINATORS)
    assert r.status_code == 200, r.text
    assert (r.json()["revenue_million_yen"], r.json()["employees"], r.json()["changed"]) == ("1000", "200", True)
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"))).json()
    assert body["revenues"] == [{"org_unit_id": None, "revenue_million_yen": "1000", "revision": 1,
                                 "recorded_by": "admin-of-t1"}]
    assert body["emissions"] == {"unit": "t-CO2e", "total_t": "475", "by_scope": {"1": "100", "2": "50", "3": "325"}}
    by = {i["denominator"]: i for i in body["intensities"]}
    assert (by["revenue_million_yen"]["value"], by["revenue_million_yen"]["unit"]) == ("0.475", "t-CO2e/百万円")
    assert by["revenue_million_yen"]["by_scope"] == {"1": "0.1", "2": "0.05", "3": "0.325"}
    assert (by["employees"]["value"], by["employees"]["unit"]) == ("2.375", "t-CO2e/人")
    assert (by["floor_area_m2"]["value"], by["floor_area_m2"]["unit"]) == ("0.095", "t-CO2e/m²")
    assert by["production_volume"]["unit"] == "t-CO2e/t"
    assert Decimal(by["production_volume"]["value"]) == pytest.approx(Decimal(475) / Decimal("120.5"))
    assert body["disclosable_figure"] == {"kind": "org_intensity", "value": "0.475", "unit": "t-CO2e/百万円"}


async def test_the_boundary_chooses_scopes_categories_and_the_scope2_basis(client, engine):
    await emissions(engine)
    await deliver(engine, revenue("1000"))
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"), params={
        "scopes": [1, 2, 3], "scope3_categories": [1], "scope2_basis": "market"})).json()
    assert body["emissions"]["by_scope"] == {"1": "100", "2": "70", "3": "300"}
    assert body["boundary"] == {"scopes": [1, 2, 3], "scope3_categories": [1], "scope2_basis": "market",
                                "org_units": None}
    assert [i["value"] for i in body["intensities"]] == ["0.47"]
    only12 = (await client.get("/intensity/2025", headers=as_("t1", "viewer"), params={"scopes": [1, 2]})).json()
    assert (only12["emissions"]["total_t"], only12["disclosable_figure"]["value"]) == ("150", "0.15")
    bad = await client.get("/intensity/2025", headers=as_("t1"), params={"scopes": [4]})
    assert bad.status_code == 422 and bad.json()["title"] == "bad_boundary" and bad.json()["detail_ja"]


async def test_without_denominators_the_answer_says_how_to_enter_them(client, engine):
    await emissions(engine)
    r = await client.get("/intensity/2025", headers=as_("t1", "viewer"))
    assert r.status_code == 404 and r.json()["title"] == "no_denominators"
    assert "PUT /api/identity/revenues/2025" in r.json()["detail"] and "PUT /api/identity/revenues/2025" in r.json()[
        "detail_ja"]
    assert "PUT /api/reporting/intensity/2025/denominators" in r.json()["detail"]


async def test_invalid_denominators_are_refused_field_by_field_in_both_languages(client):
    r = await client.put("/intensity/2025/denominators", headers=as_("t1"), json={
        "floor_area_m2": "1,000", "employees": "0", "production_volume": "10"})
    assert r.status_code == 422 and r.json()["title"] == "invalid_denominators"
    problems = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert problems == {("floor_area_m2", "bad_decimal"), ("employees", "zero"),
                        ("production_unit", "required")}
    assert all(e["reason_en"] and e["reason_ja"] for e in r.json()["errors"])
    empty = await client.put("/intensity/2025/denominators", headers=as_("t1"), json={})
    assert [e["code"] for e in empty.json()["errors"]] == ["no_denominator"]
    negative = await client.put("/intensity/2025/denominators", headers=as_("t1"), json={"employees": "-3"})
    assert negative.status_code == 422
    assert (await client.get("/intensity/2025/denominators", headers=as_("t1"))).status_code == 404


async def test_only_admins_and_editors_enter_denominators_and_tenants_never_mix(client, engine):
    for roles in ("viewer", "auditor", "contributor"):
        r = await client.put("/intensity/2025/denominators", headers=as_("t1", roles), json=DENOMINATORS)
        assert r.status_code == 403, roles
    await client.put("/intensity/2025/denominators", headers=as_("t1"), json={"employees": "10"})
    await deliver(engine, revenue("1000"))
    assert (await client.get("/intensity/2025/denominators", headers=as_("t2"))).status_code == 404
    assert (await client.get("/intensity/2025", headers=as_("t2"))).status_code == 404


async def test_a_new_set_replaces_the_old_one_and_the_same_set_again_changes_nothing(client, engine):
    first = (await client.put("/intensity/2025/denominators", headers=as_("t1"), json=DENOMINATORS)).json()
    again = (await client.put("/intensity/2025/denominators", headers=as_("t1"), json=DENOMINATORS)).json()
    assert (first["version"], again["version"], again["changed"]) == (1, 1, False)
    newer = (await client.put("/intensity/2025/denominators", headers=as_("t1"),
                              json={"floor_area_m2": "800"})).json()
    assert (newer["version"], newer["floor_area_m2"], newer["employees"]) == (2, "800", None)
    await deliver(engine, revenue("900"))
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live


# --- revenue from identity ---------------------------------------------------------------------


async def test_revenue_is_refused_in_reportings_put_and_points_to_identity(client, engine):
    r = await client.put("/intensity/2025/denominators", headers=as_("t1"),
                         json={"revenue_million_yen": "1000", "employees": "10"})
    assert r.status_code == 422 and r.json()["title"] == "revenue_in_identity"
    assert "PUT /api/identity/revenues/2025" in r.json()["detail"] and "PUT /api/identity/revenues/2025" in r.json()[
        "detail_ja"]
    assert (await client.get("/intensity/2025/denominators", headers=as_("t1"))).status_code == 404


async def revenue_rows(engine, tenant: str = "t1") -> list[tuple]:
    t = tables.revenues
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.revenue_id, t.c.revision, t.c.revenue_million_yen)
                                  .where(t.c.tenant_id == tenant).order_by(t.c.revenue_id))
        return [tuple(r) for r in rows]


async def stored_revenue_events(engine) -> int:
    e = tables.messaging.events
    async with engine.connect() as conn:
        return len((await conn.execute(select(e.c.event_id).where(e.c.type == "RevenueKnown"))).all())


async def test_a_correction_replaces_the_revenue_and_redelivered_or_stale_copies_change_nothing(client, engine):
    await emissions(engine)
    first = revenue("1000")
    assert await deliver(engine, first, event_id="ev-1")
    assert not await deliver(engine, first, event_id="ev-1")  # redelivery: the inbox refuses it
    await deliver(engine, first)  # republished copy of revision 1 under a new event id
    assert (await revenue_rows(engine), await stored_revenue_events(engine)) == (
        [("t1:2025:company", 1, Decimal(1000))], 1)

    await deliver(engine, revenue("950", revision=2))
    await deliver(engine, first)  # a stale copy arriving after the correction
    assert await revenue_rows(engine) == [("t1:2025:company", 2, Decimal(950))]
    assert await stored_revenue_events(engine) == 2
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"))).json()
    assert body["disclosable_figure"]["value"] == "0.5"  # 475 ÷ 950
    assert body["revenues"][0]["revision"] == 2

    # A revision that skips ahead (an earlier one lost) is still the newest value.
    await deliver(engine, revenue("1900", revision=4))
    assert await revenue_rows(engine) == [("t1:2025:company", 4, Decimal(1900))]
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live


async def test_revenue_of_another_tenant_is_never_taken(client, engine):
    await emissions(engine)
    # tenantid says t1 but the revenue belongs to t2: ignored, not stored for either tenant.
    await deliver(engine, revenue("1000", tenant="t2"), tenant="t1")
    assert await revenue_rows(engine, "t1") == [] and await revenue_rows(engine, "t2") == []
    await deliver(engine, revenue("1000", tenant="t2"), tenant="t2")
    assert (await client.get("/intensity/2025", headers=as_("t1"))).status_code == 404
    assert (await client.get("/intensity/2025", headers=as_("t2"))).json()["disclosable_figure"]["value"] == "0.999"


# --- org-unit boundary -------------------------------------------------------------------------


async def org_unit(engine, unit: str, parent: str | None, kind: str, tenant: str = "t1") -> None:
    await deliver(engine, catalog.OrgUnitRegistered(org_unit_id=unit, parent_id=parent, kind=kind,
                                                    name_ja=f"{unit}の名前"), tenant=tenant)


async def organisation(engine) -> None:
    """company ─ division ─ site-a ─ line-a
                         └ site-b
               └ site-c        (emissions: a 100, line-a 0.3, b 20.05, c 7; revenue: division 600, c 150.5)"""
    await org_unit(engine, "company", None, "company")
    await org_unit(engine, "division", "company", "division")
    await org_unit(engine, "site-a", "division", "site")
    await org_unit(engine, "line-a", "site-a", "line")
    await org_unit(engine, "site-b", "division", "site")
    await org_unit(engine, "site-c", "company", "site")
    await line(engine, "a", "100", 1, org_unit="site-a")
    await line(engine, "a-line", "0.3", 1, org_unit="line-a")
    await line(engine, "b-loc", "20.05", 2, method="location", org_unit="site-b")
    await line(engine, "b-mkt", "30", 2, method="market", org_unit="site-b")
    await line(engine, "c", "7", 3, category=1, org_unit="site-c")
    await line(engine, "c-other-tenant", "999", 3, category=1, org_unit="site-c", tenant="t2")
    await deliver(engine, revenue("1000"))
    await deliver(engine, revenue("600", org_unit="division"))
    await deliver(engine, revenue("150.5", org_unit="site-c"))


async def test_an_org_unit_boundary_divides_the_units_subtree_by_its_revenue_exactly(client, engine):
    await organisation(engine)
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"),
                             params={"org_units": "division"})).json()
    assert body["boundary"]["org_units"] == ["division"]
    assert body["emissions"]["total_t"] == "120.35"  # site-a 100 + its line 0.3 + site-b 20.05 (location)
    assert body["revenues"] == [{"org_unit_id": "division", "name_ja": "divisionの名前",
                                 "revenue_million_yen": "600", "revision": 1, "recorded_by": "admin-of-t1"}]
    [by_revenue] = body["intensities"]  # employees etc. are company-wide and not used for a part of it
    assert by_revenue["denominator"] == "revenue_million_yen" and by_revenue["denominator_value"] == "600"
    expected = Decimal("120.35") / Decimal(600)
    assert by_revenue["value"] == "0.2005833333333333333333333333" == format(expected, "f")
    assert body["disclosable_figure"] == {"kind": "org_intensity", "value": by_revenue["value"],
                                          "unit": "t-CO2e/百万円"}

    both = (await client.get("/intensity/2025", headers=as_("t1", "viewer"),
                             params={"org_units": "division,site-c", "scope2_basis": "market"})).json()
    assert both["emissions"]["by_scope"] == {"1": "100.3", "2": "30", "3": "7"}
    assert both["denominators"]["revenue_million_yen"] == "750.5"
    assert Decimal(both["intensities"][0]["value"]) == Decimal("137.3") / Decimal("750.5")
    assert both["intensities"][0]["by_scope"]["3"] == format(Decimal(7) / Decimal("750.5"), "f")

    # The company's own unit is the whole company, with the company's revenue.
    whole = (await client.get("/intensity/2025", headers=as_("t1"), params={"org_units": "company"})).json()
    plain = (await client.get("/intensity/2025", headers=as_("t1"))).json()
    assert whole["emissions"]["total_t"] == plain["emissions"]["total_t"] == "127.35"
    assert whole["disclosable_figure"] == plain["disclosable_figure"] == {
        "kind": "org_intensity", "value": "0.12735", "unit": "t-CO2e/百万円"}


async def test_a_unit_without_revenue_unknown_or_nested_units_are_refused_with_what_to_do(client, engine):
    await organisation(engine)
    r = await client.get("/intensity/2025", headers=as_("t1"), params={"org_units": "site-c,site-b"})
    assert r.status_code == 404 and r.json()["title"] == "no_revenue"
    assert r.json()["org_unit_ids"] == ["site-b"]
    assert "site-bの名前 (site-b)" in r.json()["detail"] and "site-b" in r.json()["detail_ja"]
    assert 'PUT /api/identity/revenues/2025 {"revenue_million_yen": "…", "org_unit_id": "site-b"}' in r.json()[
        "detail"]

    r = await client.get("/intensity/2025", headers=as_("t1"), params={"org_units": "site-a,nowhere"})
    assert r.status_code == 404 and r.json()["title"] == "unknown_org_unit"
    assert r.json()["org_unit_ids"] == ["nowhere"] and "GET /api/identity/org-units" in r.json()["detail"]
    # Another tenant's unit is unknown too.
    await org_unit(engine, "theirs", None, "company", tenant="t2")
    r = await client.get("/intensity/2025", headers=as_("t1"), params={"org_units": "theirs"})
    assert r.status_code == 404 and r.json()["title"] == "unknown_org_unit"

    r = await client.get("/intensity/2025", headers=as_("t1"), params={"org_units": "division,site-a"})
    assert r.status_code == 422 and r.json()["title"] == "nested_org_units"
    assert r.json()["nested"] == [{"org_unit_id": "site-a", "inside": "division"}] and r.json()["detail_ja"]
