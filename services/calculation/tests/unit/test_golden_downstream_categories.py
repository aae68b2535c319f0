"""Golden tests for the downstream Scope 3 categories 10, 12, 13 and 14, worked by hand from the handbook.

Each test follows the handbook's 算定ロジック for its category (Scope 3 handbook, sections 14, 18, 19
and 21), computes the figure by hand in its docstring, then records the activities through the
calculation service (logic items, ``FactorPublished``, ``ActivityRecorded`` consumed like Kafka
delivers it) and compares every line and the category total with ``Decimal`` equality.

Factor values: MOE 排出原単位DB Ver.3.6 sheet [8] (廃棄物, SECONDARY in
services/factors/src/tanso_factors/data/moe-idb/Ver3.6/factors.csv), the SHK electricity substitute
value (0.000416 t-CO2/kWh, R6 actual) and SHK fuels (軽油 2.62 t-CO2/kL, 都市ガス 2.05 t-CO2/千m3,
R6-2024 list). Sheet [16] 建物 (per floor area) has no verified public value, and processing factors
come from the customer (the processor), so those are tenant-private factors, as a user would enter them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from tanso_calculation.adapters import tables

from . import test_emission_lines
from .test_methods_golden import factor, line, publish, record, set_item

engine = test_emission_lines.engine  # the fixture: a fresh calculation database


def scope3_item(code: str, category: int, method: str, unit: str, factor_code: str) -> dict:
    return {"item_code": code, "name_ja": code, "name_en": code, "unit": unit, "scope": 3,
            "scope3_category": category, "method": method, "factor_code": factor_code}


async def computed(engine, activity_id: str, category: int) -> Decimal:
    """The line's t-CO2e, after checking it was calculated and filed under Scope 3 ``category``."""
    result = await line(engine, activity_id)
    assert result["status"] == "calculated", result["message"]
    assert (result["scope"], result["scope3_category"]) == (3, category)
    return result["co2e_t"]


async def category_total(engine, category: int) -> Decimal:
    async with engine.connect() as conn:
        values = (await conn.execute(select(tables.lines.c.co2e_t).where(
            tables.lines.c.scope3_category == category, tables.lines.c.status == "calculated"))).scalars().all()
    return sum(values, Decimal(0))


async def test_category_10_processing_of_sold_intermediate_products_by_use(engine):
    """カテゴリ10の排出量 = 製品の販売数量 × 排出原単位 (per use, per processing process).

    Steel sheet sold as an intermediate product, split by use (用途別の販売量, by weight); each use
    has the processor's own factor for its processing (tenant-private, kg-CO2e per t processed):

    - automotive parts (press forming + heat treatment): 150,000 kg sold
      = 150,000 kg × 0.001 (kg→t) × 120 kg-CO2e/t × 0.001 (kg→t) = 18 t-CO2e
    - appliance housings (forming + painting): 100 t × 80.5 kg-CO2e/t × 0.001 = 8.05 t-CO2e

    Category 10 total: 18 + 8.05 = 26.05 t-CO2e.
    """
    await publish(engine, factor("tenant.processing.automotive", "120", "kg-CO2e/t", tenant_private=True),
                  factor("tenant.processing.appliance", "80.5", "kg-CO2e/t", tenant_private=True))
    await set_item(engine, **scope3_item("sold_steel_auto", 10, "quantity_x_factor", "t",
                                         "tenant.processing.automotive"))
    await set_item(engine, **scope3_item("sold_steel_appliance", 10, "quantity_x_factor", "t",
                                         "tenant.processing.appliance"))
    auto = await record(engine, "sold_steel_auto", "150000", "kg")
    appliance = await record(engine, "sold_steel_appliance", "100", "t")

    assert await computed(engine, auto, 10) == Decimal(18)
    assert await computed(engine, appliance, 10) == Decimal("8.05")
    assert await category_total(engine, 10) == Decimal("26.05")


async def test_category_12_end_of_life_of_sold_products_and_packaging_by_treatment(engine):
    """カテゴリ12の排出量 = 販売した製品の物量 × 排出原単位 (by treatment, with the packaging).

    100 t of products sold in the year; the regional treatment split is 80 % incineration and
    20 % landfill (type unknown → MOE DB [8] averages); the transport stage applies to all 100 t;
    the packaging is 5 t of PET containers, incinerated:

    - incineration: 80 t × 0.533928 t-CO2/t = 42.71424 t
    - landfill:     20 t × 2.408 t-CO2/t    = 48.16 t
    - transport:   100 t × 0.047219 t-CO2/t =  4.7219 t
    - packaging:     5 t × 2.27 t-CO2/t     = 11.35 t

    Category 12 total: 42.71424 + 48.16 + 4.7219 + 11.35 = 106.94614 t-CO2e.
    """
    waste = "moe.idb.waste."
    await publish(engine, factor(waste + "incineration.average", "0.533928", "t-CO2/t"),
                  factor(waste + "landfill.average", "2.408", "t-CO2/t"),
                  factor(waste + "transport", "0.047219", "t-CO2/t"),
                  factor(waste + "incineration.pet_container", "2.27", "t-CO2/t"))
    cases = [("eol_incinerated", waste + "incineration.average", "80", "42.71424"),
             ("eol_landfilled", waste + "landfill.average", "20", "48.16"),
             ("eol_transport", waste + "transport", "100", "4.7219"),
             ("eol_packaging_pet", waste + "incineration.pet_container", "5", "11.35")]
    for code, factor_code, amount, expected in cases:
        await set_item(engine, **scope3_item(code, 12, "waste_treatment", "t", factor_code))
        activity_id = await record(engine, code, amount, "t")
        assert await computed(engine, activity_id, 12) == Decimal(expected), code
    assert await category_total(engine, 12) == Decimal("106.94614")


