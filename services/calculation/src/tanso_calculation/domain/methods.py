"""Calculation methods of the handbook (Scope 1, 2 and the 15 Scope 3 categories).

Every method is ``emission = amount × Π(parameters) × unit conversion × factor``: what differs is
what the amount measures, which parameters multiply it, and which factor table applies. The
parameters are properties of the logic item (a product's lifetime, an investment's ownership
share), so an activity stays one amount in one unit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    code: str
    name_ja: str
    name_en: str
    formula: str
    #: Parameters the logic item must give (name → meaning).
    params: tuple[tuple[str, str], ...] = ()
    #: Unit of amount × parameters, when the parameters change it (e.g. units × kWh/unit → kWh).
    quantity_unit_param: str | None = None
    #: Methods whose factor is fixed at 1 t-CO2e per t-CO2e (the amount already is an emission).
    needs_factor: bool = True


METHODS: dict[str, Method] = {m.code: m for m in (
    Method("fuel_combustion", "燃料の使用", "Fuel combustion", "amount × factor"),
    Method("purchased_energy", "購入した電気・熱", "Purchased electricity and heat", "amount × factor"),
    Method("spend_x_factor", "金額ベース", "Spend-based", "spend × factor per money"),
    Method("quantity_x_factor", "物量ベース", "Quantity-based", "quantity × factor per unit"),
    Method("supplier_specific", "サプライヤー固有", "Supplier-specific",
           "quantity or spend × the supplier's own intensity"),
    Method("ton_km", "トンキロ法", "Ton-kilometre", "tonne-km × factor per tkm"),
    Method("waste_treatment", "廃棄物種類・処理方法別", "Waste by type and treatment",
           "tonnes × factor of the treatment"),
    Method("travel_spend", "交通費支給額ベース", "Business travel by spend", "spend × factor per yen"),
    Method("travel_nights", "宿泊数ベース", "Hotel nights", "nights × factor per night"),
    Method("employees", "従業員数ベース", "Employees × factor", "person-years × factor"),
    Method("commuting", "通勤（勤務日数ベース）", "Commuting by working days", "person-days × factor"),
    Method("floor_area", "床面積ベース", "Floor area × factor", "m²·year × factor"),
    Method("fuel_upstream", "燃料・エネルギーの上流", "Upstream of fuels and energy (category 3)",
           "energy amount of a Scope 1/2 item × upstream factor"),
    Method("use_phase_energy", "使用時のエネルギー消費", "Use phase: energy consumed",
           "units sold × lifetime (years) × energy per unit-year × factor",
           params=(("lifetime_years", "lifetime in years"),
                   ("energy_per_unit_year", "energy per unit per year, in quantity_unit")),
           quantity_unit_param="quantity_unit"),
    Method("use_phase_gas", "使用時の温室効果ガス排出", "Use phase: greenhouse gas released",
           "units sold × gas content per unit × emission rate × GWP",
           params=(("gas_content_per_unit", "gas content per unit, in quantity_unit"),
                   ("emission_rate", "share released over the lifetime, 0–1")),
           quantity_unit_param="quantity_unit"),
    Method("investment_share", "出資比率按分", "Investment: ownership share",
           "investee emissions × ownership share", params=(("ownership_share", "share owned, 0–1"),),
           needs_factor=False),
)}
