"""Golden tests: one or more per method and Scope 3 category, with published factor values.

Factor values are those in docs/methodology.md (MOE 排出原単位DB Ver.3.6, SHK lists, IPCC AR5 GWP);
where the handbook gives no public value the test uses a tenant-private factor, as a user would.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_calculation.adapters import tables
from tanso_calculation.adapters.projections import PROJECTIONS
from tanso_calculation.domain.logic import LogicItem
from tanso_calculation.service_layer import logic
from tanso_events import catalog
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal

from .test_emission_lines import TENANT, deliver, engine  # noqa: F401  (engine is a fixture)

ADMIN = Principal(subject="admin-1", tenant_id=TENANT, roles=frozenset({"admin"}))
FY = 2025


def factor(code: str, value: str, value_unit: str, *, tenant_private=False, version=None, edition="test"):
    activity_unit = value_unit.split("/", 1)[1]
    event = catalog.FactorPublished(
        factor_version_id=version or f"{code}@{edition}", factor_code=code, name_ja=code, name_en=code,
        category="scope3", scope=3, activity_unit=activity_unit, value=Decimal(value), value_unit=value_unit,
        source_id="test", source_title_ja="テスト", source_title_en="test", edition=edition, valid_from_fy=2020,
        status="VERIFIED", content_sha256="x")
    return event, (TENANT if tenant_private else catalog.PLATFORM_TENANT)


async def set_item(engine, **fields) -> None:
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await logic.set_item(uow, ADMIN, FY, LogicItem(**fields))


async def record(engine, item_code: str, amount: str, unit: str, activity_id: str | None = None) -> str:
    activity_id = activity_id or str(uuid.uuid4())
    await deliver(engine, catalog.ActivityRecorded(
        activity_id=activity_id, org_unit_id="site-1", item_code=item_code, period="2025-06", fiscal_year=FY,
        amount=Decimal(amount), unit=unit, recorded_by="u1"))
    return activity_id


async def line(engine, line_id: str):
    async with engine.connect() as conn:
        return (await conn.execute(select(tables.lines).where(tables.lines.c.line_id == line_id))).mappings().one()


async def publish(engine, *factors) -> None:
    for event, tenant in factors:
        await deliver(engine, event, tenant=tenant)


CASES = [
    # (item definition, factor (code, value, unit, private?), amount, unit, expected t-CO2e)
    pytest.param(dict(item_code="air_domestic", name_ja="国内線航空運賃", name_en="Domestic air fares", unit="円",
                      scope=3, scope3_category=6, method="travel_spend", factor_code="moe.idb.travel.air_domestic"),
                 ("moe.idb.travel.air_domestic", "0.005250", "kg-CO2/円", False), "1000000", "円", "5.25",
                 id="cat6-travel-spend-domestic-air-1M-yen"),
    pytest.param(dict(item_code="hotel", name_ja="宿泊", name_en="Hotel nights", unit="泊", scope=3,
                      scope3_category=6, method="travel_nights", factor_code="moe.idb.hotel.night"),
                 ("moe.idb.hotel.night", "31.532238", "kg-CO2/泊", False), "10", "泊", "0.31532238",
                 id="cat6-hotel-nights"),
    pytest.param(dict(item_code="staff", name_ja="従業員（出張）", name_en="Employees (business travel)",
                      unit="人・年", scope=3, scope3_category=6, method="employees",
                      factor_code="moe.idb.employees.person_year"),
                 ("moe.idb.employees.person_year", "0.130373", "t-CO2/人・年", False), "100", "人・年", "13.0373",
                 id="cat6-employees"),
    pytest.param(dict(item_code="commute", name_ja="通勤（オフィス・大都市）", name_en="Commuting (office, large city)",
                      unit="人・日", scope=3, scope3_category=7, method="commuting",
                      factor_code="moe.idb.commute.office.large_city"),
                 ("moe.idb.commute.office.large_city", "0.984721", "kg-CO2/人・日", False), "2000", "人・日",
                 "1.969442", id="cat7-commuting-working-days"),
    pytest.param(dict(item_code="capex", name_ja="設備投資（農林水産業）", name_en="Capital goods (agriculture)",
                      unit="百万円", scope=3, scope3_category=2, method="spend_x_factor", factor_code="moe.idb.capex.01"),
                 ("moe.idb.capex.01", "4.0711", "t-CO2e/百万円", False), "100", "百万円", "407.11",
                 id="cat2-capital-goods-spend"),
    pytest.param(dict(item_code="steel", name_ja="購入鋼材", name_en="Purchased steel", unit="t", scope=3,
                      scope3_category=1, method="quantity_x_factor", factor_code="tenant.steel"),
                 ("tenant.steel", "2.1", "t-CO2e/t", True), "50", "t", "105", id="cat1-quantity-based"),
    pytest.param(dict(item_code="supplier_a", name_ja="A社からの購入", name_en="Purchases from supplier A",
                      unit="百万円", scope=3, scope3_category=1, method="supplier_specific",
                      factor_code="tenant.supplier_a.intensity"),
                 ("tenant.supplier_a.intensity", "2.5", "t-CO2e/百万円", True), "40", "百万円", "100",
                 id="cat1-supplier-specific-intensity"),
    pytest.param(dict(item_code="rail_freight", name_ja="鉄道輸送", name_en="Rail freight", unit="tkm", scope=3,
                      scope3_category=4, method="ton_km", factor_code="moe.idb.tkm.rail"),
                 ("moe.idb.tkm.rail", "0.000022", "t-CO2/tkm", False), "10000", "tkm", "0.22",
                 id="cat4-ton-km-rail"),
    pytest.param(dict(item_code="waste_plastic", name_ja="廃プラスチック（焼却）", name_en="Waste plastics, incinerated",
                      unit="t", scope=3, scope3_category=5, method="waste_treatment",
                      factor_code="moe.idb.waste.incineration.plastic_general"),
                 ("moe.idb.waste.incineration.plastic_general", "2.76", "t-CO2/t", False), "3", "t", "8.28",
                 id="cat5-waste-by-treatment"),
    pytest.param(dict(item_code="leased_office", name_ja="リース事務所", name_en="Leased office", unit="m²・年",
                      scope=3, scope3_category=8, method="floor_area", factor_code="tenant.office.per_m2"),
                 ("tenant.office.per_m2", "0.1", "t-CO2e/m²・年", True), "1000", "m²・年", "100",
                 id="cat8-floor-area"),
    pytest.param(dict(item_code="fridge_use", name_ja="冷蔵庫の使用（電力）", name_en="Fridge use phase (power)", unit="台",
                      scope=3, scope3_category=11, method="use_phase_energy", factor_code="shk.electricity.substitute",
                      quantity_unit="kWh", params={"lifetime_years": "10", "energy_per_unit_year": "300"}),
                 ("shk.electricity.substitute", "0.000416", "t-CO2/kWh", False), "1000", "台", "1248",
                 id="cat11-units-x-lifetime-x-annual-energy"),
    pytest.param(dict(item_code="aircon_leak", name_ja="エアコンの冷媒漏えい", name_en="Air conditioner refrigerant",
                      unit="台", scope=3, scope3_category=11, method="use_phase_gas", factor_code="gwp.ar5.hfc-32",
                      quantity_unit="kg", params={"gas_content_per_unit": "0.5", "emission_rate": "0.2"}),
                 ("gwp.ar5.hfc-32", "677", "t-CO2e/t", False), "500", "台", "33.85",
                 id="cat11-gas-content-x-emission-rate-x-gwp"),
    pytest.param(dict(item_code="investee_x", name_ja="出資先X社", name_en="Investee X", unit="t-CO2e", scope=3,
                      scope3_category=15, method="investment_share", params={"ownership_share": "0.3"}),
                 None, "10000", "t-CO2e", "3000", id="cat15-ownership-share"),
]


@pytest.mark.parametrize(("item", "factor_spec", "amount", "unit", "expected"), CASES)
async def test_each_method_gives_the_published_figure(engine, item, factor_spec, amount, unit, expected):
    if factor_spec:
        code, value, value_unit, private = factor_spec
        await publish(engine, factor(code, value, value_unit, tenant_private=private))
    await set_item(engine, **item)
    activity_id = await record(engine, item["item_code"], amount, unit)
    result = await line(engine, activity_id)
    assert (result["status"], result["co2e_t"]) == ("calculated", Decimal(expected)), result["message"]
    assert result["scope"] == 3 and result["scope3_category"] == item["scope3_category"]


async def test_scope_2_market_based_uses_the_suppliers_adjusted_factor(engine):
    await publish(engine, factor("shk.electricity.substitute", "0.000416", "t-CO2/kWh"),
                  factor("jp.electricity.tepco_ep.residual.adjusted", "0.000452", "t-CO2/kWh"))
    await set_item(engine, item_code="electricity", name_ja="電力", name_en="Electricity", unit="kWh", scope=2,
                   energy_type="electricity", method="purchased_energy", factor_code="shk.electricity.substitute",
                   market_factor_code="jp.electricity.tepco_ep.residual.adjusted")
    activity_id = await record(engine, "electricity", "120000", "kWh")
    assert (await line(engine, activity_id))["co2e_t"] == Decimal("49.92")
    assert (await line(engine, f"{activity_id}:market"))["co2e_t"] == Decimal("54.24")


async def test_category_3_is_derived_from_scope_1_and_2_energy_with_the_upstream_factor(engine):
    await publish(engine, factor("shk.fuel.city_gas", "2.05", "t-CO2/千m3"),
                  factor("tenant.upstream.city_gas", "0.3", "t-CO2e/千m3", tenant_private=True))
    await set_item(engine, item_code="city_gas", name_ja="都市ガス", name_en="City gas", unit="千m3", scope=1,
                   energy_type="city_gas", method="fuel_combustion", factor_code="shk.fuel.city_gas",
                   upstream_factor_code="tenant.upstream.city_gas")
    activity_id = await record(engine, "city_gas", "100", "千m3")
    assert (await line(engine, activity_id))["co2e_t"] == Decimal(205)
    derived = await line(engine, f"{activity_id}:cat3")
    assert (derived["scope"], derived["scope3_category"], derived["co2e_t"]) == (3, 3, Decimal(30))


async def test_changing_an_items_factor_recomputes_its_lines_with_the_reason(engine):
    await publish(engine, factor("moe.idb.travel.air_domestic", "0.005250", "kg-CO2/円"),
                  factor("tenant.air", "0.006", "kg-CO2/円", tenant_private=True))
    item = dict(item_code="air", name_ja="航空", name_en="Air", unit="円", scope=3, scope3_category=6,
                method="travel_spend", factor_code="moe.idb.travel.air_domestic")
    await set_item(engine, **item)
    activity_id = await record(engine, "air", "1000000", "円")
    await set_item(engine, **{**item, "factor_code": "tenant.air"})
    result = await line(engine, activity_id)
    assert (result["co2e_t"], result["line_revision"], result["logic_version"]) == (Decimal(6), 2, 3)
    async with engine.connect() as conn:
        record_ = (await conn.execute(select(tables.audit_records.c.record).where(
            tables.audit_records.c.audit_record_id == result["audit_record_id"]))).scalar()
    assert record_["reason"] == "logic changed: item air" and record_["logic"]["factor_code"] == "tenant.air"


async def test_a_tenant_private_factor_is_invisible_to_other_tenants(engine):
    await publish(engine, factor("tenant.steel", "2.1", "t-CO2e/t", tenant_private=True))
    other = Principal(subject="x", tenant_id="tenant-b", roles=frozenset({"admin"}))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await logic.set_item(uow, other, FY, LogicItem(item_code="steel", name_ja="鋼材", name_en="Steel", unit="t",
                                                       scope=3, scope3_category=1, method="quantity_x_factor",
                                                       factor_code="tenant.steel"))
    activity_id = str(uuid.uuid4())
    await deliver(engine, catalog.ActivityRecorded(
        activity_id=activity_id, org_unit_id="s", item_code="steel", period="2025-06", fiscal_year=FY,
        amount=Decimal(1), unit="t", recorded_by="x"), tenant="tenant-b")
    assert (await line(engine, activity_id))["status"] == "pending_factor"


async def test_copying_last_years_logic_and_removing_an_item_voids_its_lines(engine):
    await publish(engine, factor("moe.idb.hotel.night", "31.532238", "kg-CO2/泊"))
    item = dict(item_code="hotel", name_ja="宿泊", name_en="Hotel", unit="泊", scope=3, scope3_category=6,
                method="travel_nights", factor_code="moe.idb.hotel.night")
    await set_item(engine, **item)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await logic.copy_logic(uow, ADMIN, FY + 1, str(FY))
        items, version, copied_from = await logic.current_items(uow, TENANT, FY + 1)
    assert "hotel" in {i.item_code for i in items} and copied_from == str(FY) and version == 1
    activity_id = await record(engine, "hotel", "2", "泊")
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await logic.remove_item(uow, ADMIN, FY, "hotel")
    assert (await line(engine, activity_id))["status"] == "error"


def test_an_item_that_misses_its_methods_parameters_is_refused():
    with pytest.raises(ValueError, match="needs the parameters"):
        LogicItem(item_code="x", name_ja="x", name_en="x", unit="台", scope=3, scope3_category=11,
                  method="use_phase_energy", factor_code="f", quantity_unit="kWh", params={"lifetime_years": "10"})