async def test_category_13_downstream_leased_assets_by_energy_or_floor_area(engine):
    """カテゴリ13の排出量 = リース資産使用エネルギー or 建物面積 × 排出原単位.

    Assets the company leases out (not in its own Scope 1/2):

    - a tenant building with metered electricity: 250,000 kWh × 0.000416 t-CO2/kWh = 104 t
    - lease vehicles, fuel reported by the lessee: 5,000 L diesel
      = 5,000 L × 0.001 (L→kL) × 2.62 t-CO2/kL = 13.1 t
    - a building with only its floor area known: 1,200 m²・年 × 0.12 t-CO2e/(m²・年) = 144 t
      (tenant factor: MOE DB [16] has no verified value)

    Category 13 total: 104 + 13.1 + 144 = 261.1 t-CO2e.
    """
    await publish(engine, factor("shk.electricity.substitute", "0.000416", "t-CO2/kWh"),
                  factor("shk.fuel.diesel", "2.62", "t-CO2/kL"),
                  factor("tenant.leased_building.per_m2", "0.12", "t-CO2e/m²・年", tenant_private=True))
    await set_item(engine, **scope3_item("leased_out_building_power", 13, "quantity_x_factor", "kWh",
                                         "shk.electricity.substitute"))
    await set_item(engine, **scope3_item("leased_out_vehicles_diesel", 13, "quantity_x_factor", "kL",
                                         "shk.fuel.diesel"))
    await set_item(engine, **scope3_item("leased_out_building_area", 13, "floor_area", "m²・年",
                                         "tenant.leased_building.per_m2"))
    power = await record(engine, "leased_out_building_power", "250000", "kWh")
    diesel = await record(engine, "leased_out_vehicles_diesel", "5000", "L")
    area = await record(engine, "leased_out_building_area", "1200", "m²・年")

    assert await computed(engine, power, 13) == Decimal(104)
    assert await computed(engine, diesel, 13) == Decimal("13.1")
    assert await computed(engine, area, 13) == Decimal(144)
    assert await category_total(engine, 13) == Decimal("261.1")


async def test_category_14_franchises_by_floor_area_or_the_franchisees_energy(engine):
    """カテゴリ14の排出量 = 建物面積 × 排出原単位, or the franchisees' own Scope 1/2 (primary data).

    - franchisees without energy data: 12 stores × 150 m² = 1,800 m²・年 × 0.085 t-CO2e/(m²・年)
      = 153 t (tenant factor: MOE DB [16] has no verified value)
    - franchisees reporting their energy (1次データ): 300,000 kWh × 0.000416 t-CO2/kWh = 124.8 t
      and 20 千m3 city gas × 2.05 t-CO2/千m3 = 41 t

    Category 14 total: 153 + 124.8 + 41 = 318.8 t-CO2e.
    """
    await publish(engine, factor("tenant.franchise_store.per_m2", "0.085", "t-CO2e/m²・年", tenant_private=True),
                  factor("shk.electricity.substitute", "0.000416", "t-CO2/kWh"),
                  factor("shk.fuel.city_gas", "2.05", "t-CO2/千m3"))
    await set_item(engine, **scope3_item("franchise_area", 14, "floor_area", "m²・年",
                                         "tenant.franchise_store.per_m2"))
    await set_item(engine, **scope3_item("franchise_power", 14, "quantity_x_factor", "kWh",
                                         "shk.electricity.substitute"))
    await set_item(engine, **scope3_item("franchise_gas", 14, "quantity_x_factor", "千m3", "shk.fuel.city_gas"))
    area = await record(engine, "franchise_area", "1800", "m²・年")
    power = await record(engine, "franchise_power", "300000", "kWh")
    gas = await record(engine, "franchise_gas", "20", "千m3")

    assert await computed(engine, area, 14) == Decimal(153)
    assert await computed(engine, power, 14) == Decimal("124.8")
    assert await computed(engine, gas, 14) == Decimal(41)
    assert await category_total(engine, 14) == Decimal("318.8")
