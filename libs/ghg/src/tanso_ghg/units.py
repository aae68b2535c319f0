"""Units used in Japanese GHG accounting, backed by a pint registry with exact Decimal arithmetic.

Only the units listed in :func:`accepted_units` are accepted by the public functions; each has
one canonical spelling (``kL``, ``千m3``, ``t-CO2/kWh`` ...) that :func:`normalise_unit` returns.

Deliberate non-conversions:

* ``Nm3``/``千Nm3`` (gas volume at 0 °C, 1 atm) is its own dimension: converting it to ``m3``
  needs a temperature/pressure correction and is never done implicitly.
* ``人・年`` and ``人・日`` are separate dimensions (a person-year is not 365 person-days of
  work or travel in the MOE factor tables).
* ``t-CO2`` and ``t-CO2e`` share the CO2e dimension (1 t CO2 is 1 t CO2e by definition).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, localcontext
from functools import cache
from typing import TYPE_CHECKING

from tanso_ghg.amounts import format_decimal

if TYPE_CHECKING:
    import pint

__all__ = [
    "UnitError",
    "UnitMismatchError",
    "UnknownUnitError",
    "accepted_units",
    "conversion_factor",
    "emission_to_tonnes",
    "normalise_unit",
    "parse_factor_unit",
    "registry",
]


class UnitError(ValueError):
    """Base class of unit errors."""


class UnitMismatchError(UnitError):
    """Two units have different dimensions (e.g. kWh and kL), so no conversion exists."""


class UnknownUnitError(UnitError):
    """A unit string is not one of the accepted units."""


_DEFINITIONS = (
    "thousand_cubic_meter = 1000 * meter ** 3",
    "normal_cubic_meter = [normal_gas_volume]",
    "thousand_normal_cubic_meter = 1000 * normal_cubic_meter",
    "thousand_kilowatt_hour = 1000 * kilowatt_hour",
    "yen = [currency]",
    "thousand_yen = 1000 * yen",
    "million_yen = 1000000 * yen",
    "person_year = [person_year]",
    "person_day = [person_day]",
    "square_meter_year = meter ** 2 * year",
    "tonne_kilometer = tonne * kilometer",
    "hotel_night = [hotel_night]",
    "product_unit = [product_unit]",
    "tonne_co2e = [co2e]",
    "kilogram_co2e = 0.001 * tonne_co2e",
)

# canonical spelling -> (pint expression, human label of its dimension)
_UNITS: dict[str, tuple[str, str]] = {
    "L": ("liter", "volume"),
    "kL": ("kiloliter", "volume"),
    "m3": ("meter ** 3", "volume"),
    "千m3": ("thousand_cubic_meter", "volume"),
    "Nm3": ("normal_cubic_meter", "gas volume at normal conditions (0 °C, 1 atm)"),
    "千Nm3": ("thousand_normal_cubic_meter", "gas volume at normal conditions (0 °C, 1 atm)"),
    "kg": ("kilogram", "mass"),
    "t": ("tonne", "mass"),
    "MJ": ("megajoule", "energy"),
    "GJ": ("gigajoule", "energy"),
    "kWh": ("kilowatt_hour", "energy"),
    "MWh": ("megawatt_hour", "energy"),
    "千kWh": ("thousand_kilowatt_hour", "energy"),
    "円": ("yen", "money"),
    "千円": ("thousand_yen", "money"),
    "百万円": ("million_yen", "money"),
    "人・年": ("person_year", "person-years"),
    "人・日": ("person_day", "person-days"),
    "m²・年": ("square_meter_year", "floor area × time"),
    "km": ("kilometer", "distance"),
    "tkm": ("tonne_kilometer", "freight work (mass × distance)"),
    "泊": ("hotel_night", "hotel nights"),
    "台": ("product_unit", "units of a product sold or used"),
    "t-CO2": ("tonne_co2e", "CO2-equivalent mass"),
    "kg-CO2": ("kilogram_co2e", "CO2-equivalent mass"),
    "t-CO2e": ("tonne_co2e", "CO2-equivalent mass"),
    "kg-CO2e": ("kilogram_co2e", "CO2-equivalent mass"),
}

_ALIASES: dict[str, str] = {
    "ℓ": "L",
    "リットル": "L",
    "キロリットル": "kL",
    "立方メートル": "m3",
    "1000m3": "千m3",
    "m3n": "Nm3",
    "千m3n": "千Nm3",
    "1000nm3": "千Nm3",
    "tonne": "t",
    "トン": "t",
    "キログラム": "kg",
    "1000kwh": "千kWh",
    "yen": "円",
    "jpy": "円",
    "人年": "人・年",
    "人日": "人・日",
    "m2年": "m²・年",
    "t-km": "tkm",
    "t・km": "tkm",
    "トンキロ": "tkm",
    "個": "台",
    "units": "台",
    "pcs": "台",
    "tco2": "t-CO2",
    "kgco2": "kg-CO2",
    "tco2e": "t-CO2e",
    "kgco2e": "kg-CO2e",
    "t-co2eq": "t-CO2e",
    "tco2eq": "t-CO2e",
    "kg-co2eq": "kg-CO2e",
    "kgco2eq": "kg-CO2e",
}

_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_DOTS = re.compile(r"[\u00b7\u2022\u2219\u22c5]")
_EXPONENT = re.compile(r"(\^|\*\*)(?=\d)")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _DOTS.sub("・", _DASHES.sub("-", text))
    return _EXPONENT.sub("", re.sub(r"\s+", "", text)).casefold()


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for spelling, canonical in [(u, u) for u in _UNITS] + list(_ALIASES.items()):
        key = _clean(spelling)
        if table.setdefault(key, canonical) != canonical:  # pragma: no cover - table bug
            raise AssertionError(f"unit spelling {spelling!r} is ambiguous")
    return table


@cache
def registry() -> pint.UnitRegistry:
    """Return the shared pint registry (built on first use; magnitudes are ``Decimal``).

    It holds pint's default units plus the ASCII-named Japanese/GHG units behind
    :func:`accepted_units` (e.g. ``thousand_cubic_meter``, ``million_yen``, ``tonne_co2e``).
    """
    import pint

    reg = pint.UnitRegistry(non_int_type=Decimal)
    for definition in _DEFINITIONS:
        reg.define(definition)
    return reg


def accepted_units() -> tuple[str, ...]:
    """Canonical spellings of all accepted units."""
    return tuple(_UNITS)


def _canonical(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"unit must be a str, not {type(text).__name__}")
    canonical = _lookup().get(_clean(text))
    if canonical is None:
        raise UnknownUnitError(
            f"Unknown unit {text!r}. Accepted units: {', '.join(_UNITS)} "
            "(emission factors are written as '<emission unit>/<activity unit>', e.g. 't-CO2/kL')."
        )
    return canonical


def normalise_unit(text: str) -> str:
    """Return the canonical spelling of a unit or of an '<a>/<b>' factor unit.

    Accepts common variants: case ("kl" → "kL"), full-width and compatibility characters via
    NFKC ("ｋＷｈ" → "kWh", "千m³" → "千m3"), exponents ("m^3" → "m3"), spaces, dash and dot
    variants, and spellings such as "tCO2", "t-CO2eq", "t-km". Raises :class:`UnknownUnitError`.
    """
    parts = text.split("/") if isinstance(text, str) else [text]
    if len(parts) > 2:
        raise UnknownUnitError(
            f"Unit {text!r} has more than one '/'; write '<emission unit>/<activity unit>'."
        )
    return "/".join(_canonical(part) for part in parts)


def _describe(canonical: str) -> str:
    expr, label = _UNITS[canonical]
    return f"{canonical!r} ({label}, {registry().parse_units(expr).dimensionality})"


def conversion_factor(from_unit: str, to_unit: str) -> Decimal:
    """Exact multiplier turning an amount in ``from_unit`` into ``to_unit``.

    ``conversion_factor("L", "kL") == Decimal("0.001")``. Raises :class:`UnknownUnitError` for
    unknown units and :class:`UnitMismatchError` when the dimensions differ.
    """
    source, target = _canonical(from_unit), _canonical(to_unit)
    reg = registry()
    src_unit, dst_unit = reg.parse_units(_UNITS[source][0]), reg.parse_units(_UNITS[target][0])
    if src_unit.dimensionality != dst_unit.dimensionality:
        hint = ""
        if "[normal_gas_volume]" in (str(src_unit.dimensionality), str(dst_unit.dimensionality)):
            hint = (
                " Gas volumes at normal conditions (Nm3, 0 °C and 1 atm) are never converted to"
                " metered or 25 °C volumes (m3) implicitly; use a factor stated per the same basis"
                " or convert the amount with an explicit temperature/pressure correction."
            )
        raise UnitMismatchError(
            f"Cannot convert {_describe(source)} to {_describe(target)}: the dimensions differ. "
            "Use a factor whose activity unit matches the amount's unit, or record the amount in "
            f"a unit of the same dimension.{hint}"
        )
    with localcontext() as ctx:
        ctx.prec = 50
        magnitude = reg.Quantity(Decimal(1), src_unit).to(dst_unit).magnitude
        return Decimal(format_decimal(magnitude))


def parse_factor_unit(unit: str) -> tuple[str, str]:
    """Split a factor unit like "t-CO2/kL" into canonical (emission unit, activity unit).

    The emission unit must be a CO2/CO2e mass unit; raises :class:`UnknownUnitError` otherwise.
    """
    parts = normalise_unit(unit).split("/")
    if len(parts) != 2 or _UNITS[parts[0]][0] not in ("tonne_co2e", "kilogram_co2e"):
        raise UnknownUnitError(
            f"Factor unit {unit!r} must be '<emission unit>/<activity unit>' with an emission unit "
            "of t-CO2, kg-CO2, t-CO2e or kg-CO2e, e.g. 't-CO2/kL' or 'kg-CO2e/円'."
        )
    if _UNITS[parts[1]][0] in ("tonne_co2e", "kilogram_co2e"):
        raise UnknownUnitError(f"Factor unit {unit!r} has an emission unit as its activity unit.")
    return parts[0], parts[1]


def emission_to_tonnes(unit: str) -> Decimal:
    """Multiplier from an emission unit to tonnes CO2e (``kg-CO2`` → ``Decimal("0.001")``)."""
    return conversion_factor(unit, "t-CO2e")
