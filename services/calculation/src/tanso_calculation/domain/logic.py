"""Calculation logic (算定ロジック) of one tenant and fiscal year: activity items and how each is computed.

A tenant starts from the built-in items (``tanso_ghg.items``) or last year's logic and changes items;
every change is a new logic version, and the lines it affects are recomputed.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tanso_events.envelope import DecimalStr
from tanso_ghg.items import DEFAULT_ITEMS, ActivityItem

from .methods import METHODS


class LogicItem(BaseModel):
    """One activity item of the logic. Amounts are entered in ``unit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: str = Field(pattern=r"^[a-z0-9_.-]{1,100}$")
    name_ja: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    unit: str
    scope: int = Field(ge=1, le=3)
    scope3_category: int | None = Field(default=None, ge=1, le=15)
    energy_type: str | None = None
    method: str
    factor_code: str | None = None
    #: Scope 2 only: factor of the market-based line (e.g. the supplier's adjusted factor).
    market_factor_code: str | None = None
    #: Scope 1/2 energy only: upstream factor; adds a derived Scope 3 category 3 line.
    upstream_factor_code: str | None = None
    params: dict[str, DecimalStr] = Field(default_factory=dict)
    #: Unit of amount × parameters for methods whose parameters change the unit.
    quantity_unit: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LogicItem:
        method = METHODS.get(self.method)
        if method is None:
            raise ValueError(f"unknown method {self.method!r}; choose one of {sorted(METHODS)}")
        if (self.scope == 3) != (self.scope3_category is not None):
            raise ValueError("scope 3 items need scope3_category (1–15); other scopes must not have one")
        missing = [name for name, _ in method.params if name not in self.params]
        if missing:
            raise ValueError(f"method {self.method} needs the parameters {missing}")
        if method.needs_factor and not self.factor_code:
            raise ValueError(f"method {self.method} needs a factor_code")
        if method.quantity_unit_param and not self.quantity_unit:
            raise ValueError(f"method {self.method} needs quantity_unit (unit of amount × parameters)")
        if self.market_factor_code and self.scope != 2:
            raise ValueError("market_factor_code applies to Scope 2 items only")
        if self.upstream_factor_code and self.scope == 3:
            raise ValueError("upstream_factor_code applies to Scope 1 and 2 energy items only")
        return self

    def multiplier(self) -> Decimal:
        result = Decimal(1)
        for name, _ in METHODS[self.method].params:
            result *= self.params[name]
        return result


def default_item(item: ActivityItem) -> LogicItem:
    return LogicItem(item_code=item.code, name_ja=item.name_ja, name_en=item.name_en, unit=item.unit,
                     scope=item.scope, scope3_category=item.scope3_category, energy_type=item.energy_type,
                     method="purchased_energy" if item.scope == 2 else "fuel_combustion",
                     factor_code=item.default_factor_code)


DEFAULT_LOGIC: dict[str, LogicItem] = {i.code: default_item(i) for i in DEFAULT_ITEMS}
