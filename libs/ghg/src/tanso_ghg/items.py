"""The built-in activity items: the first calculation logic every tenant starts from.

An item is what a site enters (electricity in kWh, city gas in 千m3 …); the calculation logic of a
fiscal year maps each item to a factor code. Tenants can point an item at another factor (e.g. their
utility's residual factor) without changing the item.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActivityItem:
    code: str
    name_ja: str
    name_en: str
    unit: str
    scope: int
    energy_type: str
    default_factor_code: str
    scope3_category: int | None = None


DEFAULT_ITEMS: tuple[ActivityItem, ...] = (
    ActivityItem(
        "electricity",
        "電力（購入）",
        "Purchased electricity",
        "kWh",
        2,
        "electricity",
        "shk.electricity.substitute",
    ),
    ActivityItem("city_gas", "都市ガス", "City gas", "千m3", 1, "city_gas", "shk.fuel.city_gas"),
    ActivityItem(
        "gasoline", "揮発油（ガソリン）", "Gasoline", "kL", 1, "fuel", "shk.fuel.gasoline"
    ),
    ActivityItem("kerosene", "灯油", "Kerosene", "kL", 1, "fuel", "shk.fuel.kerosene"),
    ActivityItem("diesel", "軽油", "Diesel oil", "kL", 1, "fuel", "shk.fuel.diesel"),
    ActivityItem(
        "a_heavy_oil", "A重油", "Heavy fuel oil A", "kL", 1, "fuel", "shk.fuel.a_heavy_oil"
    ),
    ActivityItem(
        "lpg",
        "液化石油ガス（LPG）",
        "Liquefied petroleum gas (LPG)",
        "t",
        1,
        "fuel",
        "shk.fuel.lpg",
    ),
    ActivityItem(
        "lng", "液化天然ガス（LNG）", "Liquefied natural gas (LNG)", "t", 1, "fuel", "shk.fuel.lng"
    ),
)

ITEMS_BY_CODE: dict[str, ActivityItem] = {item.code: item for item in DEFAULT_ITEMS}
