"""emission (t-CO2e) = amount × unit conversion × factor value × emission-unit → tonnes, in Decimal."""

from __future__ import annotations

import functools
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


@dataclass(frozen=True)
class FactorTerms:
    """What a (quantity unit, factor unit) pair contributes to a calculation, whatever the amount."""

    emission_unit: str
    factor_activity_unit: str
    conversion: Decimal
    to_tonnes: Decimal


@functools.lru_cache(maxsize=4096)
def factor_terms(unit: str, factor_unit: str) -> FactorTerms:
    """Unit terms of applying a factor in ``factor_unit`` to an amount in ``unit``.

    Raises ``UnitMismatchError`` / ``UnknownUnitError`` when the units do not fit. Depends on the
    two unit strings only, so it is cached (pint's conversion cost ~60 µs a line in an import).
    """
    emission_unit, factor_activity_unit = parse_factor_unit(factor_unit)
    conversion = conversion_factor(unit, factor_activity_unit)
    to_tonnes = emission_to_tonnes(emission_unit)
    return FactorTerms(emission_unit, factor_activity_unit, conversion, to_tonnes)


def apply_factor(amount: Decimal, unit: str, factor_value: Decimal, factor_unit: str,
                 terms: FactorTerms) -> Calculation:
    """Apply one factor to one amount with the unit terms of :func:`factor_terms`."""
    conversion, to_tonnes = terms.conversion, terms.to_tonnes
    co2e_t = amount * conversion * factor_value * to_tonnes
    formula = (f"{fmt(amount)} {unit} × {fmt(conversion)} ({unit}→{terms.factor_activity_unit}) × "
               f"{fmt(factor_value)} {factor_unit} × {fmt(to_tonnes)} ({terms.emission_unit}→t) = "
               f"{fmt(co2e_t)} t-CO2e")
    return Calculation(co2e_t, conversion, to_tonnes, terms.factor_activity_unit, formula)


def calculate(amount: Decimal, unit: str, factor_value: Decimal, factor_unit: str) -> Calculation:
    """Apply one factor to one amount. Raises ``UnitMismatchError`` when the units do not fit."""
    return apply_factor(amount, unit, factor_value, factor_unit, factor_terms(unit, factor_unit))


def chain_hash(prev_hash: str, record: dict) -> str:
    """Hash of an audit record chained to its predecessor in the tenant's trail."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()
