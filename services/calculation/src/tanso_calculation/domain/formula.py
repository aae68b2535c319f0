"""emission (t-CO2e) = amount × unit conversion × factor value × emission-unit → tonnes, in Decimal."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from tanso_events.store import canonical_json
from tanso_ghg.units import conversion_factor, emission_to_tonnes, parse_factor_unit

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Calculation:
    co2e_t: Decimal
    conversion: Decimal
    to_tonnes: Decimal
    factor_activity_unit: str
    formula: str


def fmt(value: Decimal) -> str:
    """Canonical decimal text: no exponent, no trailing zeros after the point."""
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def calculate(amount: Decimal, unit: str, factor_value: Decimal, factor_unit: str) -> Calculation:
    """Apply one factor to one amount. Raises ``UnitMismatchError`` when the units do not fit."""
    emission_unit, factor_activity_unit = parse_factor_unit(factor_unit)
    conversion = conversion_factor(unit, factor_activity_unit)
    to_tonnes = emission_to_tonnes(emission_unit)
    co2e_t = amount * conversion * factor_value * to_tonnes
    formula = (f"{fmt(amount)} {unit} × {fmt(conversion)} ({unit}→{factor_activity_unit}) × "
               f"{fmt(factor_value)} {factor_unit} × {fmt(to_tonnes)} ({emission_unit}→t) = {fmt(co2e_t)} t-CO2e")
    return Calculation(co2e_t, conversion, to_tonnes, factor_activity_unit, formula)


def chain_hash(prev_hash: str, record: dict) -> str:
    """Hash of an audit record chained to its predecessor in the tenant's trail."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()
