"""F10: intensity denominators per tenant and fiscal year, and emissions ÷ denominator by scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.service_layer.handlers import on_emission_calculated

from .conftest import as_


async def line(engine, line_id: str, co2e: str, scope: int, *, category: int | None = None,
               method: str | None = None, tenant: str = "t1", fiscal_year: int = 2025) -> None:
    event = catalog.EmissionCalculated(
        line_id=line_id, line_revision=1, activity_id=line_id, org_unit_id="site-1", fiscal_year=fiscal_year,
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


DENOMINATORS = {"revenue_million_yen": "1000", "employees": 200, "floor_area_m2": "5000",
                "production_volume": "120.5", "production_unit": "t"}


async def test_intensity_per_revenue_employee_floor_area_and_production_by_scope(client, engine):
    await emissions(engine)
    r = await client.put("/intensity/2025/denominators", headers=as_("t1", "editor"), json=DENOMINATORS)
    assert r.status_code == 200, r.text
    assert (r.json()["revenue_million_yen"], r.json()["employees"], r.json()["changed"]) == ("1000", "200", True)
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"))).json()
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
    await client.put("/intensity/2025/denominators", headers=as_("t1"), json={"revenue_million_yen": "1000"})
    body = (await client.get("/intensity/2025", headers=as_("t1", "viewer"), params={
        "scopes": [1, 2, 3], "scope3_categories": [1], "scope2_basis": "market"})).json()
    assert body["emissions"]["by_scope"] == {"1": "100", "2": "70", "3": "300"}
    assert body["boundary"] == {"scopes": [1, 2, 3], "scope3_categories": [1], "scope2_basis": "market"}
    assert [i["value"] for i in body["intensities"]] == ["0.47"]
    only12 = (await client.get("/intensity/2025", headers=as_("t1", "viewer"), params={"scopes": [1, 2]})).json()
    assert (only12["emissions"]["total_t"], only12["disclosable_figure"]["value"]) == ("150", "0.15")
    bad = await client.get("/intensity/2025", headers=as_("t1"), params={"scopes": [4]})
    assert bad.status_code == 422 and bad.json()["title"] == "bad_boundary" and bad.json()["detail_ja"]


async def test_without_denominators_the_answer_says_how_to_enter_them(client, engine):
    await emissions(engine)
    r = await client.get("/intensity/2025", headers=as_("t1", "viewer"))
    assert r.status_code == 404 and r.json()["title"] == "no_denominators"
    assert "PUT /api/reporting/intensity/2025/denominators" in r.json()["detail"] and r.json()["detail_ja"]


async def test_invalid_denominators_are_refused_field_by_field_in_both_languages(client):
    r = await client.put("/intensity/2025/denominators", headers=as_("t1"), json={
        "revenue_million_yen": "1,000", "employees": "0", "production_volume": "10"})
    assert r.status_code == 422 and r.json()["title"] == "invalid_denominators"
    problems = {(e["field"], e["code"]) for e in r.json()["errors"]}
    assert problems == {("revenue_million_yen", "bad_decimal"), ("employees", "zero"),
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
    await client.put("/intensity/2025/denominators", headers=as_("t1"), json={"revenue_million_yen": "1000"})
    assert (await client.get("/intensity/2025/denominators", headers=as_("t2"))).status_code == 404
    assert (await client.get("/intensity/2025", headers=as_("t2"))).status_code == 404


async def test_a_new_set_replaces_the_old_one_and_the_same_set_again_changes_nothing(client, engine):
    first = (await client.put("/intensity/2025/denominators", headers=as_("t1"), json=DENOMINATORS)).json()
    again = (await client.put("/intensity/2025/denominators", headers=as_("t1"), json=DENOMINATORS)).json()
    assert (first["version"], again["version"], again["changed"]) == (1, 1, False)
    newer = (await client.put("/intensity/2025/denominators", headers=as_("t1"),
                              json={"revenue_million_yen": "800"})).json()
    assert (newer["version"], newer["revenue_million_yen"], newer["employees"]) == (2, "800", None)
    async with engine.connect() as conn:
        live = await checksum(conn, tables.READ_MODELS)
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, tables.READ_MODELS) == live
